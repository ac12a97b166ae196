package handlers_test

import (
	"context"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store/storetest"
)

// TestWatcherPassAtScale measures one watcher pass over 1,000,000 open
// dossiers of which 1,000 just passed their deadline (the speed goal of
// docs/benchmarks.md: under 1 s). A measurement, not an assertion: it runs only with
// MOTCUA_BENCH=1 and TEST_DATABASE_URL, and logs the medians recorded in
// docs/benchmarks.md.
func TestWatcherPassAtScale(t *testing.T) {
	if os.Getenv("MOTCUA_BENCH") != "1" {
		t.Skip("a benchmark: set MOTCUA_BENCH=1 (and TEST_DATABASE_URL)")
	}
	st := storetest.Postgres(t)
	if st == nil {
		t.Fatal("TEST_DATABASE_URL is needed")
	}
	e := newEnv(t, st)
	e.catalogue()
	const due, filler = 1000, 1_000_000
	e.clock.Set(at(2026, 3, 16, 9, 0))
	for i := 0; i < due; i++ {
		e.intake(intakeBody("2.000635", "counter")) // 4 h: due 13:00+1h
	}
	// A million open dossiers whose next check is next year, copied from the first.
	start := time.Now()
	err := st.DB().Exec(`INSERT INTO dossiers (code, agency_code, lead_agency_code, procedure_code, procedure_version, supplement_clock,
		channel, delivery, status, applicant_name, applicant_id_number, documents, pin_hash, received_at, counting_from, budget_minutes,
		used_minutes, running_since, due_at, original_due_at, verdict, current_step, holder_code, next_deadline_at, version, created_at, updated_at)
		SELECT 'F-' || g, agency_code, lead_agency_code, procedure_code, procedure_version, supplement_clock, channel, delivery, status,
			applicant_name, applicant_id_number, documents, pin_hash, received_at, counting_from, budget_minutes, used_minutes,
			running_since, due_at + interval '1 year', original_due_at, verdict, current_step, holder_code,
			next_deadline_at + interval '1 year', version, created_at, updated_at
		FROM dossiers, generate_series(1, ?) AS g WHERE id = (SELECT min(id) FROM dossiers)`, filler).Error
	if err != nil {
		t.Fatal(err)
	}
	if err := st.DB().Exec("ANALYZE dossiers").Error; err != nil {
		t.Fatal(err)
	}
	t.Logf("loaded %d filler dossiers in %v", filler, time.Since(start))
	var runs []time.Duration
	for run := 0; run < 3; run++ {
		if run > 0 { // the same 1,000 deadlines pass again
			st.DB().Exec("DELETE FROM deadline_claims")
			st.DB().Exec("DELETE FROM outbox WHERE type IN ('due_soon', 'overdue')")
			st.DB().Exec("UPDATE dossiers SET next_deadline_at = due_at WHERE code NOT LIKE 'F-%'")
		}
		e.clock.Set(at(2026, 3, 17, 9, 0))
		start := time.Now()
		pass, err := e.svc.WatchDeadlines(context.Background())
		took := time.Since(start)
		if err != nil {
			t.Fatal(err)
		}
		if pass.Fired[domain.EventOverdue] != due {
			t.Fatalf("fired %v, want %d overdue", pass.Fired, due)
		}
		runs = append(runs, took)
		t.Logf("pass %d: %v, fired %v, looked at %d dossiers", run, took, pass.Fired, pass.Seen)
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i] < runs[j] })
	t.Logf("median pass over %d open dossiers with %d just overdue: %v", filler+due, due, runs[1])
}

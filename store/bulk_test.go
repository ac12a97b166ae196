package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// bulkDossiers simulates dossiers with the sequence numbers from..to,
// received at now at the unit of newDossier, every other one processed an
// hour later, into a batch and its tally (as package seed does a day).
func bulkDossiers(t *testing.T, p domain.Procedure, now time.Time, from, to int) (*store.BulkBatch, *store.BulkTally) {
	t.Helper()
	b, tally := store.NewBulkBatch(to-from+1), store.NewBulkTally()
	cal := domain.NewCalendar(domain.DefaultOfficeHours(), nil)
	admin := domain.Actor{Sub: "seed", Roles: []domain.Role{domain.RoleAdmin}}
	for seq := from; seq <= to; seq++ {
		in := domain.IntakeInput{Procedure: p, AgencyCode: unit, Channel: domain.ChannelCounter, Delivery: domain.DeliveryCounter,
			Applicant: domain.Applicant{Name: "A", IDNumber: "1"}, ReceivedAt: now}
		d, ch := domain.Receive(in, domain.DossierCode(unit, now, int64(seq)), "hash", cal, admin, now, domain.DefaultDueSoonLead)
		d.History = ch.History
		var spans store.OverdueTrack
		spans.Step(d, now)
		for i, a := range []domain.TransitionInput{{Action: domain.ActionTransfer}, {Action: domain.ActionCompleteStep, Result: domain.ResultApproved}} {
			if seq%2 == 0 {
				at := now.Add(time.Duration(i+1) * time.Hour)
				if _, err := d.Apply(a, admin, at, cal, domain.DefaultDueSoonLead); err != nil {
					t.Fatalf("%s: %v", a.Action, err)
				}
				spans.Step(d, at)
			}
		}
		tally.Add(b, d, 0, &spans)
	}
	return b, tally
}

func bulkCatalogue(now time.Time) ([]domain.Agency, []domain.Procedure) {
	p := domain.Procedure{Code: "1.001612", Version: 1, Name: "Thủ tục", AgencyCode: lead, Unit: domain.UnitWorkingDays, Amount: 1,
		Minutes: domain.MinutesPerWorkingDay, CreatedAt: now}
	p.Normalize()
	return []domain.Agency{{Code: lead, Name: "Sở"}, {Code: unit, Name: "Trung tâm"}}, []domain.Procedure{p}
}

// TestBulkLoad loads two batches whose tallies are merged with
// BulkTally.Merge: the roll-ups written equal a recount from the rows, the
// next intake's sequence counts on from the loaded codes, and a second
// bulk load into the same database is refused.
func TestBulkLoad(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 18, 9, 0, 0, 0, domain.Vietnam())
		agencies, procs := bulkCatalogue(now)
		l, err := st.NewBulkLoader(ctx, agencies, procs)
		if err != nil {
			t.Fatal(err)
		}
		b1, t1 := bulkDossiers(t, procs[0], now, 1, 5)
		b2, t2 := bulkDossiers(t, procs[0], now, 6, 9)
		t1.Merge(t2)
		for _, b := range []*store.BulkBatch{b1, b2} {
			if err := l.Write(ctx, b); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Finish(ctx, []*store.BulkTally{t1}, []store.BulkSequence{{AgencyCode: unit, Day: now.Format("060102"), Last: 9}}); err != nil {
			t.Fatal(err)
		}
		kept, err := st.Rollups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		recount, err := st.RecountRollups(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(kept.Daily) == 0 || len(kept.Monthly) == 0 || len(kept.Open) != 5 {
			t.Fatalf("thin roll-ups: %d daily, %d monthly, %d open", len(kept.Daily), len(kept.Monthly), len(kept.Open))
		}
		if diff := cmp.Diff(recount, kept, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Fatalf("loaded roll-ups differ from the recount (-recount +kept):\n%s", diff)
		}
		svc := service.New(st, fixed(now.Add(3*time.Hour)), nil, service.Options{Logger: storetest.Quiet()})
		res, err := svc.Intake(ctx, domain.Actor{Sub: "admin", Roles: []domain.Role{domain.RoleAdmin}}, service.IntakeCmd{
			ProcedureCode: procs[0].Code, Channel: "counter", AgencyCode: unit, Applicant: domain.Applicant{Name: "B", IDNumber: "2"}})
		if err != nil {
			t.Fatal(err)
		}
		if want := domain.DossierCode(unit, now, 10); res.Dossier.Code != want {
			t.Fatalf("the intake after the load gave %s, want %s", res.Dossier.Code, want)
		}
		// Refused before it writes anything, a new procedure included.
		other := procs[0]
		other.Code = "1.001613"
		if l, err := st.NewBulkLoader(ctx, agencies, []domain.Procedure{other}); err == nil {
			l.Abort()
			t.Fatal("a second bulk load was accepted")
		}
		for _, c := range []struct {
			q    string
			want int64
		}{{"SELECT COUNT(*) FROM dossiers", 10}, {"SELECT COUNT(*) FROM procedures", 1}, {"SELECT COUNT(*) FROM agencies", 2}} {
			var n int64
			if err := st.DB().Raw(c.q).Scan(&n).Error; err != nil || n != c.want {
				t.Fatalf("%s: %d (%v), want %d", c.q, n, err, c.want)
			}
		}
	})
}

// TestBulkLoadAbort: a load that fails is aborted; the indexes and
// constraints the load dropped (PostgreSQL) are back, so a dossier code
// written by it cannot be given again.
func TestBulkLoadAbort(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 11, 18, 9, 0, 0, 0, domain.Vietnam())
		before := indexesOf(t, st)
		agencies, procs := bulkCatalogue(now)
		l, err := st.NewBulkLoader(ctx, agencies, procs)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := bulkDossiers(t, procs[0], now, 1, 3)
		if err := l.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
		l.Abort()
		if diff := cmp.Diff(before, indexesOf(t, st)); diff != "" {
			t.Fatalf("the aborted load left the indexes or constraints changed (-before +after):\n%s", diff)
		}
		insert := func(seq int) error {
			in := domain.IntakeInput{Procedure: procs[0], AgencyCode: unit, Channel: domain.ChannelCounter, Delivery: domain.DeliveryCounter,
				Applicant: domain.Applicant{Name: "B", IDNumber: "2"}, ReceivedAt: now}
			d, ch := domain.Receive(in, domain.DossierCode(unit, now, int64(seq)), "hash", domain.NewCalendar(domain.DefaultOfficeHours(), nil),
				domain.Actor{Sub: "admin", Roles: []domain.Role{domain.RoleAdmin}}, now, domain.DefaultDueSoonLead)
			return st.InTx(ctx, func(tx service.Tx) error { return tx.InsertDossier(ctx, d, ch) })
		}
		if err := insert(2); domain.KindOf(err) != domain.Conflict {
			t.Fatalf("a second dossier with a loaded code: %v, want a conflict", err)
		}
		if err := insert(4); err != nil {
			t.Fatalf("a dossier with a new code: %v", err)
		}
	})
}

// indexesOf lists the indexes and constraints of a PostgreSQL database
// (SQLite keeps its own during a load).
func indexesOf(t *testing.T, st *store.Store) []string {
	t.Helper()
	var out []string
	if st.Dialect() != store.Postgres {
		return out
	}
	if err := st.DB().Raw(`SELECT tablename || ' ' || indexdef FROM pg_indexes WHERE schemaname = current_schema()
		UNION ALL SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
		WHERE connamespace = current_schema()::regnamespace ORDER BY 1`).Scan(&out).Error; err != nil {
		t.Fatal(err)
	}
	return out
}

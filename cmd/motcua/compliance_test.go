package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/events/eventstest"
	"github.com/motcua/motcua/store/storetest"
)

// TestComplianceCountsEqualTheDatabase runs the service with its deadline
// watcher and the reference compliance consumer side by side: the late
// events the consumer counts per agency, procedure and kind equal the ones
// the database recorded.
func TestComplianceCountsEqualTheDatabase(t *testing.T) {
	dsn := storetest.PostgresURL(t)
	if dsn == "" || os.Getenv("TEST_NATS_URL") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true needs TEST_DATABASE_URL and TEST_NATS_URL")
		}
		t.Skip("needs TEST_DATABASE_URL and TEST_NATS_URL: the consumer reads the service's stream from outside")
	}
	nopts := eventstest.Options(t)
	env := map[string]string{"DATA_DIR": t.TempDir(), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error", "DATABASE_URL": dsn,
		"NATS_URL": nopts.URL, "NATS_STREAM": nopts.Stream, "NATS_SUBJECT_PREFIX": nopts.SubjectPrefix, "WATCH_INTERVAL": "100ms"}
	base, stop := startServer(t, env)
	admin := tokenFor(t, env, "admin", "000.00.00.H29")
	api := base + "/api/v1"
	for _, s := range []struct {
		path string
		body any
	}{
		{"/agencies/000.00.00.H29", map[string]any{"name": "UBND"}},
		{"/agencies/000.00.10.H29", map[string]any{"name": "Trung tâm A", "parent_code": "000.00.00.H29"}},
		{"/agencies/000.00.11.H29", map[string]any{"name": "Trung tâm B", "parent_code": "000.00.00.H29"}},
		{"/procedures/2.000635", map[string]any{"name": "Trích lục", "agency_code": "000.00.00.H29",
			"duration": map[string]any{"working_hours": 4}, "supplement_clock": "pause", "online": "none"}},
		{"/procedures/1.001612", map[string]any{"name": "Hộ kinh doanh", "agency_code": "000.00.00.H29",
			"duration": map[string]any{"working_days": 3}, "supplement_clock": "restart", "online": "full"}},
	} {
		if status, body := call(t, "PUT", api+s.path, admin, s.body); status/100 != 2 {
			t.Fatalf("%s: %d %s", s.path, status, body)
		}
	}
	// Dossiers imported as received weeks ago: their deadlines passed, so the
	// watcher publishes overdue for each (never due_soon: too late for it);
	// some are then finished late (completed_late) by an administrator.
	var codes []string
	for i := 0; i < 24; i++ {
		agency := []string{"000.00.10.H29", "000.00.11.H29"}[i%2]
		proc := []string{"2.000635", "1.001612"}[i%3%2]
		status, body := call(t, "POST", api+"/dossiers", admin, map[string]any{"procedure_code": proc, "channel": "counter", "agency_code": agency,
			"received_at": time.Now().AddDate(0, 0, -20-i).Format(time.RFC3339), "applicant": map[string]any{"name": "A", "id_number": fmt.Sprint(i)}})
		if status != 201 {
			t.Fatalf("intake: %d %s", status, body)
		}
		codes = append(codes, jsonField(t, body, "code"))
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Every dossier overdue before six are completed late: a dossier
	// completed before the watcher's pass reached it would have no overdue
	// event (on a loaded CI machine the pass can come after the commands).
	for wait := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		var dueNow int
		if err := db.QueryRow("SELECT count(*) FROM dossiers WHERE next_deadline_at <= now()").Scan(&dueNow); err == nil && dueNow == 0 {
			break
		}
		if time.Now().After(wait) {
			t.Fatalf("%d dossiers not yet passed by the watcher after 30s", dueNow)
		}
	}
	for _, code := range codes[:6] {
		for v, act := range []map[string]any{{"action": "transfer"}, {"action": "complete_step", "result": "approved"}} {
			act["version"] = v + 1
			if status, body := call(t, "POST", api+"/dossiers/"+code+"/transitions", admin, act); status != 200 {
				t.Fatalf("%s %v: %d %s", code, act, status, body)
			}
		}
	}
	late := "('due_soon', 'step_overdue', 'overdue', 'extension_overdue', 'completed_late')"
	want := map[events.ComplianceKey]int{}
	total := 0
	deadline := time.Now().Add(30 * time.Second)
	for { // wait for the watcher to finish and the relay to publish everything
		var pending int
		_ = db.QueryRow("SELECT count(*) FROM outbox WHERE parked_at IS NULL").Scan(&pending)
		var dueNow int
		_ = db.QueryRow("SELECT count(*) FROM dossiers WHERE next_deadline_at <= now()").Scan(&dueNow)
		if pending == 0 && dueNow == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d events unpublished, %d dossiers unwatched after 30s", pending, dueNow)
		}
		time.Sleep(100 * time.Millisecond)
	}
	rows, err := db.Query(`SELECT d.agency_code, d.procedure_code, o.type, count(*) FROM (SELECT type, dossier_code FROM outbox UNION ALL SELECT type, dossier_code FROM outbox_published) o JOIN dossiers d ON d.code = o.dossier_code
		WHERE o.type IN ` + late + ` GROUP BY 1, 2, 3`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var k events.ComplianceKey
		var kind string
		var n int
		if err := rows.Scan(&k.Agency, &k.Procedure, &kind, &n); err != nil {
			t.Fatal(err)
		}
		k.Kind = domain.EventType(kind)
		want[k] = n
		total += n
	}
	rows.Close()
	if total < 24+6 {
		t.Fatalf("the database has only %d late events: %v", total, want)
	}
	stop()

	conn := eventstest.Connect(t, nopts)
	c, err := events.NewCompliance(conn, events.ComplianceOptions{Durable: "compliance-test", StateDir: t.TempDir(), Logger: storetest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	for c.Stats().Counted < total && time.Now().Before(deadline.Add(30*time.Second)) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	<-done
	got := c.Counts()
	if len(got) != len(want) {
		t.Errorf("consumer has %d groups, database %d", len(got), len(want))
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%v: consumer counted %d, database has %d", k, got[k], n)
		}
	}
}

func jsonField(t *testing.T, body []byte, field string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatal(err)
	}
	s, _ := m[field].(string)
	return s
}

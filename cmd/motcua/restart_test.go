package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/store/storetest"
)

// TestDatabaseRestartUnderLoad restarts the local PostgreSQL while clerks
// keep taking dossiers in: the service recovers by itself, and every intake
// it acknowledged is stored once with its event in the stream. It restarts a
// shared server, so it runs only when MOTCUA_FAULT_RESTART_PG=1 (.ci/run runs
// it alone, after the suite).
func TestDatabaseRestartUnderLoad(t *testing.T) {
	if os.Getenv("MOTCUA_FAULT_RESTART_PG") != "1" {
		t.Skip("restarts the shared PostgreSQL: set MOTCUA_FAULT_RESTART_PG=1 (done by .ci/run in a step of its own)")
	}
	dsn := storetest.PostgresURL(t)
	if dsn == "" {
		t.Fatal("TEST_DATABASE_URL is needed")
	}
	dir := t.TempDir()
	env := map[string]string{"DATA_DIR": dir, "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error", "DATABASE_URL": dsn}
	base, stop := startServer(t, env)
	admin := tokenFor(t, env, "admin", "000.00.00.H29")
	clerk := tokenFor(t, env, "clerk", "000.00.10.H29")
	for _, s := range []struct {
		path string
		body any
	}{
		{"/agencies/000.00.00.H29", map[string]any{"name": "UBND"}},
		{"/agencies/000.00.10.H29", map[string]any{"name": "Trung tâm", "parent_code": "000.00.00.H29"}},
		{"/procedures/2.000635", map[string]any{"name": "Trích lục", "agency_code": "000.00.00.H29",
			"duration": map[string]any{"working_hours": 4}, "supplement_clock": "pause", "online": "none"}},
	} {
		if status, body := call(t, "PUT", base+"/api/v1"+s.path, admin, s.body); status/100 != 2 {
			t.Fatalf("%s: %d %s", s.path, status, body)
		}
	}
	acked := map[string]bool{}
	failures := 0
	intake := func() {
		status, body := call(t, "POST", base+"/api/v1/dossiers", clerk, map[string]any{"procedure_code": "2.000635", "channel": "counter",
			"applicant": map[string]any{"name": "A", "id_number": "1"}})
		if status != 201 {
			failures++
			return
		}
		var d struct {
			Code string `json:"code"`
		}
		_ = json.Unmarshal(body, &d)
		acked[d.Code] = true
	}
	for i := 0; i < 20; i++ {
		intake()
	}
	cluster := strings.TrimSpace(mustOutput(t, "ls", "/etc/postgresql"))
	restarted := make(chan error, 1)
	go func() {
		restarted <- exec.Command("pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart").Run()
	}()
	deadline := time.Now().Add(60 * time.Second)
	done := false
	for !done {
		if time.Now().After(deadline) {
			t.Fatal("the service did not recover within 60s of the restart")
		}
		intake()
		select {
		case err := <-restarted:
			if err != nil {
				t.Fatalf("restart: %v", err)
			}
			done = true
		default:
		}
	}
	// After the restart, intakes succeed again without any help.
	recovered := false
	for time.Now().Before(deadline) && !recovered {
		before := len(acked)
		intake()
		recovered = len(acked) > before
		if !recovered {
			time.Sleep(100 * time.Millisecond)
		}
	}
	if !recovered {
		t.Fatal("intakes still fail after the database came back")
	}
	for i := 0; i < 20; i++ {
		intake()
	}
	if status, body := call(t, "GET", base+"/readyz", "", nil); status != 200 {
		t.Fatalf("readyz after the restart: %d %s", status, body)
	}
	t.Logf("%d intakes acknowledged, %d refused during the restart", len(acked), failures)
	stop()

	conn, err := events.Connect(context.Background(), events.Options{DataDir: dir, Logger: storetest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cons, err := conn.JetStream().OrderedConsumer(ctx, "DOSSIERS", jetstream.OrderedConsumerConfig{FilterSubjects: []string{"dossiers.*.received"}})
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for len(seen) < len(acked) {
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			t.Fatalf("after %d events: %v", len(seen), err)
		}
		var data struct {
			DossierCode string `json:"dossier_code"`
		}
		ev, _ := events.Decode(msg.Data())
		_ = json.Unmarshal(ev.Data(), &data)
		seen[data.DossierCode]++
	}
	for code := range acked {
		if seen[code] != 1 {
			t.Errorf("%s: %d received events, want 1", code, seen[code])
		}
	}
}

func mustOutput(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return string(out)
}

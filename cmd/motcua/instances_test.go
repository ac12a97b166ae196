package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/events/eventstest"
	"github.com/motcua/motcua/store/storetest"
)

// TestTwoInstancesOnePostgres runs two whole services on one PostgreSQL
// database and one NATS stream, both relaying and watching deadlines at
// once: every fact reaches the stream exactly once.
func TestTwoInstancesOnePostgres(t *testing.T) {
	dsn := storetest.PostgresURL(t)
	if dsn == "" || os.Getenv("TEST_NATS_URL") == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true needs TEST_DATABASE_URL and TEST_NATS_URL")
		}
		t.Skip("needs TEST_DATABASE_URL and TEST_NATS_URL: two instances share an external database and NATS")
	}
	nopts := eventstest.Options(t)
	env := func() map[string]string {
		return map[string]string{"DATA_DIR": t.TempDir(), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error",
			"DATABASE_URL": dsn, "NATS_URL": nopts.URL, "NATS_STREAM": nopts.Stream, "NATS_SUBJECT_PREFIX": nopts.SubjectPrefix,
			"JWT_SECRET": "two-instances-two-instances-two-instances", "WATCH_INTERVAL": "100ms"}
	}
	envA, envB := env(), env()
	baseA, stopA := startServer(t, envA)
	baseB, stopB := startServer(t, envB)
	admin := tokenFor(t, envA, "admin", "000.00.00.H29")
	for _, s := range []struct {
		path string
		body any
	}{
		{"/agencies/000.00.00.H29", map[string]any{"name": "UBND"}},
		{"/agencies/000.00.10.H29", map[string]any{"name": "Trung tâm", "parent_code": "000.00.00.H29"}},
		{"/procedures/2.000635", map[string]any{"name": "Trích lục", "agency_code": "000.00.00.H29",
			"duration": map[string]any{"working_hours": 4}, "supplement_clock": "pause", "online": "none"}},
	} {
		if status, body := call(t, "PUT", baseA+"/api/v1"+s.path, admin, s.body); status/100 != 2 {
			t.Fatalf("%s: %d %s", s.path, status, body)
		}
	}
	// Dossiers imported as received a month ago: every deadline has passed,
	// so both watchers race to publish overdue for each (and never due_soon:
	// its deadline passed already).
	const n = 40
	received := time.Now().AddDate(0, -1, 0).Format(time.RFC3339)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			base := baseA
			if i%2 == 1 {
				base = baseB
			}
			status, body := call(t, "POST", base+"/api/v1/dossiers", admin, map[string]any{"procedure_code": "2.000635", "channel": "counter",
				"agency_code": "000.00.10.H29", "received_at": received, "applicant": map[string]any{"name": "A", "id_number": fmt.Sprint(i)}})
			if status != 201 {
				t.Errorf("intake: %d %s", status, body)
			}
		}(i)
	}
	wg.Wait()
	conn := eventstest.Connect(t, nopts)
	msgs := eventstest.Messages(t, conn, 2*n, 60*time.Second)
	seen := map[string]bool{}
	kinds := map[string]int{}
	for _, m := range msgs {
		ev, err := events.Decode(m.Data())
		if err != nil {
			t.Fatal(err)
		}
		var data struct {
			DossierCode string `json:"dossier_code"`
		}
		_ = json.Unmarshal(ev.Data(), &data)
		key := data.DossierCode + " " + ev.Type()
		if seen[key] {
			t.Fatalf("%s published twice", key)
		}
		seen[key] = true
		kinds[ev.Type()[len(events.TypePrefix):]]++
	}
	if kinds["received"] != n || kinds["overdue"] != n || len(kinds) != 2 {
		t.Fatalf("stream holds %v, want %d received and overdue", kinds, n)
	}
	// Nothing more arrives: stop both and count the stream.
	stopA()
	stopB()
	if got := eventstest.StreamMsgs(t, conn); got != 2*n {
		t.Fatalf("stream holds %d messages, want %d", got, 2*n)
	}
}

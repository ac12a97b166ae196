package main

import (
	"context"
	"encoding/json"
	"os"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/events/eventstest"
	"github.com/motcua/motcua/store/storetest"
)

// TestCommitToStreamLatency measures, at a steady 500 intakes per second
// for 10 s, the time from each dossier's commit (its event's occurred_at,
// taken just before the commit) to the event's arrival from the stream
// (the goal in docs/benchmarks.md: p99 under 250 ms). A measurement: it runs only with
// MOTCUA_BENCH=1, TEST_DATABASE_URL and TEST_NATS_URL.
func TestCommitToStreamLatency(t *testing.T) {
	if os.Getenv("MOTCUA_BENCH") != "1" {
		t.Skip("a benchmark: set MOTCUA_BENCH=1 (and TEST_DATABASE_URL, TEST_NATS_URL)")
	}
	dsn := storetest.PostgresURL(t)
	nopts := eventstest.Options(t)
	env := map[string]string{"DATA_DIR": t.TempDir(), "HTTP_ADDR": "127.0.0.1:0", "LOG_LEVEL": "error", "DATABASE_URL": dsn,
		"NATS_URL": nopts.URL, "NATS_STREAM": nopts.Stream, "NATS_SUBJECT_PREFIX": nopts.SubjectPrefix, "PUBLIC_RATE_LIMIT": "0"}
	base, _ := startServer(t, env)
	admin := tokenFor(t, env, "admin", "000.00.00.H29")
	clerk := tokenFor(t, env, "clerk", "000.00.10.H29")
	for _, s := range []struct {
		path string
		body any
	}{
		{"/agencies/000.00.00.H29", map[string]any{"name": "UBND"}},
		{"/agencies/000.00.10.H29", map[string]any{"name": "Trung tâm", "parent_code": "000.00.00.H29"}},
		{"/procedures/2.000635", map[string]any{"name": "Trích lục", "agency_code": "000.00.00.H29",
			"duration": map[string]any{"working_days": 10}, "supplement_clock": "pause", "online": "none"}},
	} {
		if status, body := call(t, "PUT", base+"/api/v1"+s.path, admin, s.body); status/100 != 2 {
			t.Fatalf("%s: %d %s", s.path, status, body)
		}
	}
	conn := eventstest.Connect(t, nopts)
	var (
		mu        sync.Mutex
		latencies []time.Duration
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cons, err := conn.JetStream().OrderedConsumer(ctx, nopts.Stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{nopts.SubjectPrefix + "dossiers.*.received"}, DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		t.Fatal(err)
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		arrived := time.Now()
		ev, err := events.Decode(m.Data())
		if err != nil {
			return
		}
		var data struct {
			OccurredAt time.Time `json:"occurred_at"`
		}
		_ = json.Unmarshal(ev.Data(), &data)
		mu.Lock()
		latencies = append(latencies, arrived.Sub(data.OccurredAt))
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer cc.Stop()

	const rate, seconds = 500, 10
	jobs := make(chan struct{}, rate)
	var wg sync.WaitGroup
	errs := 0
	var errMu sync.Mutex
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				status, _ := call(t, "POST", base+"/api/v1/dossiers", clerk, map[string]any{"procedure_code": "2.000635", "channel": "counter",
					"applicant": map[string]any{"name": "A", "id_number": "1"}})
				if status != 201 {
					errMu.Lock()
					errs++
					errMu.Unlock()
				}
			}
		}()
	}
	tick := time.NewTicker(time.Second / rate)
	start := time.Now()
	for i := 0; i < rate*seconds; i++ {
		<-tick.C
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	tick.Stop()
	sent := time.Since(start)
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(latencies)
		mu.Unlock()
		if n >= rate*seconds-errs || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	q := func(p float64) time.Duration { return latencies[int(p*float64(len(latencies)-1))] }
	t.Logf("%d intakes in %v (%.0f/s), %d errors, %d events: commit to stream p50 %v, p90 %v, p99 %v, max %v",
		rate*seconds, sent.Round(time.Millisecond), float64(rate*seconds)/sent.Seconds(), errs, len(latencies),
		q(0.5), q(0.9), q(0.99), latencies[len(latencies)-1])
	if len(latencies) != rate*seconds-errs {
		t.Errorf("%d events for %d intakes", len(latencies), rate*seconds-errs)
	}
}

package events_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/events/eventstest"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// countingOutbox counts the relay's outbox statements on a real store.
type countingOutbox struct {
	*store.Store
	reads, rows, marks, marked atomic.Int64
}

func (c *countingOutbox) PendingEvents(ctx context.Context, limit int) ([]service.OutboxRecord, error) {
	return c.PendingEventsAfter(ctx, 0, nil, limit)
}

func (c *countingOutbox) PendingEventsAfter(ctx context.Context, after int64, also []int64, limit int) ([]service.OutboxRecord, error) {
	recs, err := c.Store.PendingEventsAfter(ctx, after, also, limit)
	c.reads.Add(1)
	c.rows.Add(int64(len(recs)))
	return recs, err
}

func (c *countingOutbox) MarkPublished(ctx context.Context, seqs []int64, at time.Time) error {
	c.marks.Add(1)
	c.marked.Add(int64(len(seqs)))
	return c.Store.MarkPublished(ctx, seqs, at)
}

// TestRelayStatementsAtAModerateRate commits events one a transaction at a
// steady rate (RELAY_RATE a second, default 500; RELAY_RATE_N events,
// default 2,000; 4 writers) to a real PostgreSQL outbox while the relay runs
// as in serve: woken in process after each commit and by the outbox's
// NOTIFY (RELAY_RATE_WAKE=both, the default; inproc or notify for one of
// them). It prints the relay's outbox statements per event (counted here and
// by pg_stat_statements) and the time from each commit to the event's
// receipt by a subscriber of the stream. Runs only with RELAY_RATE=1
// (docs/benchmarks.md, "The relay's statements per event").
func TestRelayStatementsAtAModerateRate(t *testing.T) {
	if os.Getenv("RELAY_RATE") == "" {
		t.Skip("RELAY_RATE is not set")
	}
	n := envInt(t, "RELAY_RATE_N", 2000)
	rate := envInt(t, "RELAY_RATE_PER_S", 500)
	wake := os.Getenv("RELAY_RATE_WAKE")
	if wake == "" {
		wake = "both"
	}
	var st *store.Store
	if os.Getenv("RELAY_RATE_DB") == "sqlite" {
		st, wake = storetest.SQLite(t), "inproc" // no NOTIFY: the service wakes the relay
	} else if st = storetest.Postgres(t); st == nil {
		t.Skip("TEST_DATABASE_URL is not set")
	}
	pg := st.Dialect() == store.Postgres
	conn := eventstest.Conn(t)

	// Receipt on the stream, by dossier code.
	var mu sync.Mutex
	committed := make([]time.Time, n)
	received := make([]time.Time, n)
	got := 0
	sub, err := conn.NATS().Subscribe(conn.SubjectPrefix()+">", func(m *nats.Msg) {
		at := time.Now()
		ev, err := events.Decode(m.Data)
		if err != nil {
			return
		}
		var i int
		if _, err := fmt.Sscanf(ev.Subject()[strings.LastIndexByte(ev.Subject(), '-')+1:], "%d", &i); err != nil || i >= n {
			return
		}
		mu.Lock()
		if received[i].IsZero() {
			received[i] = at
			got++
		}
		mu.Unlock()
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()

	co := &countingOutbox{Store: st}
	relay := events.NewRelay(conn, co, events.RelayOptions{Logger: eventstest.Logger()})
	ctx, cancel := context.WithCancel(context.Background())
	var bg sync.WaitGroup
	defer func() { cancel(); bg.Wait() }()
	bg.Add(1)
	go func() { defer bg.Done(); _ = relay.Run(ctx) }()
	if wake != "inproc" {
		bg.Add(1)
		go func() { defer bg.Done(); _ = st.ListenOutbox(ctx, relay.Wake) }()
	}
	time.Sleep(500 * time.Millisecond) // LISTEN in place, the first pump done

	var admin *sql.DB
	var dbid int64
	if pg {
		var err error
		if admin, err = sql.Open("pgx", os.Getenv("TEST_DATABASE_URL")); err != nil {
			t.Fatal(err)
		}
		defer admin.Close()
		var dbName string
		if err := st.DB().Raw("SELECT current_database()").Scan(&dbName).Error; err != nil {
			t.Fatal(err)
		}
		if err := admin.QueryRow("SELECT oid FROM pg_database WHERE datname = $1", dbName).Scan(&dbid); err != nil {
			t.Fatal(err)
		}
		// Only this test's database: the statistics of others are left alone.
		if _, err := admin.Exec("SELECT pg_stat_statements_reset(0, $1::oid, 0)", dbid); err != nil {
			t.Fatal(err)
		}
	}
	co.reads.Store(0)
	co.rows.Store(0)
	co.marks.Store(0)
	co.marked.Store(0)

	start := time.Now()
	every := time.Second / time.Duration(rate)
	var next atomic.Int64
	var writers sync.WaitGroup
	for range 4 {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
				agency := fmt.Sprintf("000.00.%02d.H29", i%4)
				ev := domain.Event{Type: domain.EventReceived, DossierCode: fmt.Sprintf("%s-260302-%06d", agency, i),
					ProcedureCode: "1.001234", AgencyCode: agency, Status: domain.StatusProcessing, OccurredAt: time.Now()}
				if err := st.InTx(ctx, func(tx service.Tx) error { return tx.WriteEvents(ctx, []domain.Event{ev}) }); err != nil {
					t.Error(err)
					return
				}
				at := time.Now()
				if wake != "notify" {
					relay.Wake() // as the service does after a commit
				}
				mu.Lock()
				committed[i] = at
				mu.Unlock()
			}
		}()
	}
	writers.Wait()
	wrote := time.Since(start)
	waitFor(t, 30*time.Second, "every event received", func() bool { mu.Lock(); defer mu.Unlock(); return got == n })
	waitFor(t, 30*time.Second, "every event marked", func() bool { return co.marked.Load() >= int64(n) })
	time.Sleep(200 * time.Millisecond)

	if pg {
		pgStatements(t, admin, dbid, n)
	}

	var lat []float64
	var slow []string // the events over 10 ms: when they were committed, and how long they took
	mu.Lock()
	for i := range n {
		ms := received[i].Sub(committed[i]).Seconds() * 1000
		lat = append(lat, ms)
		if ms > 10 && len(slow) < 40 {
			slow = append(slow, fmt.Sprintf("%d@%.0f:%.0f", i, committed[i].Sub(start).Seconds()*1000, ms))
		}
	}
	mu.Unlock()
	if len(slow) > 0 {
		t.Logf("over 10 ms (event@ms after the start:ms): %s", strings.Join(slow, " "))
	}
	slices.Sort(lat)
	q := func(p float64) float64 { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	t.Logf("%s, wake %s: %d events in %s (%.0f/s); relay reads %d (%.2f an event, %d rows), marks %d (%.2f an event)",
		st.Dialect(), wake, n, wrote.Round(time.Millisecond), float64(n)/wrote.Seconds(), co.reads.Load(), float64(co.reads.Load())/float64(n),
		co.rows.Load(), co.marks.Load(), float64(co.marks.Load())/float64(n))
	t.Logf("commit to receipt: p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms", q(0.5), q(0.9), q(0.99), lat[len(lat)-1])
}

// pgStatements prints the outbox statements pg_stat_statements counted in
// the database dbid, per event of n.
func pgStatements(t *testing.T, admin *sql.DB, dbid int64, n int) {
	rows, err := admin.Query(`SELECT calls, rows, total_exec_time, regexp_replace(left(query, 150), '\s+', ' ', 'g')
		FROM pg_stat_statements WHERE dbid = $1 AND query ILIKE '%outbox%' ORDER BY calls DESC`, dbid)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var calls, nrows int64
		var ms float64
		var q string
		if err := rows.Scan(&calls, &nrows, &ms, &q); err != nil {
			t.Fatal(err)
		}
		t.Logf("pg_stat_statements: %6d calls (%.2f an event) %6d rows %8.1f ms (%.1f µs a call): %s",
			calls, float64(calls)/float64(n), nrows, ms, 1000*ms/float64(max(calls, 1)), q)
	}
}

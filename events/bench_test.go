package events_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/events/eventstest"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// Relay throughput against raw JetStream asynchronous publishing of the same
// payloads, on the same stream of a local nats-server reached over TCP
// (TEST_NATS_URL, or else a server this process starts listening on
// 127.0.0.1). The relay reads an in-memory outbox (its own overhead:
// encoding, per-dossier order, acknowledgement bookkeeping, marking) and the
// real ones, SQLite and PostgreSQL (TEST_DATABASE_URL), where reading and
// moving each row is added.
//
//	go test ./events -run '^$' -bench RelayThroughput -benchtime 20000x -count 5
//	RELAY_BENCH=1 go test ./events -run TestRelayThroughputRatio -v   # alternating rounds, medians, ratios
//
// BENCH_DOSSIERS (default 1000) spreads the events over that many dossiers;
// RELAY_BENCH_N (default 20000) and RELAY_BENCH_ROUNDS (default 7) size the
// ratio test.

func envInt(tb testing.TB, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		tb.Fatalf("%s=%q", name, v)
	}
	return n
}

// rawPublish publishes recs' CloudEvents with PublishMsgAsync and waits for
// every acknowledgement; it returns the time taken.
func rawPublish(tb testing.TB, conn *events.Conn, recs []service.OutboxRecord) time.Duration {
	msgs := make([]*nats.Msg, len(recs))
	for i, rec := range recs {
		data, err := events.Encode(rec)
		if err != nil {
			tb.Fatal(err)
		}
		msgs[i] = &nats.Msg{Subject: conn.SubjectPrefix() + rec.Subject, Data: data, Header: nats.Header{}}
		msgs[i].Header.Set("Nats-Msg-Id", rec.ID)
		msgs[i].Header.Set("Content-Type", events.ContentType)
	}
	js, err := jetstream.New(conn.NATS())
	if err != nil {
		tb.Fatal(err)
	}
	futures := make([]jetstream.PubAckFuture, len(msgs))
	start := time.Now()
	for i, m := range msgs {
		// A full pending window stalls the publisher (up to 200 ms, then
		// an error): go on once acknowledgements made room.
		for futures[i], err = js.PublishMsgAsync(m); errors.Is(err, jetstream.ErrTooManyStalledMsgs); futures[i], err = js.PublishMsgAsync(m) {
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		tb.Fatal("acknowledgements did not come within a minute")
	}
	elapsed := time.Since(start)
	for _, f := range futures {
		select {
		case pa := <-f.Ok():
			if pa.Duplicate {
				tb.Fatal("a benchmark message was a duplicate")
			}
		case err := <-f.Err():
			tb.Fatal(err)
		}
	}
	return elapsed
}

// relayPublish publishes recs through a relay from an in-memory outbox.
func relayPublish(tb testing.TB, conn *events.Conn, recs []service.OutboxRecord) time.Duration {
	ob := newFakeOutbox(recs...)
	relay := events.NewRelay(conn, ob, events.RelayOptions{Logger: eventstest.Logger(),
		BatchSize: envInt(tb, "RELAY_BATCH", events.DefaultBatchSize), MaxInFlight: envInt(tb, "RELAY_WINDOW", 0)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	if err := relay.Flush(ctx); err != nil {
		tb.Fatal(err)
	}
	elapsed := time.Since(start)
	if p, _, _ := ob.counts(); p != len(recs) {
		tb.Fatalf("%d published, want %d", p, len(recs))
	}
	return elapsed
}

// purge empties the stream between runs, so each starts alike.
func purge(tb testing.TB, conn *events.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := conn.JetStream().Stream(ctx, conn.StreamName())
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Purge(ctx); err != nil {
		tb.Fatal(err)
	}
}

// storeEvents writes n events over the given number of dossiers to a real
// outbox (transactions of 1,000), for the relay to read.
func storeEvents(tb testing.TB, st *store.Store, n, dossiers int) {
	ctx := context.Background()
	for i := 0; i < n; i += 1000 {
		var evs []domain.Event
		for j := i; j < min(i+1000, n); j++ {
			agency := fmt.Sprintf("000.00.%02d.H29", j%dossiers%4)
			evs = append(evs, domain.Event{Type: kinds[j%len(kinds)], DossierCode: fmt.Sprintf("%s-260302-%04d", agency, j%dossiers),
				ProcedureCode: "1.001234", AgencyCode: agency, Status: domain.StatusProcessing, OccurredAt: baseTime})
		}
		if err := st.InTx(ctx, func(tx service.Tx) error { return tx.WriteEvents(ctx, evs) }); err != nil {
			tb.Fatal(err)
		}
	}
}

// storeRelayPublish publishes n events written to st's outbox through a
// relay reading it; it returns the time taken.
func storeRelayPublish(tb testing.TB, conn *events.Conn, st service.OutboxReader, n int) time.Duration {
	relay := events.NewRelay(conn, st, events.RelayOptions{Logger: eventstest.Logger(),
		BatchSize: envInt(tb, "RELAY_BATCH", events.DefaultBatchSize), MaxInFlight: envInt(tb, "RELAY_WINDOW", 0)})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	if err := relay.Flush(ctx); err != nil {
		tb.Fatal(err)
	}
	elapsed := time.Since(start)
	if left, _, err := st.OutboxBacklog(ctx); err != nil || left != 0 {
		tb.Fatalf("%d left in the outbox (%v)", left, err)
	}
	return elapsed
}

func BenchmarkRelayThroughput(b *testing.B) {
	conn := eventstest.Connect(b, eventstest.ListeningOptions(b))
	dossiers := envInt(b, "BENCH_DOSSIERS", 1000)
	for _, c := range []struct {
		name string
		run  func(testing.TB, *events.Conn, []service.OutboxRecord) time.Duration
	}{{"raw", rawPublish}, {"relay", relayPublish}} {
		b.Run(c.name, func(b *testing.B) {
			recs := records(b, 1, b.N, dossiers)
			data, _ := events.Encode(recs[0])
			purge(b, conn)
			b.SetBytes(int64(len(data)))
			b.ResetTimer()
			elapsed := c.run(b, conn, recs)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
		})
	}
	// The same through a real outbox: what the database adds.
	for _, v := range []string{"sqlite", "postgres"} {
		b.Run("relay-"+v, func(b *testing.B) {
			st := storetest.SQLite(b)
			if strings.HasPrefix(v, "postgres") {
				if st = storetest.Postgres(b); st == nil {
					b.Skip("TEST_DATABASE_URL is not set")
				}
			}
			storeEvents(b, st, b.N, dossiers)
			purge(b, conn)
			b.ResetTimer()
			elapsed := storeRelayPublish(b, conn, st, b.N)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
		})
	}
}

// TestRelayThroughputRatio alternates raw publishing and the relay reading
// each outbox (in memory; SQLite; PostgreSQL when TEST_DATABASE_URL is set)
// in rounds, so all see the same machine load, prints the medians and fails
// for each outbox whose median ratio to raw is under one half. Runs only
// with RELAY_BENCH=1.
func TestRelayThroughputRatio(t *testing.T) {
	if os.Getenv("RELAY_BENCH") == "" {
		t.Skip("RELAY_BENCH is not set")
	}
	conn := eventstest.Connect(t, eventstest.ListeningOptions(t))
	n := envInt(t, "RELAY_BENCH_N", 20000)
	rounds := envInt(t, "RELAY_BENCH_ROUNDS", 7)
	dossiers := envInt(t, "BENCH_DOSSIERS", 1000)
	type contender struct {
		name string
		run  func() time.Duration // publishes n new events, returns the time taken
	}
	contenders := []contender{
		{"raw", func() time.Duration { return rawPublish(t, conn, records(t, 1, n, dossiers)) }},
		{"relay, memory", func() time.Duration { return relayPublish(t, conn, records(t, 1, n, dossiers)) }},
	}
	for _, st := range []*store.Store{storetest.SQLite(t), storetest.Postgres(t)} {
		if st == nil {
			continue // no TEST_DATABASE_URL
		}
		contenders = append(contenders, contender{"relay, " + st.Dialect(), func() time.Duration {
			storeEvents(t, st, n, dossiers) // new ids: nothing is a duplicate
			return storeRelayPublish(t, conn, st, n)
		}})
	}
	rates := make([][]float64, len(contenders))  // events/s, per contender and round
	ratios := make([][]float64, len(contenders)) // to the same round's raw rate
	for r := range rounds {
		var line []string
		for i, c := range contenders {
			purge(t, conn)
			rate := float64(n) / c.run().Seconds()
			rates[i] = append(rates[i], rate)
			ratios[i] = append(ratios[i], rate/rates[0][r])
			line = append(line, fmt.Sprintf("%s %.0f/s (%.2f)", c.name, rate, rate/rates[0][r]))
		}
		t.Logf("round %d: %s", r+1, strings.Join(line, ", "))
	}
	med := func(v []float64) float64 { s := slices.Clone(v); slices.Sort(s); return s[len(s)/2] }
	server := "in-process, listening on 127.0.0.1"
	if u := os.Getenv("TEST_NATS_URL"); u != "" {
		server = u
	}
	data, _ := events.Encode(records(t, 1, 1, dossiers)[0])
	t.Logf("server %s (nats-server %s); %d events over %d dossiers, payload %d bytes, %d rounds",
		server, conn.NATS().ConnectedServerVersion(), n, dossiers, len(data), rounds)
	for i, c := range contenders {
		t.Logf("%-16s median %7.0f events/s, median ratio to raw %.2f", c.name, med(rates[i]), med(ratios[i]))
		if i > 0 && med(ratios[i]) < 0.5 {
			t.Errorf("%s: median ratio %.2f < 0.5 of raw async publishing", c.name, med(ratios[i]))
		}
	}
}

package events_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/events/eventstest"
)

// BenchmarkRelayThroughput compares, in the same run and against the same
// stream on a local nats-server over TCP (TEST_NATS_URL, or else one this
// process starts listening on 127.0.0.1), the relay publishing b.N outbox
// records (from an in-memory outbox, so the database's cost is left out)
// with raw JetStream asynchronous publishing of the same payloads. Both
// report events/s. b.N is the number of events: run with a fixed count,
//
//	go test ./events -run '^$' -bench RelayThroughput -benchtime 20000x -count 5
//
// BENCH_DOSSIERS sets how many dossiers the events are spread over (default
// 1000; the relay keeps each dossier's events in order, so few dossiers
// means less parallelism).
func BenchmarkRelayThroughput(b *testing.B) {
	conn := eventstest.Connect(b, eventstest.ListeningOptions(b))
	dossiers := 1000
	if v := os.Getenv("BENCH_DOSSIERS"); v != "" {
		if _, err := fmt.Sscan(v, &dossiers); err != nil || dossiers < 1 {
			b.Fatalf("BENCH_DOSSIERS=%q", v)
		}
	}

	b.Run("raw", func(b *testing.B) {
		recs := records(b, 1, b.N, dossiers)
		msgs := make([]*nats.Msg, len(recs))
		for i, rec := range recs {
			data, err := events.Encode(rec)
			if err != nil {
				b.Fatal(err)
			}
			msgs[i] = &nats.Msg{Subject: conn.SubjectPrefix() + rec.Subject, Data: data, Header: nats.Header{}}
			msgs[i].Header.Set("Nats-Msg-Id", rec.ID)
			msgs[i].Header.Set("Content-Type", events.ContentType)
		}
		js, err := jetstream.New(conn.NATS())
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(msgs[0].Data)))
		b.ResetTimer()
		start := time.Now()
		futures := make([]jetstream.PubAckFuture, len(msgs))
		for i, m := range msgs {
			if futures[i], err = js.PublishMsgAsync(m); err != nil {
				b.Fatal(err)
			}
		}
		select {
		case <-js.PublishAsyncComplete():
		case <-time.After(time.Minute):
			b.Fatal("acknowledgements did not come within a minute")
		}
		elapsed := time.Since(start)
		b.StopTimer()
		for _, f := range futures {
			select {
			case <-f.Ok():
			case err := <-f.Err():
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	})

	b.Run("relay", func(b *testing.B) {
		recs := records(b, 1, b.N, dossiers)
		ob := newFakeOutbox(recs...)
		relay := events.NewRelay(conn, ob, events.RelayOptions{Logger: eventstest.Logger()})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		data, _ := events.Encode(recs[0])
		b.SetBytes(int64(len(data)))
		b.ResetTimer()
		start := time.Now()
		if err := relay.Flush(ctx); err != nil {
			b.Fatal(err)
		}
		elapsed := time.Since(start)
		b.StopTimer()
		if p, _, _ := ob.counts(); p != b.N {
			b.Fatalf("%d published, want %d", p, b.N)
		}
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	})
}

package events_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/events/eventstest"
	"github.com/motcua/motcua/service"
)

var baseTime = time.Date(2026, 3, 2, 1, 30, 0, 0, time.UTC)

// record makes an outbox record as the store would write it.
func record(t testing.TB, seq int64, dossier string, typ domain.EventType, agency string, mutate func(*domain.Event)) service.OutboxRecord {
	t.Helper()
	e := domain.Event{
		Type: typ, DossierCode: dossier, ProcedureCode: "1.001234", AgencyCode: agency,
		Status: domain.StatusProcessing, OccurredAt: baseTime.Add(time.Duration(seq) * time.Second),
	}
	if mutate != nil {
		mutate(&e)
	}
	data, err := e.Data()
	if err != nil {
		t.Fatal(err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		t.Fatal(err)
	}
	return service.OutboxRecord{
		Seq: seq, ID: id.String(), Subject: e.Subject(), Type: typ, DossierCode: dossier,
		Data: data, OccurredAt: e.OccurredAt,
	}
}

var kinds = []domain.EventType{domain.EventReceived, domain.EventTransferred, domain.EventStepCompleted,
	domain.EventSupplementRequested, domain.EventSupplementReceived, domain.EventProcessed, domain.EventReturned}

// records makes n records over the given number of dossiers, interleaved.
func records(t testing.TB, firstSeq int64, n, dossiers int) []service.OutboxRecord {
	recs := make([]service.OutboxRecord, n)
	for i := range recs {
		seq := firstSeq + int64(i)
		d := int(seq) % dossiers
		agency := fmt.Sprintf("000.00.%02d.H29", d%4)
		recs[i] = record(t, seq, fmt.Sprintf("%s-260302-%04d", agency, d), kinds[int(seq)%len(kinds)], agency, nil)
	}
	return recs
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func runRelay(t testing.TB, r *events.Relay) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after its context ended")
		}
	})
}

func metricValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metrics:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue metrics
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			case m.Histogram != nil:
				sum += float64(m.GetHistogram().GetSampleCount())
			}
		}
	}
	return sum
}

// checkStream reads the stream and checks it holds exactly recs, once each,
// in seq order per dossier, with the CloudEvent id as Nats-Msg-Id.
func checkStream(t *testing.T, conn *events.Conn, recs []service.OutboxRecord) {
	t.Helper()
	byID := map[string]service.OutboxRecord{}
	for _, r := range recs {
		byID[r.ID] = r
	}
	msgs := eventstest.Messages(t, conn, len(recs), 20*time.Second)
	if n := eventstest.StreamMsgs(t, conn); n != uint64(len(recs)) {
		t.Fatalf("stream holds %d messages, want %d", n, len(recs))
	}
	seen := map[string]bool{}
	lastSeq := map[string]int64{}
	for _, m := range msgs {
		id := m.Headers().Get("Nats-Msg-Id")
		rec, ok := byID[id]
		if !ok {
			t.Fatalf("unexpected message id %q on %s", id, m.Subject())
		}
		if seen[id] {
			t.Fatalf("message %s stored twice", id)
		}
		seen[id] = true
		if want := conn.SubjectPrefix() + rec.Subject; m.Subject() != want {
			t.Errorf("subject %s, want %s", m.Subject(), want)
		}
		if ct := m.Headers().Get("Content-Type"); ct != "application/cloudevents+json" {
			t.Errorf("Content-Type %q", ct)
		}
		ev, err := events.Decode(m.Data())
		if err != nil {
			t.Fatalf("message %s: %v", id, err)
		}
		if ev.ID() != id || ev.Subject() != rec.DossierCode {
			t.Errorf("event id %s subject %s, want %s %s", ev.ID(), ev.Subject(), id, rec.DossierCode)
		}
		if prev, ok := lastSeq[rec.DossierCode]; ok && rec.Seq < prev {
			t.Errorf("dossier %s: seq %d stored after seq %d", rec.DossierCode, rec.Seq, prev)
		}
		lastSeq[rec.DossierCode] = rec.Seq
	}
}

func TestRelayPublishesAllOnceInOrder(t *testing.T) {
	conn := eventstest.Conn(t)
	recs := records(t, 1, 500, 20)
	ob := newFakeOutbox(recs...)
	reg := prometheus.NewRegistry()
	m := events.NewMetrics(reg)
	relay := events.NewRelay(conn, ob, events.RelayOptions{Logger: eventstest.Logger(), Metrics: m, BatchSize: 128})
	runRelay(t, relay)
	relay.Wake()

	waitFor(t, 20*time.Second, "500 events published", func() bool { p, _, _ := ob.counts(); return p == 500 })
	checkStream(t, conn, recs)
	if got := metricValue(t, reg, "motcua_events_published_total", nil); got != 500 {
		t.Errorf("published_total %v, want 500", got)
	}
	if got := metricValue(t, reg, "motcua_events_published_total", map[string]string{"type": "received"}); got == 0 {
		t.Error("no published_total for type received")
	}
	if got := metricValue(t, reg, "motcua_relay_publish_seconds", nil); got == 0 {
		t.Error("no publish latency observed")
	}
	// The backlog gauge goes back to 0 (refreshed at most once a second).
	relay.Wake()
	waitFor(t, 5*time.Second, "backlog gauge at 0", func() bool {
		relay.Wake()
		return metricValue(t, reg, "motcua_outbox_backlog", nil) == 0
	})

	// The relay died between publishing and marking: everything is published
	// again, and JetStream drops it all as duplicates.
	ob.forget()
	relay.Wake()
	waitFor(t, 20*time.Second, "500 events published again", func() bool { p, _, _ := ob.counts(); return p == 500 })
	checkStream(t, conn, recs)
	if got := metricValue(t, reg, "motcua_relay_duplicates_total", nil); got != 500 {
		t.Errorf("duplicates_total %v, want 500", got)
	}
	if got := metricValue(t, reg, "motcua_events_delay_seconds", map[string]string{"class": "lifecycle"}); got != 1000 {
		t.Errorf("delay observations %v, want 1000", got)
	}
	if got := metricValue(t, reg, "motcua_nats_connected", nil); got != 1 {
		t.Errorf("nats_connected %v, want 1", got)
	}
}

// Long runs of one dossier's events, more than the window holds: each
// dossier's events are stored in order while dossiers go in parallel; with
// an outbox that reads after a seq (CursorReader) and without.
func TestRelayKeepsLongDossierRunsInOrder(t *testing.T) {
	for _, cursor := range []bool{true, false} {
		t.Run(fmt.Sprintf("cursor=%v", cursor), func(t *testing.T) {
			conn := eventstest.Conn(t)
			var recs []service.OutboxRecord
			for seq := int64(1); seq <= 600; seq++ {
				d := 0 // half the events are one dossier's, the rest spread over four
				if seq%2 == 0 {
					d = 1 + int(seq/2)%4
				}
				recs = append(recs, record(t, seq, fmt.Sprintf("H29-260302-%04d", d), kinds[int(seq)%len(kinds)], "H29", nil))
			}
			ob := newFakeOutbox(recs...)
			var reader service.OutboxReader = ob
			if !cursor {
				reader = plainOutbox{ob}
			}
			relay := events.NewRelay(conn, reader, events.RelayOptions{Logger: eventstest.Logger(), BatchSize: 32, MaxInFlight: 64})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if err := relay.Flush(ctx); err != nil {
				t.Fatal(err)
			}
			if p, _, _ := ob.counts(); p != len(recs) {
				t.Fatalf("%d published, want %d", p, len(recs))
			}
			ob.mu.Lock()
			rows, after := ob.rowsRead, ob.afterReads
			ob.mu.Unlock()
			t.Logf("%d rows read for %d events, %d reads after a seq", rows, len(recs), after)
			if cursor && (after == 0 || rows > 2*len(recs)) {
				t.Errorf("with a cursor: %d rows read, %d reads after a seq", rows, after)
			}
			if !cursor && after != 0 {
				t.Errorf("%d reads after a seq from a plain reader", after)
			}
			checkStream(t, conn, recs)
		})
	}
}

// A message the stream refuses for good (larger than its maximum message
// size) is parked, and the dossier's later events still go.
func TestRelayParksWhatTheStreamRefuses(t *testing.T) {
	conn := eventstest.Conn(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	stream, err := conn.JetStream().Stream(ctx, conn.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.CachedInfo().Config
	cfg.MaxMsgSize = 2048
	if _, err := conn.JetStream().UpdateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	recs := records(t, 1, 30, 3)
	big := record(t, 31, recs[0].DossierCode, domain.EventStepCompleted, "000.00.00.H29", func(e *domain.Event) {
		e.Step = strings.Repeat("Thẩm định ", 300)
	})
	after := records(t, 32, 9, 3)
	ob := newFakeOutbox(recs...)
	ob.add(big)
	ob.add(after...)
	reg := prometheus.NewRegistry()
	relay := events.NewRelay(conn, ob, events.RelayOptions{Logger: eventstest.Logger(), Metrics: events.NewMetrics(reg)})
	if err := relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	published, parked, _ := ob.counts()
	if published != 39 || parked != 1 {
		t.Fatalf("published %d parked %d, want 39 and 1", published, parked)
	}
	if got := metricValue(t, reg, "motcua_events_parked_total", map[string]string{"reason": events.ParkTooLarge}); got != 1 {
		t.Errorf("parked_total{reason=too_large} %v, want 1", got)
	}
	checkStream(t, conn, append(recs, after...))
}

func TestRelayMarkFailureRepublishes(t *testing.T) {
	conn := eventstest.Conn(t)
	recs := records(t, 1, 60, 7)
	ob := newFakeOutbox(recs...)
	ob.failMarks = 2
	relay := events.NewRelay(conn, ob, events.RelayOptions{Logger: eventstest.Logger(), BatchSize: 16, MaxBackoff: 500 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := ob.counts(); p != 60 {
		t.Fatalf("%d marked published, want 60", p)
	}
	checkStream(t, conn, recs)
}

func TestRelayParksWhatCannotBePublished(t *testing.T) {
	conn := eventstest.Conn(t)
	recs := records(t, 1, 6, 2)
	badSubject := record(t, 7, "D-BAD", domain.EventReceived, "H29", nil)
	badSubject.Subject = "dossiers.bad subject.received"
	badData := record(t, 8, "D-BAD", domain.EventRefused, "H29", nil)
	badData.Data = []byte(`{"agency_code": "H29", oops}`)
	wildcard := record(t, 9, "D-BAD", domain.EventRefused, "H29", nil)
	wildcard.Subject = "dossiers.*.refused"
	outside := record(t, 10, "D-BAD", domain.EventRefused, "H29", nil)
	outside.Subject = "elsewhere.H29.refused"
	more := records(t, 11, 6, 2)

	ob := newFakeOutbox(recs...)
	ob.add(badSubject, badData, wildcard, outside)
	ob.add(more...)
	reg := prometheus.NewRegistry()
	relay := events.NewRelay(conn, ob, events.RelayOptions{Logger: eventstest.Logger(), Metrics: events.NewMetrics(reg)})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	published, parked, _ := ob.counts()
	if published != 12 || parked != 4 {
		t.Fatalf("published %d parked %d, want 12 and 4", published, parked)
	}
	ob.mu.Lock()
	for _, seq := range []int64{7, 8, 9, 10} {
		if ob.parked[seq] == "" {
			t.Errorf("seq %d parked without a reason", seq)
		}
	}
	t.Logf("reasons: %v", ob.parked)
	ob.mu.Unlock()
	if got := metricValue(t, reg, "motcua_events_parked_total", map[string]string{"reason": events.ParkSubject}); got != 3 {
		t.Errorf("parked_total{reason=subject} %v, want 3", got)
	}
	if got := metricValue(t, reg, "motcua_events_parked_total", map[string]string{"reason": events.ParkEncode}); got != 1 {
		t.Errorf("parked_total{reason=encode} %v, want 1", got)
	}
	checkStream(t, conn, append(recs, more...))
}

// With a poll interval of a minute, only Wake can make the relay go.
func TestRelayWake(t *testing.T) {
	conn := eventstest.Conn(t)
	ob := newFakeOutbox()
	relay := events.NewRelay(conn, ob, events.RelayOptions{Logger: eventstest.Logger(), PollInterval: time.Minute})
	runRelay(t, relay)
	// The first pass, at start, finds nothing.
	waitFor(t, 5*time.Second, "the first pass", func() bool { _, _, reads := ob.counts(); return reads >= 1 })

	for round := range 3 {
		recs := records(t, int64(1+round*10), 10, 3)
		ob.add(recs...)
		start := time.Now()
		relay.Wake()
		waitFor(t, 2*time.Second, "a woken relay to publish", func() bool { p, _, _ := ob.counts(); return p == 10*(round+1) })
		t.Logf("round %d published %s after Wake", round, time.Since(start))
	}
	if n := eventstest.StreamMsgs(t, conn); n != 30 {
		t.Errorf("stream holds %d, want 30", n)
	}
}

func TestFlushPublishesEverything(t *testing.T) {
	conn := eventstest.Conn(t)
	recs := records(t, 1, 1000, 50)
	ob := newFakeOutbox(recs...)
	relay := events.NewRelay(conn, ob, events.RelayOptions{Logger: eventstest.Logger(), BatchSize: 100})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := ob.counts(); p != 1000 {
		t.Fatalf("%d published, want 1000", p)
	}
	checkStream(t, conn, recs)
	// Nothing pending: Flush returns at once.
	if err := relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

// Without a stream to take them, events stay in the outbox and Flush keeps
// trying until its context ends; once the stream is back they all go.
func TestRelayKeepsEventsWhileStreamIsAway(t *testing.T) {
	conn := eventstest.Conn(t)
	recs := records(t, 1, 40, 4)
	ob := newFakeOutbox(recs...)
	reg := prometheus.NewRegistry()
	relay := events.NewRelay(conn, ob, events.RelayOptions{
		Logger: eventstest.Logger(), Metrics: events.NewMetrics(reg), AckTimeout: time.Second, MaxBackoff: 300 * time.Millisecond,
	})

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	stream, err := conn.JetStream().Stream(ctx, conn.StreamName())
	if err != nil {
		t.Fatal(err)
	}
	cfg := stream.CachedInfo().Config
	if err := conn.JetStream().DeleteStream(ctx, conn.StreamName()); err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(ctx, 2*time.Second)
	defer cancelShort()
	if err := relay.Flush(short); err == nil {
		t.Fatal("Flush succeeded without a stream")
	}
	if p, parked, _ := ob.counts(); p != 0 || parked != 0 {
		t.Fatalf("published %d parked %d without a stream, want 0 and 0", p, parked)
	}
	if metricValue(t, reg, "motcua_relay_publish_errors_total", nil) == 0 {
		t.Error("no publish errors counted")
	}

	if _, err := conn.JetStream().CreateStream(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := relay.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	checkStream(t, conn, recs)
}

// A command that took its outbox seq before another one but commits after
// it: the relay has read past it, and finds it through its gaps with the
// read its commit wakes, while the same pump is still busy (here: writing
// its marks), not when the next pump starts.
func TestRelayFindsALateCommitWhileThePumpRuns(t *testing.T) {
	conn := eventstest.Conn(t)
	recs := records(t, 1, 3, 3)
	ob := newFakeOutbox(recs...)
	ob.hide(2)
	release := make(chan struct{})
	var once sync.Once
	ob.onMark = func([]int64) error { <-release; return nil }
	defer once.Do(func() { close(release) })
	o := events.RelayOptions{Logger: eventstest.Logger(), PollInterval: time.Hour}
	events.SetPumpLifetime(&o, time.Minute)
	relay := events.NewRelay(conn, ob, o)
	runRelay(t, relay)
	waitFor(t, 5*time.Second, "seqs 1 and 3 on the stream", func() bool { return eventstest.StreamMsgs(t, conn) == 2 })

	ob.show(2) // its commit, and the wake-up it sends
	relay.Wake()
	waitFor(t, 3*time.Second, "seq 2 on the stream while the first marks are still being written", func() bool {
		return eventstest.StreamMsgs(t, conn) == 3
	})
	ob.mu.Lock()
	asked := slices.ContainsFunc(ob.also, func(gaps []int64) bool { return slices.Equal(gaps, []int64{2}) })
	ob.mu.Unlock()
	if !asked {
		t.Errorf("no read asked for the gap [2]: %v", ob.also)
	}
	once.Do(func() { close(release) })
	waitFor(t, 5*time.Second, "all three marked", func() bool { p, _, _ := ob.counts(); return p == 3 })
	checkStream(t, conn, recs)
}

package events_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/events/eventstest"
)

// Events committed one at a time a few milliseconds apart, each waking the
// relay: their marks linger and go together, in far fewer MarkPublished
// calls than events, and no pump ends with an event on the stream that is
// not marked (it would be published again).
func TestRelayMarksLingerWhileEventsTrickleIn(t *testing.T) {
	conn := eventstest.Conn(t)
	ob := newFakeOutbox()
	var marks atomic.Int64
	ob.onMark = func([]int64) error { marks.Add(1); return nil }
	o := events.RelayOptions{Logger: eventstest.Logger(), PollInterval: time.Hour}
	events.SetPumpLifetime(&o, time.Minute)
	relay := events.NewRelay(conn, ob, o)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	const n = 60
	recs := records(t, 1, n, 7)
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		for i := range recs {
			ob.add(recs[i])
			relay.Wake()
			time.Sleep(3 * time.Millisecond)
		}
	}()
	pumps := 0
	for {
		read, _, err := events.PumpOnce(ctx, relay)
		if err != nil {
			t.Fatal(err)
		}
		pumps++
		if stored, marked := eventstest.StreamMsgs(t, conn), ob.publishedCount(); stored != uint64(marked) {
			t.Fatalf("a pump ended with %d events on the stream and %d marked published", stored, marked)
		}
		select {
		case <-fed:
			if read == 0 && ob.publishedCount() == n {
				t.Logf("%d events marked in %d MarkPublished calls, %d pumps", n, marks.Load(), pumps)
				if marks.Load() > n/3 {
					t.Errorf("%d MarkPublished calls for %d events one every 3 ms, want at most %d", marks.Load(), n, n/3)
				}
				checkStream(t, conn, recs)
				return
			}
		default:
			if read == 0 {
				time.Sleep(time.Millisecond) // Run would wait for a wake-up
			}
		}
	}
}

// A pump that stops while acknowledged events linger marks them at once:
// when its context ends, when its lifetime passes, when a publish fails;
// and Flush never lingers.
func TestRelayMarksAtOnceWhenStoppedMidLinger(t *testing.T) {
	opts := func() events.RelayOptions {
		o := events.RelayOptions{Logger: eventstest.Logger(), PollInterval: time.Hour, AckTimeout: time.Second}
		events.SetMarkLinger(&o, time.Minute)
		events.SetPumpLifetime(&o, time.Minute)
		return o
	}
	lingering := func(t *testing.T, ob *fakeOutbox, conn *events.Conn, n int) {
		t.Helper()
		waitFor(t, 10*time.Second, "the events on the stream", func() bool { return eventstest.StreamMsgs(t, conn) == uint64(n) })
		time.Sleep(50 * time.Millisecond)
		if p := ob.publishedCount(); p != 0 {
			t.Fatalf("%d marked published before the linger ended", p)
		}
	}

	t.Run("context ends", func(t *testing.T) {
		conn := eventstest.Conn(t)
		recs := records(t, 1, 5, 2)
		ob := newFakeOutbox(recs...)
		relay := events.NewRelay(conn, ob, opts())
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- relay.Run(ctx) }()
		lingering(t, ob, conn, len(recs))
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return")
		}
		if p := ob.publishedCount(); p != len(recs) {
			t.Fatalf("%d marked published after the stop, want %d", p, len(recs))
		}
	})

	t.Run("lifetime passes", func(t *testing.T) {
		conn := eventstest.Conn(t)
		recs := records(t, 1, 5, 2)
		ob := newFakeOutbox(recs...)
		o := opts()
		events.SetPumpLifetime(&o, 300*time.Millisecond)
		relay := events.NewRelay(conn, ob, o)
		start := time.Now()
		_, again, err := events.PumpOnce(context.Background(), relay)
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); !again || took > 10*time.Second {
			t.Fatalf("the pump ended after %s, again %v: want at its lifetime", took, again)
		}
		if p := ob.publishedCount(); p != len(recs) {
			t.Fatalf("%d marked published, want %d", p, len(recs))
		}
	})

	t.Run("publish fails", func(t *testing.T) {
		conn := eventstest.Conn(t)
		recs := records(t, 1, 5, 2)
		ob := newFakeOutbox(recs...)
		relay := events.NewRelay(conn, ob, opts())
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		type result struct {
			again bool
			err   error
		}
		done := make(chan result, 1)
		go func() { _, again, err := events.PumpOnce(ctx, relay); done <- result{again, err} }()
		lingering(t, ob, conn, len(recs))
		if err := conn.JetStream().DeleteStream(ctx, conn.StreamName()); err != nil {
			t.Fatal(err)
		}
		ob.add(records(t, 6, 1, 2)...)
		relay.Wake()
		select {
		case res := <-done:
			if res.err == nil {
				t.Fatal("the pump ended without an error, though a publish failed")
			}
		case <-time.After(15 * time.Second):
			t.Fatal("the pump did not end after a failed publish")
		}
		if p := ob.publishedCount(); p != len(recs) {
			t.Fatalf("%d marked published after the failure, want the %d acknowledged", p, len(recs))
		}
	})

	t.Run("Flush", func(t *testing.T) {
		conn := eventstest.Conn(t)
		recs := records(t, 1, 50, 5)
		ob := newFakeOutbox(recs...)
		relay := events.NewRelay(conn, ob, opts())
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		start := time.Now()
		if err := relay.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("Flush took %s with marks lingering a minute", took)
		}
		if p := ob.publishedCount(); p != len(recs) {
			t.Fatalf("%d marked published, want %d", p, len(recs))
		}
		checkStream(t, conn, recs)
	})
}

// A pump's first read starts from the oldest pending row, so it cannot tell
// a seq missing below the first row it finds from one long published, and a
// pump whose marks linger lives on: a late commit just above what the relay
// had read before is still found by the read its commit wakes (the relay
// remembers the highest seq it read), not when the pump ends.
func TestRelayFindsALateCommitBelowAPumpsFirstRow(t *testing.T) {
	conn := eventstest.Conn(t)
	recs := records(t, 1, 5, 5)
	ob := newFakeOutbox(recs[:3]...)
	o := events.RelayOptions{Logger: eventstest.Logger(), PollInterval: time.Hour}
	events.SetMarkLinger(&o, time.Minute)
	events.SetPumpLifetime(&o, 1500*time.Millisecond)
	relay := events.NewRelay(conn, ob, o)
	runRelay(t, relay)
	// Seqs 1-3 go, and their pump ends at its lifetime (the next one reads
	// from the oldest row: it would find seq 4, so the wait below is shorter
	// than a lifetime).
	waitFor(t, 5*time.Second, "seqs 1-3 marked", func() bool { return ob.publishedCount() == 3 })
	ob.add(recs[3:]...)
	ob.hide(4) // not committed yet
	relay.Wake()
	waitFor(t, 5*time.Second, "seq 5 on the stream", func() bool { return eventstest.StreamMsgs(t, conn) == 4 })

	ob.show(4) // its commit, and the wake-up it sends
	relay.Wake()
	waitFor(t, 700*time.Millisecond, "seq 4 on the stream while the pump that read seq 5 lingers", func() bool {
		return eventstest.StreamMsgs(t, conn) == 5
	})
	checkStream(t, conn, recs)
}

// A seq missing when a pump ends (its transaction still open) is looked for
// by the next pump too, whose first read cannot see it is missing.
func TestRelayKeepsLookingForAGapInTheNextPump(t *testing.T) {
	conn := eventstest.Conn(t)
	recs := records(t, 1, 7, 7)
	ob := newFakeOutbox(recs[:6]...)
	ob.hide(4)
	o := events.RelayOptions{Logger: eventstest.Logger(), PollInterval: time.Hour}
	events.SetMarkLinger(&o, time.Minute)
	events.SetPumpLifetime(&o, time.Second)
	relay := events.NewRelay(conn, ob, o)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// The first pump reads 1-3, 5 and 6 (4 missing) and ends at its lifetime.
	if _, again, err := events.PumpOnce(ctx, relay); err != nil || !again {
		t.Fatalf("first pump: again %v, err %v", again, err)
	}
	ob.add(recs[6])
	done := make(chan error, 1)
	go func() { _, _, err := events.PumpOnce(ctx, relay); done <- err }()
	waitFor(t, 5*time.Second, "seq 7 on the stream", func() bool { return eventstest.StreamMsgs(t, conn) == 6 })
	ob.show(4)
	relay.Wake()
	waitFor(t, 3*time.Second, "seq 4 on the stream within the second pump", func() bool {
		return eventstest.StreamMsgs(t, conn) == 7
	})
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	checkStream(t, conn, recs)
}

package store_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// TestLeadIsExclusive: two instances on one PostgreSQL database never run
// the job at once, and the second takes over when the first stops.
func TestLeadIsExclusive(t *testing.T) {
	dsn := storetest.PostgresURL(t)
	if dsn == "" {
		t.Skip("TEST_DATABASE_URL is not set: leadership is a PostgreSQL feature")
	}
	open := func() *store.Store {
		st, err := store.Open(context.Background(), store.Options{DatabaseURL: dsn, Logger: storetest.Quiet()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := open(), open()
	var running, maxRunning, runs atomic.Int32
	job := func(ctx context.Context) error {
		n := running.Add(1)
		runs.Add(1)
		if n > maxRunning.Load() {
			maxRunning.Store(n)
		}
		<-ctx.Done()
		running.Add(-1)
		return nil
	}
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	defer stopB()
	doneA := make(chan struct{})
	go func() { _ = a.Lead(ctxA, store.LockRelay, 50*time.Millisecond, job); close(doneA) }()
	waitFor(t, func() bool { return runs.Load() == 1 })
	go func() { _ = b.Lead(ctxB, store.LockRelay, 50*time.Millisecond, job) }()
	time.Sleep(300 * time.Millisecond) // b retries several times meanwhile
	if runs.Load() != 1 {
		t.Fatalf("%d runs while the lock was held", runs.Load())
	}
	stopA()
	<-doneA
	waitFor(t, func() bool { return runs.Load() == 2 })
	if maxRunning.Load() != 1 {
		t.Fatalf("%d jobs ran at once", maxRunning.Load())
	}
}

// TestListenOutboxWakes: a commit that writes events wakes the listener of
// another connection; OutboxListening says so while it listens, and not
// once it stopped (the service's in-process wake-up is skipped only then,
// cmd/motcua/serve.go).
func TestListenOutboxWakes(t *testing.T) {
	st := storetest.Postgres(t)
	if st == nil {
		t.Skip("TEST_DATABASE_URL is not set: LISTEN/NOTIFY is a PostgreSQL feature")
	}
	if st.OutboxListening() {
		t.Fatal("listening before ListenOutbox")
	}
	var woken atomic.Int32
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopped := make(chan struct{})
	go func() { _ = st.ListenOutbox(ctx, func() { woken.Add(1) }); close(stopped) }()
	waitFor(t, st.OutboxListening)
	before := woken.Load()
	err := st.InTx(ctx, func(tx service.Tx) error {
		return tx.WriteEvents(ctx, []domain.Event{{Type: domain.EventReceived, DossierCode: "000.00.10.H29-260316-0001",
			AgencyCode: "000.00.10.H29", Status: domain.StatusReceived, OccurredAt: time.Now()}})
	})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return woken.Load() > before })
	cancel()
	<-stopped
	if st.OutboxListening() {
		t.Error("still listening after ListenOutbox returned")
	}
}

// TestPublishAndPrune follows events through the outbox: MarkPublished moves
// them to outbox_published (twice is harmless), PruneOutbox deletes the
// published ones past the retention and nothing else.
func TestPublishAndPrune(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		recs := queueEvents(t, st, "a", "b", "c", "d")
		if err := st.MarkFailed(ctx, recs[0].Seq, "nats away", false); err != nil {
			t.Fatal(err)
		}
		old := time.Now().Add(-10 * 24 * time.Hour).UTC().Truncate(time.Second)
		for range 2 { // a second relay marking the same events changes nothing
			if err := st.MarkPublished(ctx, []int64{recs[0].Seq, recs[1].Seq}, old); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.MarkPublished(ctx, []int64{recs[2].Seq}, time.Now()); err != nil {
			t.Fatal(err)
		}
		type published struct {
			Seq         int64
			ID          string
			Attempts    int
			PublishedAt time.Time
		}
		var got []published
		if err := st.DB().Raw("SELECT seq, id, attempts, published_at FROM outbox_published ORDER BY seq").Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Seq != recs[0].Seq || got[0].ID != recs[0].ID || got[0].Attempts != 1 ||
			!got[0].PublishedAt.Equal(old) || got[2].Seq != recs[2].Seq {
			t.Fatalf("outbox_published %+v", got)
		}
		if pending, err := st.PendingEvents(ctx, 10); err != nil || len(pending) != 1 || pending[0].Seq != recs[3].Seq {
			t.Fatalf("pending after publishing %+v, %v", pending, err)
		}
		n, err := st.PruneOutbox(ctx, time.Now().Add(-7*24*time.Hour))
		if err != nil || n != 2 {
			t.Fatalf("pruned %d, %v", n, err)
		}
		var left int64
		if err := st.DB().Table("outbox_published").Count(&left).Error; err != nil || left != 1 {
			t.Fatalf("%d published rows left (%v), want the recent one", left, err)
		}
		if backlog, _, _ := st.OutboxBacklog(ctx); backlog != 1 {
			t.Fatalf("backlog %d, the unpublished event must stay", backlog)
		}
	})
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Parked events are listed with their reason, and requeued one by one or
// all at once; requeuing what is not parked changes nothing.
func TestParkedEventsAndRequeue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		recs := queueEvents(t, st, "a", "b", "c")
		for _, r := range recs[:2] {
			if err := st.MarkFailed(ctx, r.Seq, "subject: invalid subject", true); err != nil {
				t.Fatal(err)
			}
		}
		pending := func() []int64 {
			t.Helper()
			recs, err := st.PendingEvents(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			var seqs []int64
			for _, r := range recs {
				seqs = append(seqs, r.Seq)
			}
			return seqs
		}
		if got := pending(); len(got) != 1 || got[0] != recs[2].Seq {
			t.Fatalf("pending %v, want only seq %d", got, recs[2].Seq)
		}
		parked, err := st.ParkedEvents(ctx, 10)
		if err != nil || len(parked) != 2 || parked[0].Seq != recs[0].Seq || parked[0].LastError != "subject: invalid subject" ||
			parked[0].Attempts != 1 || parked[0].ParkedAt.IsZero() || parked[0].DossierCode != "a" {
			t.Fatalf("parked %+v, %v", parked, err)
		}
		for _, step := range []struct {
			seqs []int64
			want int64
		}{{[]int64{recs[1].Seq, recs[2].Seq}, 1}, {nil, 1}, {nil, 0}} {
			if n, err := st.RequeueParked(ctx, step.seqs); err != nil || n != step.want {
				t.Fatalf("requeue %v: %d, %v; want %d", step.seqs, n, err, step.want)
			}
		}
		if got := pending(); len(got) != 3 {
			t.Fatalf("pending after requeuing all: %v", got)
		}
		if parked, _ := st.ParkedEvents(ctx, 10); len(parked) != 0 {
			t.Fatalf("still parked: %+v", parked)
		}
	})
}

// queueEvents writes one received event per dossier code in one transaction
// and returns the outbox's pending records (those first).
func queueEvents(t *testing.T, st *store.Store, codes ...string) []service.OutboxRecord {
	t.Helper()
	ctx := context.Background()
	var evs []domain.Event
	for _, code := range codes {
		evs = append(evs, domain.Event{Type: domain.EventReceived, DossierCode: code, AgencyCode: "000.00.10.H29", OccurredAt: time.Now()})
	}
	if err := st.InTx(ctx, func(tx service.Tx) error { return tx.WriteEvents(ctx, evs) }); err != nil {
		t.Fatal(err)
	}
	recs, err := st.PendingEvents(ctx, 100)
	if err != nil || len(recs) < len(codes) {
		t.Fatalf("%d pending after writing %d, %v", len(recs), len(codes), err)
	}
	return recs
}

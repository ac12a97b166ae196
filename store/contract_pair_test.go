package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// Two instances of the service on one database: whatever one of them may
// win (a claim, an attempt, a lease, a version, a number), the other never
// wins it too.

// race runs fn on a and on b, n times each, all at once, and waits.
func race(a, b *store.Store, n int, fn func(st *store.Store, i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 2 * n {
		st := a
		if i%2 == 1 {
			st = b
		}
		wg.Go(func() {
			<-start
			fn(st, i)
		})
	}
	close(start)
	wg.Wait()
}

// TestPairClaimChecksOneWinner: the watchers of two instances claiming the
// same checks at once: each check is fresh for exactly one of the callers.
func TestPairClaimChecksOneWinner(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		var claims []service.Claim
		for i := 1; i <= 3; i++ {
			d := newDossier(t, a, i, now)
			for _, k := range []domain.EventType{domain.EventOverdue, domain.EventDueSoon} {
				claims = append(claims, service.Claim{DossierID: d.ID, Kind: k, Deadline: now.Add(8 * time.Hour).UnixMicro()})
			}
			claims = append(claims, service.Claim{DossierID: d.ID, Kind: domain.EventStepOverdue, StepSeq: 1, Deadline: now.UnixMicro()})
		}
		var mu sync.Mutex
		wins := map[service.Claim]int{}
		race(a, b, 4, func(st *store.Store, _ int) {
			var fresh map[service.Claim]bool
			err := st.InTx(ctx, func(tx service.Tx) error {
				var err error
				fresh, err = tx.ClaimChecks(ctx, claims, now)
				return err
			})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for c, ok := range fresh {
				if ok {
					wins[c]++
				}
			}
		})
		for _, c := range claims {
			if wins[c] != 1 {
				t.Errorf("claim %+v won %d times, want once", c, wins[c])
			}
		}
	})
}

// TestPairVersionConflict: two instances write the same dossier over the
// version both read: one wins, the other gets version_conflict, whatever
// the interleaving (PostgreSQL makes the second wait on the row lock).
func TestPairVersionConflict(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		d := newDossier(t, a, 1, now)
		var mu sync.Mutex
		var won, conflicts int
		race(a, b, 3, func(st *store.Store, i int) {
			err := st.InTx(ctx, func(tx service.Tx) error {
				cur, err := tx.DossierForUpdate(ctx, d.Code)
				if err != nil {
					return err
				}
				cur.Version = 2
				cur.HolderCode = fmt.Sprintf("writer-%d", i)
				h := domain.HistoryEntry{At: now, Actor: "x", Action: "note", From: cur.Status, To: cur.Status}
				return tx.UpdateDossier(ctx, cur, 1, domain.Change{History: []domain.HistoryEntry{h}})
			})
			mu.Lock()
			defer mu.Unlock()
			var de *domain.Error
			switch {
			case err == nil:
				won++
			case errors.As(err, &de) && de.Code == domain.CodeVersionConflict:
				conflicts++
			default:
				t.Errorf("writer %d: %v", i, err)
			}
		})
		if won != 1 || conflicts != 5 {
			t.Fatalf("%d writers won and %d conflicted, want 1 and 5", won, conflicts)
		}
		got, err := b.Dossier(ctx, d.Code)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != 2 || len(got.History) != 2 {
			t.Fatalf("version %d with %d history lines: a losing writer's change was kept", got.Version, len(got.History))
		}
	})
}

// TestPairNotificationAttempts: the notifiers of two instances begin
// attempts at the same rows: each row is won by one caller only.
func TestPairNotificationAttempts(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
		var ns []domain.Notification
		for i := range 6 {
			ns = append(ns, domain.Notification{EventID: fmt.Sprintf("e%d", i), Channel: domain.NotifySMS, DossierCode: fmt.Sprintf("D%d", i),
				Event: domain.EventReceived, To: "091****678", OccurredAt: now})
		}
		if n, err := a.AddNotifications(ctx, ns, now); err != nil || n != len(ns) {
			t.Fatalf("add: %d, %v", n, err)
		}
		due, err := b.DueNotifications(ctx, now, 100)
		if err != nil || len(due) != len(ns) {
			t.Fatalf("due: %d, %v", len(due), err)
		}
		var ids []int64
		for _, d := range due {
			ids = append(ids, d.ID)
		}
		var mu sync.Mutex
		won := map[int64]int{}
		race(a, b, 4, func(st *store.Store, _ int) {
			got, err := st.BeginAttempts(ctx, ids, now, now.Add(time.Minute))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range got {
				won[id]++
			}
		})
		for _, id := range ids {
			if won[id] != 1 {
				t.Errorf("row %d won %d times", id, won[id])
			}
		}
		// The attempt moved next_at on: not due again until then.
		if due, _ := a.DueNotifications(ctx, now, 100); len(due) != 0 {
			t.Fatalf("%d rows due while their attempts are under way", len(due))
		}
		if due, _ := a.DueNotifications(ctx, now.Add(time.Minute), 100); len(due) != len(ns) {
			t.Fatalf("%d rows due when the attempts' time ran out, want %d", len(due), len(ns))
		}
	})
}

// TestPairPortalClaims: the sync workers of two instances claim due
// dossiers at once: no dossier goes to two workers, and all are taken.
func TestPairPortalClaims(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		var codes []string
		for i := range 20 {
			codes = append(codes, fmt.Sprintf("C%02d", i))
		}
		if err := a.PortalMark(ctx, codes, now); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		taken := map[string]int{}
		race(a, b, 3, func(st *store.Store, _ int) {
			for {
				got, err := st.PortalClaim(ctx, now, now.Add(time.Minute), 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, c := range got {
					taken[c.Code]++
				}
				mu.Unlock()
			}
		})
		for _, c := range codes {
			if taken[c] != 1 {
				t.Errorf("%s taken %d times", c, taken[c])
			}
		}
	})
}

// TestPairMarkPublished: two relays acknowledging overlapping batches at
// once: no error, and every event ends published exactly once.
func TestPairMarkPublished(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		ctx := context.Background()
		recs := queueEvents(t, a, "a", "b", "c", "d", "e", "f")
		var seqs []int64
		for _, r := range recs {
			seqs = append(seqs, r.Seq)
		}
		race(a, b, 3, func(st *store.Store, i int) {
			part := seqs[i%3 : i%3+4]
			if err := st.MarkPublished(ctx, part, time.Now()); err != nil {
				t.Error(err)
			}
		})
		if pending, err := b.PendingEvents(ctx, 10); err != nil || len(pending) != 0 {
			t.Fatalf("pending after publishing all: %+v, %v", pending, err)
		}
		var got []int64
		if err := a.DB().Raw("SELECT seq FROM outbox_published ORDER BY seq").Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, seqs) {
			t.Fatalf("published seqs %v, want %v", got, seqs)
		}
	})
}

// TestPairSequenceNoGaps: intakes of one unit and day on two instances get
// the numbers 1..n, each once; a rolled-back intake gives its number back.
func TestPairSequenceNoGaps(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		ctx := context.Background()
		var mu sync.Mutex
		var got []int64
		race(a, b, 5, func(st *store.Store, i int) {
			boom := errors.New("roll back")
			err := st.InTx(ctx, func(tx service.Tx) error {
				n, err := tx.NextSequence(ctx, unit, "260316")
				if err != nil {
					return err
				}
				if i == 3 {
					return boom
				}
				mu.Lock()
				got = append(got, n)
				mu.Unlock()
				return nil
			})
			if err != nil && !errors.Is(err, boom) {
				t.Error(err)
			}
		})
		slices.Sort(got)
		want := []int64{1, 2, 3, 4, 5, 6, 7, 8, 9}
		if !slices.Equal(got, want) {
			t.Fatalf("numbers %v, want %v", got, want)
		}
		for _, c := range []struct {
			agency, day string
			want        int64
		}{{unit, "260316", 10}, {unit, "260317", 1}, {lead, "260316", 1}} {
			var n int64
			if err := b.InTx(ctx, func(tx service.Tx) error {
				var err error
				n, err = tx.NextSequence(ctx, c.agency, c.day)
				return err
			}); err != nil || n != c.want {
				t.Errorf("next of %s on %s: %d, %v; want %d", c.agency, c.day, n, err, c.want)
			}
		}
	})
}

// TestPairIdempotencyKey: two instances storing the same key at once: one
// stores it, the other gets a duplicate conflict and reads the first's.
func TestPairIdempotencyKey(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		var mu sync.Mutex
		var saved []string
		dups := 0
		race(a, b, 2, func(st *store.Store, i int) {
			code := fmt.Sprintf("code-%d", i)
			err := st.InTx(ctx, func(tx service.Tx) error {
				return tx.SaveIdempotencyKey(ctx, "clerk", "k1", "h", code, "sealed", now)
			})
			mu.Lock()
			defer mu.Unlock()
			var de *domain.Error
			switch {
			case err == nil:
				saved = append(saved, code)
			case errors.As(err, &de) && de.Kind == domain.Conflict && de.Code == domain.CodeDuplicate:
				dups++
			default:
				t.Errorf("save %d: %v", i, err)
			}
		})
		if len(saved) != 1 || dups != 3 {
			t.Fatalf("saved %v with %d duplicates, want one and 3", saved, dups)
		}
		if err := b.InTx(ctx, func(tx service.Tx) error {
			hash, code, pin, found, err := tx.IdempotencyKey(ctx, "clerk", "k1")
			if err != nil || !found || hash != "h" || code != saved[0] || pin != "sealed" {
				t.Errorf("read back: %q %q %q %v %v, want the winner's %s", hash, code, pin, found, err, saved[0])
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestPairRecomputeLock: a runner that locks a job holds it until its
// transaction ends; the other instance's runner then reads the progress
// the first saved, never the job as it was before.
func TestPairRecomputeLock(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		job := service.Recompute{Date: domain.Date{Year: 2026, Month: 4, Day: 30}, Action: "holiday", Actor: "admin",
			CreatedAt: now, UpdatedAt: now}
		if err := a.InTx(ctx, func(tx service.Tx) error { return tx.CreateRecompute(ctx, &job) }); err != nil {
			t.Fatal(err)
		}
		locked := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- a.InTx(ctx, func(tx service.Tx) error {
				j, found, err := tx.LockRecompute(ctx, job.ID)
				if err != nil || !found {
					close(locked)
					return fmt.Errorf("lock: %v %v", found, err)
				}
				close(locked)
				time.Sleep(300 * time.Millisecond)
				j.AfterID, j.Seen, j.Batches = 50, 50, 1
				return tx.SaveRecompute(ctx, j)
			})
		}()
		<-locked
		var seen service.Recompute
		if err := b.InTx(ctx, func(tx service.Tx) error {
			j, found, err := tx.LockRecompute(ctx, 0)
			if err != nil || !found {
				return fmt.Errorf("second lock: %v %v", found, err)
			}
			seen = j
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if seen.ID != job.ID || seen.AfterID != 50 || seen.Batches != 1 {
			t.Fatalf("the second runner read %+v while the first held the job", seen)
		}
	})
}

// TestPairNextChecksSkipLocked: on PostgreSQL a second watcher skips the
// dossiers the first one holds and takes the others; SQLite has one writer
// at a time, so there is nothing to skip.
func TestPairNextChecksSkipLocked(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		if a.Dialect() != store.Postgres {
			t.Skip("SQLite serialises writers: no rows to skip")
		}
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		next := map[int64]*time.Time{}
		for i := 1; i <= 4; i++ {
			d := newDossier(t, a, i, now)
			at := now.Add(time.Duration(i) * time.Minute)
			next[d.ID] = &at
		}
		if err := a.InTx(ctx, func(tx service.Tx) error { return tx.SetNextCheckAt(ctx, next) }); err != nil {
			t.Fatal(err)
		}
		codes := func(ds []*domain.Dossier) []string {
			var out []string
			for _, d := range ds {
				out = append(out, d.Code)
			}
			return out
		}
		held := make(chan []string)
		release := make(chan struct{})
		done := make(chan error, 1)
		go func() {
			done <- a.InTx(ctx, func(tx service.Tx) error {
				ds, err := tx.NextChecksDue(ctx, now.Add(time.Hour), 2)
				held <- codes(ds)
				<-release
				return err
			})
		}()
		first := <-held
		var second []string
		err := b.InTx(ctx, func(tx service.Tx) error {
			ds, err := tx.NextChecksDue(ctx, now.Add(time.Hour), 10)
			second = codes(ds)
			return err
		})
		close(release)
		if err != nil || <-done != nil {
			t.Fatal(err)
		}
		if len(first) != 2 || len(second) != 2 || slices.ContainsFunc(second, func(c string) bool { return slices.Contains(first, c) }) {
			t.Fatalf("first watcher holds %v, second got %v: want two each, none shared", first, second)
		}
	})
}

package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// Sessions, PIN attempt counters and idempotency keys: the rows that guard
// the pages and the public look-up, with the windows that end them.

// TestSessions: a session is live from its creation until it ends or
// expires; ending is idempotent; a person's sessions end together; a new
// sign-in deletes the rows expired more than a day before it.
func TestSessions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
		create := func(id, sub string, created, expires time.Time) {
			t.Helper()
			if err := st.CreateSession(ctx, service.SessionRecord{IDHash: id, Sub: sub, Via: "password", CreatedAt: created, ExpiresAt: expires}); err != nil {
				t.Fatalf("create %s: %v", id, err)
			}
		}
		create("old", "u1", now.Add(-72*time.Hour), now.Add(-48*time.Hour))
		create("s1", "u1", now, now.Add(time.Hour))
		create("s2", "u1", now, now.Add(2*time.Hour))
		create("gone", "u1", now.Add(-2*time.Hour), now.Add(-time.Hour))
		create("s3", "u2", now, now.Add(time.Hour))
		for _, tc := range []struct {
			id   string
			at   time.Time
			live bool
		}{
			{"s1", now, true},
			{"s1", now.Add(time.Hour - time.Microsecond), true},
			{"s1", now.Add(time.Hour), false}, // expired at its expiry
			{"gone", now, false},
			{"unknown", now, false},
		} {
			if live, err := st.SessionLive(ctx, tc.id, tc.at); err != nil || live != tc.live {
				t.Errorf("%s live at %v: %v, %v; want %v", tc.id, tc.at, live, err, tc.live)
			}
		}
		// "old" expired more than a day before the later sign-ins: deleted;
		// "gone" expired an hour ago: kept for a day.
		var ids []string
		if err := st.DB().Raw("SELECT id FROM sessions ORDER BY id").Scan(&ids).Error; err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, []string{"gone", "s1", "s2", "s3"}) {
			t.Fatalf("session rows %v", ids)
		}
		for range 2 {
			if err := st.EndSession(ctx, "s1", now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		if err := st.EndSession(ctx, "unknown", now); err != nil {
			t.Fatalf("ending an unknown session: %v", err)
		}
		if live, _ := st.SessionLive(ctx, "s1", now.Add(2*time.Minute)); live {
			t.Fatal("an ended session is live")
		}
		// u1 has one live session left (s2): s1 is ended, gone expired.
		if n, err := st.EndSessionsOf(ctx, "u1", now.Add(3*time.Minute)); err != nil || n != 1 {
			t.Fatalf("ended %d of u1's sessions, %v; want 1", n, err)
		}
		if live, _ := st.SessionLive(ctx, "s2", now.Add(4*time.Minute)); live {
			t.Fatal("s2 outlived the end of its person's sessions")
		}
		if live, _ := st.SessionLive(ctx, "s3", now.Add(4*time.Minute)); !live {
			t.Fatal("another person's session ended")
		}
		create("s4", "u2", now.Add(48*time.Hour), now.Add(49*time.Hour))
		if err := st.DB().Raw("SELECT id FROM sessions ORDER BY id").Scan(&ids).Error; err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ids, []string{"s4"}) {
			t.Fatalf("rows two days later: %v, want only s4", ids)
		}
	})
}

// TestPINGuardCounters: each counter counts attempts within its window and
// starts again at 1 once the window has ended; a right PIN takes its
// attempt back; counters whose window ended are deleted; clearing a
// dossier's lock forgets its counters on every address and nobody else's.
func TestPINGuardCounters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
		g := func(scope, key string, window time.Duration, from time.Time) service.GuardCount {
			return service.GuardCount{Scope: scope, Key: key, WindowEnd: from.Add(window)}
		}
		count := func(at time.Time, cs ...service.GuardCount) []int {
			t.Helper()
			out, err := st.CountPINAttempt(ctx, at, cs)
			if err != nil {
				t.Fatal(err)
			}
			return out
		}
		const code = "X1"
		client := g(service.GuardClient, "10.0.0.1", time.Hour, now)
		pair := g(service.GuardPair, code+"|10.0.0.1", time.Hour, now)
		dossier := g(service.GuardDossier, code, 24*time.Hour, now)
		steps := []struct {
			at   time.Time
			cs   []service.GuardCount
			want []int
		}{
			{now, []service.GuardCount{client, pair, dossier}, []int{1, 1, 1}},
			{now.Add(time.Minute), []service.GuardCount{dossier, client}, []int{2, 2}}, // in the order asked
			{now.Add(2 * time.Minute), []service.GuardCount{client, pair}, []int{3, 2}},
			// The client's window ended at +1h: it starts again, with a new window.
			{now.Add(time.Hour), []service.GuardCount{g(service.GuardClient, "10.0.0.1", time.Hour, now.Add(time.Hour)), dossier}, []int{1, 3}},
			{now.Add(90 * time.Minute), []service.GuardCount{client}, []int{2}},
		}
		for i, s := range steps {
			if got := count(s.at, s.cs...); !slices.Equal(got, s.want) {
				t.Fatalf("step %d: counts %v, want %v", i, got, s.want)
			}
		}
		// A right PIN: the client's count goes down by one; the pair's and
		// the dossier's start from zero.
		at := now.Add(90 * time.Minute)
		if err := st.GiveBackPINAttempts(ctx, []service.PINGiveBack{{Client: g(service.GuardClient, "10.0.0.1", time.Hour, at),
			Pair: g(service.GuardPair, pair.Key, time.Hour, at), Dossier: g(service.GuardDossier, code, 24*time.Hour, at),
			PairCount: 2, DossierCount: 3}}); err != nil {
			t.Fatal(err)
		}
		later := now.Add(100 * time.Minute)
		if got := count(later, client, g(service.GuardPair, pair.Key, time.Hour, later), dossier); !slices.Equal(got, []int{2, 1, 1}) {
			t.Fatalf("counts after a right PIN: %v, want [2 1 1]", got)
		}
		// Another dossier whose code starts with this one's, on the same address.
		other := g(service.GuardPair, "X10|10.0.0.1", 24*time.Hour, later)
		count(later, other, g(service.GuardDossier, "X10", 24*time.Hour, later))
		if err := st.ClearPINLock(ctx, code); err != nil {
			t.Fatal(err)
		}
		if got := count(later, g(service.GuardPair, pair.Key, time.Hour, later), dossier, other); !slices.Equal(got, []int{1, 1, 2}) {
			t.Fatalf("after clearing %s's lock: %v, want its counters from 1 and X10's kept", code, got)
		}
		// At +3h the client's and the pair's windows (ending at +2h40 at the
		// latest) ended; the dossiers' (a day) did not.
		if n, err := st.DeletePINGuards(ctx, now.Add(3*time.Hour)); err != nil || n != 2 {
			t.Fatalf("deleted %d counters, %v; want the client's and %s's pair", n, err, code)
		}
	})
}

// TestPINGuardConcurrentCounts: concurrent attempts on one counter each
// see a different count: 1..n, none twice.
func TestPINGuardConcurrentCounts(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, a, b *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		c := service.GuardCount{Scope: service.GuardClient, Key: "10.0.0.9", WindowEnd: now.Add(time.Hour)}
		var mu sync.Mutex
		var got []int
		race(a, b, 6, func(st *store.Store, _ int) {
			n, err := st.CountPINAttempt(ctx, now, []service.GuardCount{c})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			got = append(got, n[0])
			mu.Unlock()
		})
		slices.Sort(got)
		if !slices.Equal(got, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}) {
			t.Fatalf("counts %v, want 1..12 once each", got)
		}
	})
}

// TestAttemptLookup: one look-up's attempt counts the client and the pair,
// the dossier only while those are within their maxima, and reads the head
// (Found false for an unknown code) and the catalogue's version, on both
// databases alike.
func TestAttemptLookup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		d := newDossier(t, st, 1, now)
		version, err := st.CatalogueVersion(ctx)
		if err != nil || version < 3 { // two agencies and a procedure saved
			t.Fatalf("catalogue version %d, %v", version, err)
		}
		attempt := func(code string) service.PINAttemptResult {
			t.Helper()
			a := service.PINAttempt{Now: now, MaxClient: 3, MaxPair: 2, Code: code,
				Client:  service.GuardCount{Scope: service.GuardClient, Key: "ip", WindowEnd: now.Add(time.Hour)},
				Pair:    service.GuardCount{Scope: service.GuardPair, Key: code + "|ip", WindowEnd: now.Add(time.Hour)},
				Dossier: service.GuardCount{Scope: service.GuardDossier, Key: code, WindowEnd: now.Add(24 * time.Hour)}}
			r, err := st.AttemptLookup(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		for i, tc := range []struct {
			code                  string
			client, pair, dossier int
			found                 bool
		}{
			{d.Code, 1, 1, 1, true},
			{d.Code, 2, 2, 2, true},
			{d.Code, 3, 3, 0, true}, // the pair is over its maximum: the dossier's counter is spared
			{"unknown", 4, 1, 0, false},
		} {
			r := attempt(tc.code)
			if r.Client != tc.client || r.Pair != tc.pair || r.Dossier != tc.dossier || r.Found != tc.found || r.Catalogue != version {
				t.Errorf("attempt %d on %s: %+v, want counts %d/%d/%d found %v catalogue %d", i, tc.code, r,
					tc.client, tc.pair, tc.dossier, tc.found, version)
			}
			if tc.found && (r.Head.ID != d.ID || r.Head.Version != 1 || r.Head.PINHash != "hash") {
				t.Errorf("attempt %d: head %+v", i, r.Head)
			}
		}
	})
}

// TestPINHashesAndIdempotencyKeys: legacy hashes are found and replaced
// only while still what they were read as; idempotency keys are kept per
// actor and deleted when older than the retention.
func TestPINHashesAndIdempotencyKeys(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		d1, d2 := newDossier(t, st, 1, now), newDossier(t, st, 2, now)
		replace := func(h map[int64][2]string) int {
			t.Helper()
			n, err := st.ReplacePINHashes(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		if n := replace(map[int64][2]string{d1.ID: {"hash", "s256$a"}, d2.ID: {"stale", "s256$b"}}); n != 1 {
			t.Fatalf("replaced %d, want only the hash still as read", n)
		}
		if legacy, err := st.LegacyPINHashes(ctx, 10); err != nil || len(legacy) != 1 || legacy[d1.ID] != "s256$a" {
			t.Fatalf("legacy hashes %v, %v", legacy, err)
		}
		if n := replace(map[int64][2]string{d1.ID: {"s256$a", "k1$new"}}); n != 1 {
			t.Fatalf("replaced %d, want 1", n)
		}
		if h, err := st.LookupHead(ctx, d1.Code); err != nil || h.PINHash != "k1$new" {
			t.Fatalf("head after the rewrite: %+v, %v", h, err)
		}

		for i, k := range []struct {
			actor, key string
			at         time.Time
		}{{"a", "k", now.Add(-48 * time.Hour)}, {"b", "k", now}, {"a", "k2", now.Add(-time.Hour)}} {
			if err := st.InTx(ctx, func(tx service.Tx) error {
				return tx.SaveIdempotencyKey(ctx, k.actor, k.key, fmt.Sprint("h", i), fmt.Sprint("c", i), "", k.at)
			}); err != nil {
				t.Fatalf("save %+v: %v", k, err)
			}
		}
		if deleted, err := st.DeleteIdempotencyKeys(ctx, now.Add(-24*time.Hour)); err != nil || deleted != 1 {
			t.Fatalf("deleted %d keys, %v; want 1", deleted, err)
		}
		for _, k := range []struct {
			actor, key, code string
			found            bool
		}{{"a", "k", "", false}, {"b", "k", "c1", true}, {"a", "k2", "c2", true}, {"b", "k2", "", false}} {
			if err := st.InTx(ctx, func(tx service.Tx) error {
				_, code, _, found, err := tx.IdempotencyKey(ctx, k.actor, k.key)
				if err != nil || found != k.found || code != k.code {
					t.Errorf("key %s/%s: %q found %v, %v; want %q %v", k.actor, k.key, code, found, err, k.code, k.found)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

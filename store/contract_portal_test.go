package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// TestPortalSyncLifecycle follows two dossiers through the national portal
// sync's state (store/portal.go): marked, claimed under a lease, acknowledged
// and released; marked again while held; retried after a back-off; taken
// over when a lease runs out; parked; resynced. Every write of a worker whose
// claim is gone changes nothing and says so (service.ErrPortalClaimLost).
func TestPortalSyncLifecycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		x, y := newDossier(t, st, 1, now).Code, newDossier(t, st, 2, now).Code
		at := func(m int) time.Time { return now.Add(time.Duration(m) * time.Minute) }
		claim := func(m int) map[string]service.PortalClaim {
			t.Helper()
			cs, err := st.PortalClaim(ctx, at(m), at(m+5), 10)
			if err != nil {
				t.Fatal(err)
			}
			out := map[string]service.PortalClaim{}
			for _, c := range cs {
				out[c.Code] = c
			}
			return out
		}
		must := func(what string, err error) {
			t.Helper()
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		lost := func(what string, err error) {
			t.Helper()
			if !errors.Is(err, service.ErrPortalClaimLost) {
				t.Fatalf("%s: %v, want ErrPortalClaimLost", what, err)
			}
		}

		if _, found, err := st.PortalState(ctx, x); err != nil || found {
			t.Fatalf("state before any mark: found %v, %v", found, err)
		}
		must("mark", st.PortalMark(ctx, []string{y, x, x}, at(0)))
		c := claim(0)
		if len(c) != 2 || c[x].Wanted != 1 || c[x].RecordHash != "" || c[x].Token == "" || c[x].EntriesAcked != 0 {
			t.Fatalf("first claim %+v", c)
		}
		if again := claim(1); len(again) != 0 {
			t.Fatalf("claimed again while leased: %+v", again)
		}

		// x: its record and its one history line acknowledged, then released.
		must("begin", st.PortalBegin(ctx, c[x], "record", false, at(6)))
		must("ack record", st.PortalAckRecord(ctx, c[x], "h1", at(1)))
		if s, _, _ := st.PortalState(ctx, x); !s.Pending {
			t.Fatal("x is not pending with a history line unacknowledged")
		}
		lost("entry 2 acknowledged before entry 1", st.PortalAckEntry(ctx, c[x], 2, at(1)))
		must("ack entry", st.PortalAckEntry(ctx, c[x], 1, at(1)))
		must("release", st.PortalRelease(ctx, c[x], at(1)))
		s, found, err := st.PortalState(ctx, x)
		if err != nil || !found || s.Pending || s.Parked || s.SyncedAt == nil || !s.SyncedAt.Equal(at(1)) {
			t.Fatalf("x after its release: %+v, found %v, %v", s, found, err)
		}
		lost("ack after release", st.PortalAckRecord(ctx, c[x], "h2", at(2)))
		if got := claim(3); len(got) != 0 { // x is done, y still leased until +5
			t.Fatalf("claim at +3: %+v", got)
		}

		// y: an event comes while it is held: released, it stays pending and due.
		must("mark y while held", st.PortalMark(ctx, []string{y}, at(2)))
		must("release y", st.PortalRelease(ctx, c[y], at(2)))
		c2 := claim(2)
		if len(c2) != 1 || c2[y].Wanted != 2 {
			t.Fatalf("after a mark during the lease: %+v, want y wanted 2", c2)
		}

		// A failure: retried at +20; a mark meanwhile does not pull it forward.
		must("retry", st.PortalRetry(ctx, c2[y], "portal 503", at(20), at(3)))
		must("mark during back-off", st.PortalMark(ctx, []string{y}, at(4)))
		if got := claim(10); len(got) != 0 {
			t.Fatalf("claimed during the back-off: %+v", got)
		}
		b, err := st.PortalBacklog(ctx, 10)
		if err != nil || b.Pending != 1 || b.Retrying != 1 || b.Parked != 0 || len(b.Failing) != 1 ||
			b.Failing[0].Code != y || b.Failing[0].LastError != "portal 503" || b.OldestPendingSince == nil {
			t.Fatalf("backlog during the back-off: %+v, %v", b, err)
		}
		c3 := claim(20)
		if c3[y].Attempts != 1 {
			t.Fatalf("claim after the back-off: %+v, want y with 1 attempt", c3)
		}
		must("begin y", st.PortalBegin(ctx, c3[y], "entry 1", false, at(25)))

		// The lease runs out: another worker takes y, the first is locked out.
		c4 := claim(25)
		if len(c4) != 1 || c4[y].Token == c3[y].Token || c4[y].Inflight != "entry 1" {
			t.Fatalf("claim after the lease ran out: %+v", c4)
		}
		lost("the old holder's ack", st.PortalAckEntry(ctx, c3[y], 1, at(26)))
		lost("the old holder's retry", st.PortalRetry(ctx, c3[y], "late", at(30), at(26)))
		must("resent begin", st.PortalBegin(ctx, c4[y], "entry 1", true, at(31)))

		// Refused: parked, not claimed again, not even when marked.
		must("park", st.PortalPark(ctx, c4[y], "portal refused the record", at(27)))
		must("mark parked", st.PortalMark(ctx, []string{y}, at(28)))
		if got := claim(100); len(got) != 0 {
			t.Fatalf("a parked dossier was claimed: %+v", got)
		}
		s, _, _ = st.PortalState(ctx, y)
		if !s.Parked || !s.Pending || s.LastError != "portal refused the record" {
			t.Fatalf("y parked: %+v", s)
		}
		b, err = st.PortalBacklog(ctx, 10)
		if err != nil || b.Pending != 0 || b.Parked != 1 || b.Resent != 1 || len(b.Failing) != 1 || b.Failing[0].ParkedAt == nil {
			t.Fatalf("backlog with y parked: %+v, %v", b, err)
		}

		// Resync: unknown codes are NotFound; known ones start over, taken
		// from any holder.
		if err := st.PortalResync(ctx, "no-such-dossier", at(29)); domain.KindOf(err) != domain.NotFound {
			t.Fatalf("resync of an unknown dossier: %v, want NotFound", err)
		}
		must("resync y", st.PortalResync(ctx, y, at(30)))
		must("resync x", st.PortalResync(ctx, x, at(30)))
		c5 := claim(30)
		if len(c5) != 2 || c5[y].Attempts != 0 || c5[y].Inflight != "" || c5[x].RecordHash != "" || c5[x].EntriesAcked != 0 {
			t.Fatalf("claim after the resyncs: %+v", c5)
		}
		must("resync y again", st.PortalResync(ctx, y, at(31)))
		lost("ack after a resync took the dossier", st.PortalAckRecord(ctx, c5[y], "h", at(31)))

		// The record's first acknowledgement time survives the resync: x's
		// record counts as synced at +1 for its lead agency.
		for _, tc := range []struct {
			before time.Time
			want   int
		}{{time.Time{}, 1}, {at(1), 0}, {at(2), 1}} {
			got, err := st.PortalRecordsSynced(ctx, now.Add(-time.Hour), now.Add(time.Hour), tc.before)
			if err != nil || got[lead] != tc.want || len(got) > 1 {
				t.Errorf("records synced before %v: %v, %v; want %s: %d", tc.before, got, err, lead, tc.want)
			}
		}
	})
}

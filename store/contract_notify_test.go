package store_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// TestNoticeReads: what the notifier and the sweeps read about dossiers:
// contacts only of those who consented, the dossiers a message is about
// with their pauses and only their refusal and stop lines (codes not found
// left out), and the dossiers waiting for a supplement asked before an
// instant.
func TestNoticeReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		d1, d2 := newDossier(t, st, 1, now), newDossier(t, st, 2, now)
		asked := now.Add(time.Hour)
		if err := st.InTx(ctx, func(tx service.Tx) error {
			cur, err := tx.DossierForUpdate(ctx, d1.Code)
			if err != nil {
				return err
			}
			cur.Notify, cur.Applicant.Phone, cur.Applicant.Email = domain.ParseConsent("sms,email"), "0912345678", "a@example.vn"
			cur.Status, cur.Version = domain.StatusSupplementRequested, 2
			cur.Pauses = append(cur.Pauses, domain.Pause{Kind: domain.PauseSupplement, Clock: domain.ClockRestart, Reason: "thiếu",
				Items: []string{"CCCD"}, StartedAt: asked})
			hs := []domain.HistoryEntry{
				{At: asked, Actor: "x", Action: "note", From: domain.StatusReceived, To: domain.StatusReceived, Note: "ghi chú"},
				{At: asked, Actor: "x", Action: domain.ActionStop.History(), From: domain.StatusReceived, To: domain.StatusSupplementRequested, Note: "lý do"},
			}
			return tx.UpdateDossier(ctx, cur, 1, domain.Change{History: hs})
		}); err != nil {
			t.Fatal(err)
		}

		contacts, err := st.Contacts(ctx, []string{d1.Code, d2.Code, "unknown"})
		if err != nil || len(contacts) != 1 {
			t.Fatalf("contacts %+v, %v: want only d1's", contacts, err)
		}
		if c := contacts[d1.Code]; !c.Notify.Has(domain.NotifySMS) || !c.Notify.Has(domain.NotifyEmail) || c.Phone != "0912345678" || c.Email != "a@example.vn" {
			t.Fatalf("d1's contact %+v", c)
		}
		if c, err := st.Contacts(ctx, nil); err != nil || len(c) != 0 {
			t.Fatalf("contacts of nothing: %+v, %v", c, err)
		}

		ds, err := st.DossiersForNotice(ctx, []string{d1.Code, d2.Code, "unknown"})
		if err != nil || len(ds) != 2 {
			t.Fatalf("dossiers for notice: %d, %v; want d1 and d2", len(ds), err)
		}
		got := ds[d1.Code]
		if len(got.Pauses) != 1 || got.Pauses[0].Reason != "thiếu" || len(got.Pauses[0].Items) != 1 || got.Pauses[0].EndedAt != nil {
			t.Fatalf("d1's pauses %+v", got.Pauses)
		}
		if len(got.History) != 1 || got.History[0].Note != "lý do" || len(ds[d2.Code].History) != 0 {
			t.Fatalf("history for notice: %+v and %+v, want only d1's stop line", got.History, ds[d2.Code].History)
		}

		for _, tc := range []struct {
			before time.Time
			want   int
		}{{asked.Add(time.Minute), 1}, {asked, 0}} {
			codes, err := st.AwaitingSupplementSince(ctx, tc.before, 10)
			if err != nil || len(codes) != tc.want || (tc.want == 1 && codes[0] != d1.Code) {
				t.Errorf("awaiting a supplement asked before %v: %v, %v; want %d", tc.before, codes, err, tc.want)
			}
		}
	})
}

// TestOutboxBacklogAndFailures: the backlog counts pending events (not
// parked ones) and dates the oldest; a failure is counted on the event with
// its reason cut to 1,000 bytes; an outcome for a notification no longer
// pending changes nothing.
func TestOutboxBacklogAndFailures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		if n, oldest, err := st.OutboxBacklog(ctx); err != nil || n != 0 || oldest != nil {
			t.Fatalf("empty backlog: %d %v %v", n, oldest, err)
		}
		before := time.Now().Add(-time.Second)
		recs := queueEvents(t, st, "a", "b", "c")
		if err := st.MarkFailed(ctx, recs[0].Seq, strings.Repeat("x", 3000), false); err != nil {
			t.Fatal(err)
		}
		if err := st.MarkFailed(ctx, recs[0].Seq, "again", false); err != nil {
			t.Fatal(err)
		}
		if err := st.MarkFailed(ctx, recs[1].Seq, strings.Repeat("y", 3000), true); err != nil {
			t.Fatal(err)
		}
		n, oldest, err := st.OutboxBacklog(ctx)
		if err != nil || n != 2 || oldest == nil || oldest.Before(before) || oldest.After(time.Now()) {
			t.Fatalf("backlog %d since %v, %v; want 2", n, oldest, err)
		}
		pending, err := st.PendingEvents(ctx, 10)
		if err != nil || len(pending) != 2 || pending[0].Attempts != 2 || pending[1].Attempts != 0 {
			t.Fatalf("pending %+v, %v: want a and c, a with 2 attempts", pending, err)
		}
		parked, err := st.ParkedEvents(ctx, 10)
		if err != nil || len(parked) != 1 {
			t.Fatalf("parked %+v, %v; want b", parked, err)
		}
		if len(parked[0].LastError) != 1000 {
			t.Fatalf("a reason of %d bytes kept, want it cut to 1000", len(parked[0].LastError))
		}
		// A reason cut in the middle of a character is still valid text
		// (PostgreSQL refuses invalid UTF-8): "ữ" is 3 bytes, 1000 is not a
		// multiple of 3.
		if err := st.MarkFailed(ctx, recs[2].Seq, strings.Repeat("ữ", 400), false); err != nil {
			t.Fatalf("a long Vietnamese reason: %v", err)
		}

		now := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
		n1 := domain.Notification{EventID: "e1", Channel: domain.NotifySMS, DossierCode: "A", Event: domain.EventReceived, To: "091****678", OccurredAt: now}
		if _, err := st.AddNotifications(ctx, []domain.Notification{n1}, now); err != nil {
			t.Fatal(err)
		}
		due, _ := st.DueNotifications(ctx, now, 10)
		if len(due) != 1 {
			t.Fatalf("due %+v", due)
		}
		id := due[0].ID
		for _, o := range []service.AttemptOutcome{
			{ID: id, Status: domain.NotificationSent, Next: now},
			{ID: id, Status: domain.NotificationFailed, Error: "late outcome", Next: now},
		} {
			if err := st.FinishAttempts(ctx, []service.AttemptOutcome{o}, now.Add(time.Minute)); err != nil {
				t.Fatal(err)
			}
		}
		ns, err := st.NotificationsOf(ctx, "A")
		if err != nil || len(ns) != 1 || ns[0].Status != domain.NotificationSent || ns[0].LastError != "" || ns[0].SentAt == nil {
			t.Fatalf("after sent then a late failure: %+v, %v", ns, err)
		}
	})
}

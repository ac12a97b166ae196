package store_test

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

func TestNotificationRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
		mk := func(ev, code string, ch domain.NotifyChannel) domain.Notification {
			return domain.Notification{EventID: ev, Channel: ch, DossierCode: code, Event: domain.EventReceived, To: "091****678", OccurredAt: now}
		}
		n, err := st.AddNotifications(ctx, []domain.Notification{mk("e1", "A", domain.NotifySMS), mk("e1", "A", domain.NotifyEmail),
			mk("e2", "A", domain.NotifySMS), mk("e3", "B", domain.NotifySMS)}, now)
		if err != nil || n != 4 {
			t.Fatalf("add: %d, %v", n, err)
		}
		// The same (event, channel) again is skipped: one row per message.
		if n, err := st.AddNotifications(ctx, []domain.Notification{mk("e1", "A", domain.NotifySMS)}, now); err != nil || n != 0 {
			t.Fatalf("add again: %d, %v", n, err)
		}
		due, err := st.DueNotifications(ctx, now, 100)
		if err != nil {
			t.Fatal(err)
		}
		// e2 waits behind e1 on the same dossier and channel.
		var got []string
		for _, d := range due {
			got = append(got, d.EventID+"/"+string(d.Channel))
		}
		if len(got) != 3 || got[0] != "e1/sms" || got[1] != "e1/email" || got[2] != "e3/sms" {
			t.Fatalf("due: %v", got)
		}
		// Only one of many racing callers wins an attempt.
		var wins atomic.Int32
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				won, err := st.BeginAttempts(ctx, []int64{due[0].ID, due[2].ID}, now, now.Add(time.Minute))
				if err != nil {
					t.Error(err)
				}
				wins.Add(int32(len(won)))
			})
		}
		wg.Wait()
		if wins.Load() != 2 {
			t.Fatalf("%d attempts won, want 2 (one per row)", wins.Load())
		}
		// e3 was taken: it is not due until its lease ends; it goes back.
		if err := st.FinishAttempts(ctx, []service.AttemptOutcome{{ID: due[0].ID, Status: domain.NotificationSent, Next: now},
			{ID: due[2].ID, Status: domain.NotificationPending, Next: now}}, now); err != nil {
			t.Fatal(err)
		}
		// A finished row is never finished again.
		if err := st.FinishAttempts(ctx, []service.AttemptOutcome{{ID: due[0].ID, Status: domain.NotificationFailed, Error: "late", Next: now}}, now); err != nil {
			t.Fatal(err)
		}
		due, _ = st.DueNotifications(ctx, now, 100)
		if len(due) != 3 || due[0].EventID != "e1" || due[0].Channel != domain.NotifyEmail || due[1].EventID != "e2" {
			t.Fatalf("after e1/sms sent: %+v", due)
		}
		if won, _ := st.BeginAttempts(ctx, []int64{due[0].ID}, now, now.Add(time.Hour)); len(won) != 1 {
			t.Fatal("attempt not taken")
		}
		if err := st.FinishAttempts(ctx, []service.AttemptOutcome{{ID: due[0].ID, Status: domain.NotificationFailed, Error: "refused", Next: now}}, now); err != nil {
			t.Fatal(err)
		}
		rep, err := st.NotificationStatus(ctx, now.Add(-time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		for _, c := range rep.Counts {
			counts[string(c.Channel)+"/"+string(c.Status)] = c.Count
		}
		if counts["sms/sent"] != 1 || counts["sms/pending"] != 2 || counts["email/failed"] != 1 || len(rep.Failed) != 1 ||
			rep.Failed[0].LastError != "refused" || rep.OldestPending == nil {
			t.Fatalf("status: %+v %+v", counts, rep)
		}
	})
}

// TestDueBehindBlockedRows: the oldest due rows all wait behind a row in
// its lease (more of them than DueNotifications looks at first); a
// younger dossier's row is still found.
func TestDueBehindBlockedRows(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)
		var ns []domain.Notification
		for i := range 12 {
			ns = append(ns, domain.Notification{EventID: "a" + strconv.Itoa(i), Channel: domain.NotifySMS, DossierCode: "A",
				Event: domain.EventReceived, To: "091****678", OccurredAt: now})
		}
		if _, err := st.AddNotifications(ctx, ns, now); err != nil {
			t.Fatal(err)
		}
		b := domain.Notification{EventID: "b", Channel: domain.NotifySMS, DossierCode: "B", Event: domain.EventReceived, To: "091****678", OccurredAt: now}
		if _, err := st.AddNotifications(ctx, []domain.Notification{b}, now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		first, err := st.DueNotifications(ctx, now, 1)
		if err != nil || len(first) != 1 || first[0].EventID != "a0" {
			t.Fatalf("first due: %+v, %v", first, err)
		}
		if won, _ := st.BeginAttempts(ctx, []int64{first[0].ID}, now, now.Add(time.Hour)); len(won) != 1 {
			t.Fatal("attempt not taken")
		}
		for _, limit := range []int{1, 2, 100} {
			due, err := st.DueNotifications(ctx, now.Add(2*time.Second), limit)
			if err != nil || len(due) != 1 || due[0].EventID != "b" {
				t.Fatalf("limit %d: due %+v, %v; want b alone", limit, due, err)
			}
		}
	})
}

package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// applyAll applies actions to the dossier one transaction each, as
// service.Transition does.
func applyAll(t *testing.T, st *store.Store, code string, at time.Time, actions ...domain.TransitionInput) {
	t.Helper()
	ctx := context.Background()
	admin := domain.Actor{Sub: "admin", Name: "Quản trị", Roles: []domain.Role{domain.RoleAdmin}, Agency: unit}
	cal := domain.NewCalendar(domain.DefaultOfficeHours(), nil)
	for i, in := range actions {
		now := at.Add(time.Duration(i+1) * time.Hour)
		err := st.InTx(ctx, func(tx service.Tx) error {
			d, err := tx.DossierForUpdate(ctx, code)
			if err != nil {
				return err
			}
			read := d.Version
			ch, err := d.Apply(in, admin, now, cal)
			if err != nil {
				return err
			}
			return tx.UpdateDossier(ctx, d, read, ch)
		})
		if err != nil {
			t.Fatalf("%s: %v", in.Action, err)
		}
	}
}

// TestDossierLoadEqualsPerTable: the dossier read in one statement
// (PostgreSQL: the children as JSON arrays) is the dossier read one table
// at a time, with steps, pauses, hand-offs, history and notifications, for
// every loader (the whole dossier, for update, for the look-up).
func TestDossierLoadEqualsPerTable(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 123456000, time.UTC)
		d := newDossier(t, st, 1, now)
		applyAll(t, st, d.Code, now,
			domain.TransitionInput{Action: domain.ActionTransfer},
			domain.TransitionInput{Action: domain.ActionRequestSupplement, Reason: "thiếu giấy", Items: []string{"Bản sao", "Ảnh \"3x4\""}},
			domain.TransitionInput{Action: domain.ActionReceiveSupplement},
			domain.TransitionInput{Action: domain.ActionRequestPayment, Amount: 50000, Reason: "lệ phí"})
		if _, err := st.AddNotifications(ctx, []domain.Notification{{EventID: "e1", Channel: domain.NotifyChannel("sms"),
			DossierCode: d.Code, Event: domain.EventTransferred, To: "09******12", OccurredAt: now}}, now); err != nil {
			t.Fatal(err)
		}
		want, err := st.DossierPerTable(ctx, d.Code, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(want.Steps) == 0 || len(want.Pauses) != 2 || len(want.Handoffs) == 0 || len(want.History) < 5 || len(want.Notifications) != 1 {
			t.Fatalf("the fixture lacks children: %d steps, %d pauses, %d hand-offs, %d history, %d notifications",
				len(want.Steps), len(want.Pauses), len(want.Handoffs), len(want.History), len(want.Notifications))
		}
		got, err := st.Dossier(ctx, d.Code)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Dossier:\n got %+v\nwant %+v", got, want)
		}
		lean, err := st.DossierPerTable(ctx, d.Code, false)
		if err != nil {
			t.Fatal(err)
		}
		if got, err = st.DossierForLookup(ctx, d.Code); err != nil || !reflect.DeepEqual(got, lean) {
			t.Errorf("DossierForLookup: %v\n got %+v\nwant %+v", err, got, lean)
		}
		err = st.InTx(ctx, func(tx service.Tx) error {
			got, err := tx.DossierForUpdate(ctx, d.Code)
			if err == nil && !reflect.DeepEqual(got, lean) {
				t.Errorf("DossierForUpdate:\n got %+v\nwant %+v", got, lean)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.Dossier(ctx, "000.00.10.H29-260316-9999"); domain.KindOf(err) != domain.NotFound {
			t.Errorf("unknown code: %v, want not found", err)
		}
	})
}

// TestDossierForUpdateAfterWait: a command that waited for the row lock of
// another command reads the children that command wrote (PostgreSQL reads
// the children in the snapshot taken before the wait, so the load is
// repeated when the row changed meanwhile).
func TestDossierForUpdateAfterWait(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		d := newDossier(t, st, 1, now)
		applyAll(t, st, d.Code, now, domain.TransitionInput{Action: domain.ActionTransfer})
		admin := domain.Actor{Sub: "admin", Roles: []domain.Role{domain.RoleAdmin}, Agency: unit}
		cal := domain.NewCalendar(domain.DefaultOfficeHours(), nil)
		locked, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
		go func() {
			done <- st.InTx(ctx, func(tx service.Tx) error {
				cur, err := tx.DossierForUpdate(ctx, d.Code)
				if err != nil {
					return err
				}
				read := cur.Version
				ch, err := cur.Apply(domain.TransitionInput{Action: domain.ActionRequestSupplement, Reason: "thiếu", Items: []string{"x"}}, admin, now.Add(2*time.Hour), cal)
				if err != nil {
					return err
				}
				if err := tx.UpdateDossier(ctx, cur, read, ch); err != nil {
					return err
				}
				close(locked)
				<-release
				return nil
			})
		}()
		<-locked
		var seen *domain.Dossier
		waited := make(chan error, 1)
		go func() {
			waited <- st.InTx(ctx, func(tx service.Tx) error {
				var err error
				seen, err = tx.DossierForUpdate(ctx, d.Code)
				return err
			})
		}()
		if st.Dialect() == store.Postgres {
			time.Sleep(200 * time.Millisecond) // the second reader is now waiting for the lock
		}
		close(release)
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if err := <-waited; err != nil {
			t.Fatal(err)
		}
		if len(seen.Pauses) != 1 || seen.Pauses[0].EndedAt != nil || seen.Status != domain.StatusSupplementRequested {
			t.Errorf("after the wait: status %v, pauses %+v; want the open supplement pause the first command wrote", seen.Status, seen.Pauses)
		}
	})
}

package store_test

import (
	"context"
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
			ch, err := d.Apply(in, admin, now, cal, domain.DefaultDueSoonLead)
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

// TestDossierForUpdateAfterWait: a command that waited for the row lock of
// another command reads the children that command wrote, not those of
// before its wait (a load of the row and its children in one statement
// would read them in the snapshot taken before the wait: docs/benchmarks.md,
// "Hot paths").
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
				ch, err := cur.Apply(domain.TransitionInput{Action: domain.ActionRequestSupplement, Reason: "thiếu", Items: []string{"x"}}, admin, now.Add(2*time.Hour), cal, domain.DefaultDueSoonLead)
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

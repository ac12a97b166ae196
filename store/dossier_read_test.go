package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// fullDossier takes in a three-step dossier (beside newDossier's first one)
// and moves it through transfers, a completed step, a supplement and a
// an extension and a payment asked (left open), so that it has steps,
// pauses, hand-offs and history; both dossiers get notifications.
func fullDossier(t *testing.T, st *store.Store, now time.Time) *domain.Dossier {
	t.Helper()
	ctx := context.Background()
	d := threeSteps(t, st, now)
	svc := service.New(st, &stepping{t: now}, nil, service.Options{Logger: storetest.Quiet()})
	t.Cleanup(func() { _ = svc.Close(context.Background()) })
	admin := domain.Actor{Sub: "admin", Name: "Quản trị", Title: "Chuyên viên", Roles: []domain.Role{domain.RoleAdmin}, Agency: unit}
	due := now.Add(30 * 24 * time.Hour)
	version := d.Version
	for i, in := range []domain.TransitionInput{
		{Action: domain.ActionTransfer},
		{Action: domain.ActionCompleteStep},
		{Action: domain.ActionRequestSupplement, Reason: "thiếu", Items: []string{"x", "y"}},
		{Action: domain.ActionReceiveSupplement},
		{Action: domain.ActionExtend, Reason: "chậm", NewDueAt: &due},
		{Action: domain.ActionRequestPayment, Amount: 50000, Reason: "phí"},
	} {
		got, err := svc.Transition(ctx, admin, service.TransitionCmd{Code: d.Code, Version: version, Input: in})
		if err != nil {
			t.Fatalf("%d %s: %v", i, in.Action, err)
		}
		version = got.Version
	}
	first := domain.DossierCode(unit, now, 1)
	var ns []domain.Notification
	for i, c := range []struct {
		code string
		ch   domain.NotifyChannel
	}{{d.Code, domain.NotifySMS}, {first, domain.NotifySMS}, {d.Code, domain.NotifyEmail}} {
		ns = append(ns, domain.Notification{EventID: "e" + string(rune('1'+i)), Channel: c.ch, DossierCode: c.code,
			Event: domain.EventReceived, To: "09******78", OccurredAt: now.Add(time.Duration(i) * time.Minute)})
	}
	if n, err := st.AddNotifications(ctx, ns, now); err != nil || n != len(ns) {
		t.Fatalf("notifications: %d, %v", n, err)
	}
	return d
}

// TestDossierReadOutsideTxIsTheReadInTx: the staff read of a dossier
// outside a transaction (on PostgreSQL its six queries in one round trip,
// store/dossier_read.go) returns exactly the dossier the read inside a
// transaction returns (one statement a table), with its own steps, pauses,
// hand-offs, history and notifications in order, and a missing code
// answers the same NotFound.
func TestDossierReadOutsideTxIsTheReadInTx(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		d := fullDossier(t, st, now)
		inTx := func(code string) (got *domain.Dossier, err error) {
			err = st.InTx(ctx, func(tx service.Tx) error {
				got, err = tx.Dossier(ctx, code)
				return err
			})
			return got, err
		}
		bare := newDossier(t, st, 3, now) // no pauses, hand-offs or notifications
		for _, code := range []string{d.Code, domain.DossierCode(unit, now, 1), bare.Code} {
			want, err := inTx(code)
			if err != nil {
				t.Fatal(err)
			}
			got, err := st.Dossier(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: the read outside a transaction differs from the one inside (-inside +outside):\n%s",
					code, cmp.Diff(want, got))
			}
		}
		got, err := st.Dossier(ctx, d.Code)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Steps) != 3 || len(got.Pauses) != 2 || len(got.Handoffs) < 2 || len(got.History) != 7 || len(got.Notifications) != 2 {
			t.Fatalf("the fixture has %d steps, %d pauses, %d hand-offs, %d history lines, %d notifications; want 3, 2, 2+, 7, 2",
				len(got.Steps), len(got.Pauses), len(got.Handoffs), len(got.History), len(got.Notifications))
		}

		const missing = "000.00.10.H29-260316-9999"
		_, errOut := st.Dossier(ctx, missing)
		_, errIn := inTx(missing)
		if domain.KindOf(errOut) != domain.NotFound || errOut == nil || errIn == nil || errOut.Error() != errIn.Error() {
			t.Errorf("a missing dossier: %v outside a transaction, %v inside; want the same NotFound", errOut, errIn)
		}
	})
}

// TestLockedReadIsTheRead: a command's locked read (on PostgreSQL its row,
// steps, pauses, overdue spans, roll-up state and the catalogue's version in
// one round trip, store/dossier_read.go) returns the dossier the staff read
// returns, without history, and the catalogue's version the store reports;
// a missing code answers the same NotFound.
func TestLockedReadIsTheRead(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		d := fullDossier(t, st, now)
		bare := newDossier(t, st, 3, now)
		wantVersion, err := st.CatalogueVersion(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, code := range []string{d.Code, domain.DossierCode(unit, now, 1), bare.Code} {
			want, err := st.Dossier(ctx, code)
			if err != nil {
				t.Fatal(err)
			}
			want.Handoffs, want.History, want.Notifications = nil, nil, nil
			var got *domain.Dossier
			var version int64
			err = st.InTx(ctx, func(tx service.Tx) error {
				if got, err = tx.DossierForUpdate(ctx, code); err != nil {
					return err
				}
				version, err = tx.CatalogueVersionShared(ctx)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("%s: the locked read differs from the read (-read +locked):\n%s", code, cmp.Diff(want, got))
			}
			if version != wantVersion {
				t.Errorf("%s: catalogue version %d after the locked read, want %d", code, version, wantVersion)
			}
		}
		const missing = "000.00.10.H29-260316-9999"
		_, errRead := st.Dossier(ctx, missing)
		errLocked := st.InTx(ctx, func(tx service.Tx) error {
			_, err := tx.DossierForUpdate(ctx, missing)
			return err
		})
		if domain.KindOf(errLocked) != domain.NotFound || errRead == nil || errLocked.Error() != errRead.Error() {
			t.Errorf("a missing dossier: %v locked, %v read; want the same NotFound", errLocked, errRead)
		}
	})
}

// TestNumberReadsTheCatalogue: after an intake's number (on PostgreSQL taken
// with the catalogue's shared lock and version in one round trip), the
// transaction's catalogue version is the store's, and a recorded day moves
// the next transaction's on.
func TestNumberReadsTheCatalogue(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		versionAfterNumber := func() (seq, version int64) {
			t.Helper()
			err := st.InTx(ctx, func(tx service.Tx) error {
				var err error
				if seq, err = tx.NextSequence(ctx, unit, "260316"); err != nil {
					return err
				}
				version, err = tx.CatalogueVersionShared(ctx)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			return seq, version
		}
		for round := int64(1); round <= 2; round++ {
			want, err := st.CatalogueVersion(ctx)
			if err != nil {
				t.Fatal(err)
			}
			seq, got := versionAfterNumber()
			if seq != round || got != want {
				t.Errorf("round %d: number %d and catalogue version %d, want %d and %d", round, seq, got, round, want)
			}
			if err := st.InTx(ctx, func(tx service.Tx) error {
				return tx.SaveCalendarDay(ctx, domain.CalendarDay{Date: domain.Date{Year: 2026, Month: 4, Day: int(round)}, Kind: domain.DayHoliday, Name: "Nghỉ"}, time.Now())
			}); err != nil {
				t.Fatal(err)
			}
		}
	})
}

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

// TestTransitionCatchesUpAfterIdleVersion: a transition skips the pending
// recompute read at a catalogue version it saw with none pending, but a day
// recorded since (a new version, its job pending) is still applied to the
// dossier it acts on, before the action.
func TestTransitionCatchesUpAfterIdleVersion(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 3, 16, 2, 0, 0, 0, time.UTC)
		d := threeSteps(t, st, now)
		first := domain.DossierCode(unit, now, 1)                                                                       // newDossier's, in threeSteps
		svc := service.New(st, &stepping{t: now}, nil, service.Options{Logger: storetest.Quiet(), RecomputeInline: -1}) // the job stays pending
		admin := domain.Actor{Sub: "admin", Name: "Quản trị", Roles: []domain.Role{domain.RoleAdmin}, Agency: unit}
		one, err := svc.Dossier(ctx, admin, first)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Transition(ctx, admin, service.TransitionCmd{Code: first, Version: one.Version,
			Input: domain.TransitionInput{Action: domain.ActionTransfer}}); err != nil {
			t.Fatal(err)
		}
		day := domain.DateOf(now.Add(24 * time.Hour))
		if _, err := svc.PutDay(ctx, admin, service.DayCmd{Date: day, Kind: domain.DayHoliday, Name: "Nghỉ"}); err != nil {
			t.Fatal(err)
		}
		got, err := svc.Transition(ctx, admin, service.TransitionCmd{Code: d.Code, Version: d.Version,
			Input: domain.TransitionInput{Action: domain.ActionTransfer}})
		if err != nil {
			t.Fatal(err)
		}
		var moved bool
		for _, h := range got.History {
			moved = moved || h.Action == domain.HistoryCalendarChanged
		}
		if !moved || !got.Clock.DueAt.After(*d.Clock.DueAt) {
			t.Errorf("the day recorded after an idle version was not applied: due %v (was %v), history %+v", got.Clock.DueAt, d.Clock.DueAt, got.History)
		}
	})
}

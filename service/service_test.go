package service_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// The use cases through the real store, on both databases: each answers a
// rule broken with the kind of error the API maps to its status.

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Set(t time.Time) { c.mu.Lock(); c.t = t.UTC(); c.mu.Unlock() }

const (
	root    = "000.00.00.H29"
	center  = "000.00.10.H29"
	dept    = "000.00.07.H29"
	foreign = "000.00.00.H38"
)

func actor(r domain.Role, agency string) domain.Actor {
	return domain.Actor{Sub: string(r) + "@" + agency, Roles: []domain.Role{r}, Agency: agency}
}

var (
	admin = actor(domain.RoleAdmin, root)
	clerk = actor(domain.RoleClerk, center)
)

// setup makes a service on st with a province (root, centre, department, a
// foreign root) and a one-day procedure led by the department.
func setup(t *testing.T, st *store.Store) (*service.Service, *clock) {
	t.Helper()
	ctx := context.Background()
	c := &clock{}
	c.Set(time.Date(2026, 3, 16, 9, 0, 0, 0, domain.Vietnam())) // a Monday
	svc := service.New(st, c, nil, service.Options{Logger: storetest.Quiet()})
	// Right PINs' give-backs still being applied finish before the store closes.
	t.Cleanup(func() { _ = svc.Close(context.Background()) })
	for _, a := range []domain.Agency{{Code: root, Name: "UBND"}, {Code: center, Name: "Trung tâm", ParentCode: root},
		{Code: dept, Name: "Sở", ParentCode: root}, {Code: foreign, Name: "Tỉnh khác"}} {
		if _, err := svc.PutAgency(ctx, admin, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := svc.PutProcedure(ctx, admin, domain.Procedure{Code: "1.001612", Name: "Thủ tục", AgencyCode: dept,
		Unit: domain.UnitWorkingDays, Amount: 1, Minutes: domain.MinutesPerWorkingDay, SupplementClock: domain.ClockPause, Online: domain.OnlineFull}); err != nil {
		t.Fatal(err)
	}
	return svc, c
}

func intakeCmd() service.IntakeCmd {
	return service.IntakeCmd{ProcedureCode: "1.001612", Channel: "counter", Delivery: "counter",
		Applicant: domain.Applicant{Name: "Nguyễn Văn An", IDNumber: "001090001234"}}
}

func wantKind(t *testing.T, what string, err error, kind domain.Kind) {
	t.Helper()
	if domain.KindOf(err) != kind {
		t.Errorf("%s: %v (kind %v), want kind %v", what, err, domain.KindOf(err), kind)
	}
}

func TestIntakeRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, c := setup(t, st)
		ctx := context.Background()
		past := c.Now().Add(-48 * time.Hour)
		future := c.Now().Add(time.Hour)
		with := func(f func(*service.IntakeCmd)) service.IntakeCmd { cmd := intakeCmd(); f(&cmd); return cmd }
		for _, tc := range []struct {
			name  string
			actor domain.Actor
			cmd   service.IntakeCmd
			kind  domain.Kind
		}{
			{"an officer", actor(domain.RoleOfficer, center), intakeCmd(), domain.Forbidden},
			{"a supervisor", actor(domain.RoleSupervisor, root), intakeCmd(), domain.Forbidden},
			{"a clerk for another unit", clerk, with(func(c *service.IntakeCmd) { c.AgencyCode = dept }), domain.Forbidden},
			{"a clerk importing", clerk, with(func(c *service.IntakeCmd) { c.ReceivedAt = &past }), domain.Forbidden},
			{"an import from the future", admin, with(func(c *service.IntakeCmd) { c.AgencyCode = center; c.ReceivedAt = &future }), domain.Invalid},
			{"a bad procedure code", clerk, with(func(c *service.IntakeCmd) { c.ProcedureCode = "x" }), domain.Invalid},
			{"an unknown procedure", clerk, with(func(c *service.IntakeCmd) { c.ProcedureCode = "2.000001" }), domain.Invalid},
			{"no applicant", clerk, with(func(c *service.IntakeCmd) { c.Applicant = domain.Applicant{} }), domain.Invalid},
			{"an unknown channel", clerk, with(func(c *service.IntakeCmd) { c.Channel = "fax" }), domain.Invalid},
		} {
			_, err := svc.Intake(ctx, tc.actor, tc.cmd)
			wantKind(t, tc.name, err, tc.kind)
		}
		res, err := svc.Intake(ctx, clerk, intakeCmd())
		if err != nil || res.PIN == "" || res.Dossier.Status != domain.StatusReceived || res.Dossier.DueAt() == nil {
			t.Fatalf("intake: %+v, %v", res, err)
		}
		// The same key and body give the same dossier; another body is refused.
		keyed := with(func(c *service.IntakeCmd) { c.IdempotencyKey, c.RequestHash = "k1", "h1" })
		first, err := svc.Intake(ctx, clerk, keyed)
		if err != nil {
			t.Fatal(err)
		}
		again, err := svc.Intake(ctx, clerk, keyed)
		if err != nil || again.Dossier.Code != first.Dossier.Code || !again.Replay {
			t.Fatalf("replay: %+v, %v", again, err)
		}
		keyed.RequestHash = "h2"
		_, err = svc.Intake(ctx, clerk, keyed)
		wantKind(t, "a reused key", err, domain.Conflict)
	})
}

func TestTransitionRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, _ := setup(t, st)
		ctx := context.Background()
		res, err := svc.Intake(ctx, clerk, intakeCmd())
		if err != nil {
			t.Fatal(err)
		}
		code := res.Dossier.Code
		transfer := domain.TransitionInput{Action: domain.ActionTransfer}
		for _, tc := range []struct {
			name  string
			actor domain.Actor
			cmd   service.TransitionCmd
			kind  domain.Kind
		}{
			{"no version", clerk, service.TransitionCmd{Code: code, Input: transfer}, domain.Invalid},
			{"a code that is no code", clerk, service.TransitionCmd{Code: "x", Version: 1, Input: transfer}, domain.NotFound},
			{"an unknown dossier", clerk, service.TransitionCmd{Code: center + "-260316-9999", Version: 1, Input: transfer}, domain.NotFound},
			{"a stale version", clerk, service.TransitionCmd{Code: code, Version: 7, Input: transfer}, domain.Conflict},
			{"a foreign clerk", actor(domain.RoleClerk, foreign), service.TransitionCmd{Code: code, Version: 1, Input: transfer}, domain.Forbidden},
			{"an officer's action by a clerk", clerk, service.TransitionCmd{Code: code, Version: 1,
				Input: domain.TransitionInput{Action: domain.ActionStop, Reason: "x"}}, domain.Forbidden},
			{"an action the status does not allow", clerk, service.TransitionCmd{Code: code, Version: 1,
				Input: domain.TransitionInput{Action: domain.ActionReturnResult, Method: domain.DeliveryCounter}}, domain.Conflict},
		} {
			_, err := svc.Transition(ctx, tc.actor, tc.cmd)
			wantKind(t, tc.name, err, tc.kind)
		}
		d, err := svc.Transition(ctx, clerk, service.TransitionCmd{Code: code, Version: 1, Input: transfer})
		if err != nil || d.Status != domain.StatusProcessing || d.Version != 2 || d.HolderCode != dept {
			t.Fatalf("transfer: %+v, %v", d, err)
		}
		var de *domain.Error
		_, err = svc.Transition(ctx, clerk, service.TransitionCmd{Code: code, Version: 1, Input: transfer})
		if !errors.As(err, &de) || de.Code != "version_conflict" {
			t.Fatalf("the same transfer on the old version: %v, want version_conflict", err)
		}
	})
}

func TestLookupLocksAfterWrongPINs(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, c := setup(t, st)
		ctx := context.Background()
		res, err := svc.Intake(ctx, clerk, intakeCmd())
		if err != nil {
			t.Fatal(err)
		}
		code, pin := res.Dossier.Code, res.PIN
		if v, err := svc.Lookup(ctx, code, pin, "198.51.100.7"); err != nil || v.Dossier.Code != code || v.AgencyNames[dept] != "Sở" {
			t.Fatalf("look-up: %+v, %v", v, err)
		}
		wrong := "00000000"
		if wrong == pin {
			wrong = "11111111"
		}
		for i := 0; i < 5; i++ {
			_, err := svc.Lookup(ctx, code, wrong, "198.51.100.7")
			wantKind(t, "a wrong PIN", err, domain.NotFound)
		}
		_, err = svc.Lookup(ctx, code, pin, "198.51.100.7")
		wantKind(t, "the right PIN while locked", err, domain.NotFound)
		_, err = svc.Lookup(ctx, code, "12", "198.51.100.7")
		wantKind(t, "a short PIN", err, domain.NotFound)
		c.Set(c.Now().Add(61 * time.Minute)) // the per-address window (docs/security.md)
		if _, err := svc.Lookup(ctx, code, pin, "198.51.100.7"); err != nil {
			t.Fatalf("the right PIN after the lock: %v", err)
		}
	})
}

func TestListAndReportScopes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, _ := setup(t, st)
		ctx := context.Background()
		if _, err := svc.Intake(ctx, clerk, intakeCmd()); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			actor domain.Actor
			q     service.ListQuery
			kind  domain.Kind
		}{
			{"a limit too high", clerk, service.ListQuery{Limit: 501}, domain.Invalid},
			{"a forged cursor", clerk, service.ListQuery{Cursor: "bm90LWEtY3Vyc29y"}, domain.Invalid},
			{"a bad status", clerk, service.ListQuery{Status: "lost"}, domain.Invalid},
			{"an agency outside the scope", clerk, service.ListQuery{AgencyCode: dept}, domain.Forbidden},
			{"a supervisor elsewhere", actor(domain.RoleSupervisor, foreign), service.ListQuery{AgencyCode: center}, domain.Forbidden},
		} {
			_, _, err := svc.ListDossiers(ctx, tc.actor, tc.q)
			wantKind(t, tc.name, err, tc.kind)
		}
		for _, tc := range []struct {
			actor domain.Actor
			n     int
		}{{clerk, 1}, {actor(domain.RoleOfficer, dept), 1}, {actor(domain.RoleSupervisor, root), 1}, {actor(domain.RoleSupervisor, foreign), 0}, {admin, 1}} {
			items, _, err := svc.ListDossiers(ctx, tc.actor, service.ListQuery{})
			if err != nil || len(items) != tc.n {
				t.Errorf("%s of %s lists %d, %v; want %d", tc.actor.Roles[0], tc.actor.Agency, len(items), err, tc.n)
			}
		}
		for _, a := range []domain.Actor{clerk, actor(domain.RoleOfficer, dept)} {
			_, err := svc.Compliance(ctx, a, service.ComplianceQuery{Period: "2026-03"})
			wantKind(t, string(a.Roles[0])+" reads reports", err, domain.Forbidden)
		}
		if _, err := svc.Compliance(ctx, actor(domain.RoleSupervisor, root), service.ComplianceQuery{Period: "2026-03"}); err != nil {
			t.Fatalf("a supervisor's report: %v", err)
		}
		_, err := svc.Compliance(ctx, actor(domain.RoleSupervisor, dept), service.ComplianceQuery{Period: "2026-03", AgencyCode: center})
		wantKind(t, "a supervisor's report on a sibling", err, domain.Forbidden)
	})
}

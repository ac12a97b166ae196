package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// The use cases end to end on the real store, both databases: the service
// loads, the domain applies, the store keeps what the domain returned.

var officer = actor(domain.RoleOfficer, dept)

// act takes one action on the dossier at the version it is at.
func act(t *testing.T, svc *service.Service, who domain.Actor, d *domain.Dossier, in domain.TransitionInput) *domain.Dossier {
	t.Helper()
	out, err := svc.Transition(context.Background(), who, service.TransitionCmd{Code: d.Code, Version: d.Version, Input: in})
	if err != nil {
		t.Fatalf("%s: %v", in.Action, err)
	}
	return out
}

// returned takes a dossier in and walks it to its result, returned.
func returned(t *testing.T, svc *service.Service) (*domain.Dossier, string) {
	t.Helper()
	res, err := svc.Intake(context.Background(), clerk, intakeCmd())
	if err != nil {
		t.Fatal(err)
	}
	d := act(t, svc, clerk, res.Dossier, domain.TransitionInput{Action: domain.ActionTransfer})
	d = act(t, svc, officer, d, domain.TransitionInput{Action: domain.ActionCompleteStep, Result: domain.ResultApproved})
	d = act(t, svc, clerk, d, domain.TransitionInput{Action: domain.ActionReturnResult, Method: domain.DeliveryCounter})
	return d, res.PIN
}

// earliest is the earliest of the dossier's checks on the default calendar.
func earliest(d *domain.Dossier) *time.Time {
	var out *time.Time
	for _, c := range d.Checks(domain.NewCalendar(domain.DefaultOfficeHours(), nil), domain.DefaultDueSoonLead) {
		if out == nil || c.At.Before(*out) {
			at := c.At
			out = &at
		}
	}
	return out
}

func sameTime(a, b *time.Time) bool {
	return (a == nil) == (b == nil) && (a == nil || a.Equal(*b))
}

// Every command that moves a deadline stores the next check the domain
// planned with it; a finished dossier has none.
func TestCommandsStoreTheNextCheck(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, _ := setup(t, st)
		ctx := context.Background()
		res, err := svc.Intake(ctx, clerk, intakeCmd())
		if err != nil {
			t.Fatal(err)
		}
		check := func(what string) *domain.Dossier {
			t.Helper()
			d, err := svc.Dossier(ctx, admin, res.Dossier.Code)
			if err != nil {
				t.Fatal(err)
			}
			if want := earliest(d); !sameTime(d.NextCheckAt, want) {
				t.Errorf("%s: stored next check %v, want the earliest check %v", what, d.NextCheckAt, want)
			}
			return d
		}
		d := check("intake")
		if d.NextCheckAt == nil {
			t.Fatal("a received dossier has no next check")
		}
		d = act(t, svc, clerk, d, domain.TransitionInput{Action: domain.ActionTransfer})
		check("transfer")
		d = act(t, svc, officer, d, domain.TransitionInput{Action: domain.ActionRequestSupplement, Reason: "thiếu", Items: []string{"Tờ khai"}})
		if d = check("supplement requested"); d.NextCheckAt != nil {
			t.Errorf("a paused dossier with time left has next check %v, want none", d.NextCheckAt)
		}
		d = act(t, svc, clerk, d, domain.TransitionInput{Action: domain.ActionReceiveSupplement})
		if d = check("supplement received"); d.NextCheckAt == nil {
			t.Error("a resumed dossier has no next check")
		}
		act(t, svc, officer, d, domain.TransitionInput{Action: domain.ActionCompleteStep, Result: domain.ResultDenied})
		if d = check("processed"); d.NextCheckAt != nil || d.Status != domain.StatusProcessed {
			t.Errorf("processed: status %v, next check %v; want none", d.Status, d.NextCheckAt)
		}
	})
}

func TestFeedback(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, _ := setup(t, st)
		ctx := context.Background()
		open, err := svc.Intake(ctx, clerk, intakeCmd())
		if err != nil {
			t.Fatal(err)
		}
		wantCode := func(what string, err error, code string) {
			t.Helper()
			if domain.CodeOf(err) != code {
				t.Errorf("%s: %v, want %s", what, err, code)
			}
		}
		err = svc.Feedback(ctx, service.FeedbackCmd{Code: open.Dossier.Code, PIN: open.PIN, Client: "198.51.100.1", Rating: 5})
		wantCode("a rating before the result", err, "not_returned")

		d, pin := returned(t, svc)
		err = svc.Feedback(ctx, service.FeedbackCmd{Code: d.Code, PIN: pin, Client: "198.51.100.1", Rating: 0})
		wantKind(t, "rating 0", err, domain.Invalid)
		err = svc.Feedback(ctx, service.FeedbackCmd{Code: d.Code, PIN: wrongPIN(pin), Client: "198.51.100.1", Rating: 4})
		wantKind(t, "a wrong PIN", err, domain.NotFound)
		if err := svc.Feedback(ctx, service.FeedbackCmd{Code: d.Code, PIN: pin, Client: "198.51.100.1", Rating: 4, Comment: "Nhanh"}); err != nil {
			t.Fatal(err)
		}
		got, err := svc.Dossier(ctx, admin, d.Code)
		if err != nil {
			t.Fatal(err)
		}
		last := got.History[len(got.History)-1]
		if got.Rating != 4 || got.RatingComment != "Nhanh" || got.RatedAt == nil || got.Version != d.Version+1 {
			t.Errorf("rated dossier: rating %d %q at %v, version %d; want 4, the comment, a time, version %d",
				got.Rating, got.RatingComment, got.RatedAt, got.Version, d.Version+1)
		}
		if last.Action != domain.HistoryRate || last.Actor != domain.CitizenSub || last.From != domain.StatusReturned || last.To != domain.StatusReturned {
			t.Errorf("last history line %+v, want the citizen's rate line keeping the status", last)
		}
		err = svc.Feedback(ctx, service.FeedbackCmd{Code: d.Code, PIN: pin, Client: "198.51.100.1", Rating: 1})
		wantCode("a second rating", err, "already_rated")
	})
}

func TestReissuePIN(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, _ := setup(t, st)
		ctx := context.Background()
		res, err := svc.Intake(ctx, clerk, intakeCmd())
		if err != nil {
			t.Fatal(err)
		}
		code := res.Dossier.Code
		_, err = svc.ReissuePIN(ctx, clerk, code, 0)
		wantKind(t, "no version", err, domain.Invalid)
		_, err = svc.ReissuePIN(ctx, clerk, code, 9)
		wantKind(t, "a stale version", err, domain.Conflict)
		_, err = svc.ReissuePIN(ctx, actor(domain.RoleClerk, foreign), code, 1)
		wantKind(t, "another unit's clerk", err, domain.Forbidden)
		_, err = svc.ReissuePIN(ctx, clerk, "x", 1)
		wantKind(t, "no code", err, domain.NotFound)

		v, err := svc.ReissuePIN(ctx, clerk, code, 1)
		if err != nil {
			t.Fatal(err)
		}
		if v.PIN == "" || v.PIN == res.PIN || v.Dossier.Version != 2 {
			t.Fatalf("reissued PIN %q (old %q), version %d; want a new PIN at version 2", v.PIN, res.PIN, v.Dossier.Version)
		}
		if _, err := svc.Lookup(ctx, code, res.PIN, "198.51.100.2"); domain.KindOf(err) != domain.NotFound {
			t.Errorf("the old PIN still opens the dossier: %v", err)
		}
		if _, err := svc.Lookup(ctx, code, v.PIN, "198.51.100.2"); err != nil {
			t.Errorf("the new PIN: %v", err)
		}
		d, err := svc.Dossier(ctx, admin, code)
		if err != nil {
			t.Fatal(err)
		}
		last := d.History[len(d.History)-1]
		if last.Action != domain.HistoryReissuePIN || last.Actor != clerk.Sub || last.From != d.Status || last.To != d.Status ||
			!sameTime(last.DueAt, d.DueAt()) {
			t.Errorf("last history line %+v, want the clerk's reissue_pin line keeping status and deadline", last)
		}
	})
}

// The watcher through the store: each deadline's event once, and a dossier
// with nothing left to check is not looked at again.
func TestWatchDeadlinesThroughTheStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, c := setup(t, st)
		ctx := context.Background()
		res, err := svc.Intake(ctx, clerk, intakeCmd())
		if err != nil {
			t.Fatal(err)
		}
		c.Set(res.Dossier.DueAt().Add(time.Hour))
		pass, err := svc.WatchDeadlines(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if pass.Seen != 1 || pass.Fired[domain.EventOverdue] != 1 || pass.Fired[domain.EventDueSoon] != 0 || pass.Lag < time.Hour {
			t.Errorf("first pass %+v, want one dossier, one overdue event (the passed warning unpublished), lag >= 1h", pass)
		}
		again, err := svc.WatchDeadlines(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if again.Seen != 0 || len(again.Fired) != 0 {
			t.Errorf("second pass %+v, want nothing", again)
		}
		d, err := svc.Dossier(ctx, admin, res.Dossier.Code)
		if err != nil {
			t.Fatal(err)
		}
		if d.NextCheckAt != nil || d.Version != res.Dossier.Version {
			t.Errorf("after the watcher: next check %v, version %d; want none, the version unmoved (%d)", d.NextCheckAt, d.Version, res.Dossier.Version)
		}
	})
}

func TestStopUnsupplemented(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, c := setup(t, st)
		ctx := context.Background()
		res, err := svc.Intake(ctx, clerk, intakeCmd())
		if err != nil {
			t.Fatal(err)
		}
		d := act(t, svc, clerk, res.Dossier, domain.TransitionInput{Action: domain.ActionTransfer})
		d = act(t, svc, officer, d, domain.TransitionInput{Action: domain.ActionRequestSupplement, Reason: "thiếu", Items: []string{"Tờ khai"}})
		asked := c.Now()
		c.Set(asked.Add(14 * 24 * time.Hour)) // ten working days: not yet
		if n, err := svc.StopUnsupplemented(ctx); err != nil || n != 0 {
			t.Fatalf("after two weeks: stopped %d, %v; want none", n, err)
		}
		c.Set(asked.Add(30 * 24 * time.Hour)) // more than fifteen working days
		if n, err := svc.StopUnsupplemented(ctx); err != nil || n != 1 {
			t.Fatalf("after a month: stopped %d, %v; want 1", n, err)
		}
		got, err := svc.Dossier(ctx, admin, d.Code)
		if err != nil {
			t.Fatal(err)
		}
		last := got.History[len(got.History)-1]
		if got.Status != domain.StatusStopped || got.NextCheckAt != nil || last.Note != domain.ReasonUnsupplemented || last.Actor != "system" {
			t.Errorf("stopped dossier: %v, next check %v, last line %+v", got.Status, got.NextCheckAt, last)
		}
		if n, err := svc.StopUnsupplemented(ctx); err != nil || n != 0 {
			t.Errorf("a second sweep stopped %d, %v; want none", n, err)
		}
	})
}

func TestSetNotify(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, _ := setup(t, st)
		ctx := context.Background()
		cmd := intakeCmd()
		cmd.Applicant.Phone = "0912345678"
		res, err := svc.Intake(ctx, clerk, cmd)
		if err != nil {
			t.Fatal(err)
		}
		code := res.Dossier.Code
		for _, tc := range []struct {
			name  string
			actor domain.Actor
			cmd   service.SetNotifyCmd
			kind  domain.Kind
		}{
			{"an officer", officer, service.SetNotifyCmd{Code: code, Version: 1, Notify: []string{"sms"}}, domain.Forbidden},
			{"another unit's clerk", actor(domain.RoleClerk, dept), service.SetNotifyCmd{Code: code, Version: 1, Notify: []string{"sms"}}, domain.Forbidden},
			{"no version", clerk, service.SetNotifyCmd{Code: code, Notify: []string{"sms"}}, domain.Invalid},
			{"a stale version", clerk, service.SetNotifyCmd{Code: code, Version: 5, Notify: []string{"sms"}}, domain.Conflict},
			{"no code", clerk, service.SetNotifyCmd{Code: "x", Version: 1}, domain.NotFound},
			{"e-mail with no address", clerk, service.SetNotifyCmd{Code: code, Version: 1, Notify: []string{"email"}}, domain.Invalid},
		} {
			_, err := svc.SetNotify(ctx, tc.actor, tc.cmd)
			wantKind(t, tc.name, err, tc.kind)
		}
		d, err := svc.SetNotify(ctx, clerk, service.SetNotifyCmd{Code: code, Version: 1, Notify: []string{"sms"}})
		if err != nil {
			t.Fatal(err)
		}
		last := d.History[len(d.History)-1]
		if d.Version != 2 || !d.Notify.Has(domain.NotifySMS) || last.Action != domain.HistorySetNotify {
			t.Errorf("after the change: version %d, consent %+v, last line %+v", d.Version, d.Notify, last)
		}
	})
}

// A day off recorded on a dossier's deadline moves the deadline and the
// next check, with a calendar_changed line.
func TestPutDayMovesTheDeadline(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, _ := setup(t, st)
		ctx := context.Background()
		res, err := svc.Intake(ctx, clerk, intakeCmd())
		if err != nil {
			t.Fatal(err)
		}
		due := *res.Dossier.DueAt()
		day := domain.DateOf(due)
		_, err = svc.PutDay(ctx, clerk, service.DayCmd{Date: day, Kind: domain.DayHoliday})
		wantKind(t, "a clerk", err, domain.Forbidden)
		_, err = svc.PutDay(ctx, admin, service.DayCmd{Date: day, Kind: "party"})
		wantKind(t, "an unknown kind", err, domain.Invalid)
		job, err := svc.PutDay(ctx, admin, service.DayCmd{Date: day, Kind: domain.DayHoliday, Name: "Nghỉ bù"})
		if err != nil {
			t.Fatal(err)
		}
		if !job.Done() || job.Moved != 1 {
			t.Fatalf("job %+v, want it done with the one dossier moved", job)
		}
		d, err := svc.Dossier(ctx, admin, res.Dossier.Code)
		if err != nil {
			t.Fatal(err)
		}
		last := d.History[len(d.History)-1]
		if !d.DueAt().After(due) || last.Action != domain.HistoryCalendarChanged || !sameTime(last.DueAt, d.DueAt()) {
			t.Errorf("deadline %v (was %v), last line %+v; want it moved, with a calendar_changed line", d.DueAt(), due, last)
		}
		cal, err := svc.Calendar(ctx, center)
		if err != nil {
			t.Fatal(err)
		}
		var want *time.Time
		for _, c := range d.Checks(cal, domain.DefaultDueSoonLead) {
			if want == nil || c.At.Before(*want) {
				at := c.At
				want = &at
			}
		}
		if !sameTime(d.NextCheckAt, want) {
			t.Errorf("next check %v, want %v on the new calendar", d.NextCheckAt, want)
		}
		if _, err := svc.DeleteDay(ctx, admin, day, ""); err != nil {
			t.Fatal(err)
		}
		if d, err = svc.Dossier(ctx, admin, res.Dossier.Code); err != nil || !d.DueAt().Equal(due) {
			t.Errorf("after the day was removed: deadline %v, %v; want %v again", d.DueAt(), err, due)
		}
	})
}

func TestDossierReadScope(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		svc, _ := setup(t, st)
		ctx := context.Background()
		res, err := svc.Intake(ctx, clerk, intakeCmd())
		if err != nil {
			t.Fatal(err)
		}
		code := res.Dossier.Code
		for _, tc := range []struct {
			name  string
			actor domain.Actor
			code  string
			kind  domain.Kind
		}{
			{"the receiving clerk", clerk, code, 0},
			{"the lead agency's officer", officer, code, 0},
			{"the province's supervisor", actor(domain.RoleSupervisor, root), code, 0},
			{"another province's supervisor", actor(domain.RoleSupervisor, foreign), code, domain.Forbidden},
			{"another province's clerk", actor(domain.RoleClerk, foreign), code, domain.Forbidden},
			{"a code that is no code", admin, "x", domain.NotFound},
			{"an unknown dossier", admin, center + "-260316-9999", domain.NotFound},
		} {
			d, err := svc.Dossier(ctx, tc.actor, tc.code)
			wantKind(t, tc.name, err, tc.kind)
			if tc.kind == 0 && (d == nil || d.Code != code) {
				t.Errorf("%s: read %+v", tc.name, d)
			}
		}
	})
}

package domain

import (
	"testing"
	"time"
)

// TestOverdueRule: the one overdue rule on a counter dossier of tProcedure
// (10 working days; step 1 two days at unit A) received and accepted Mon
// 16/3/2026 08:00: ten working days end at the last working minute of Fri
// 27/3 (17:00), step 1's two days at Tue 17/3 17:00. Every row is asked at
// Wed 1/4 10:00, after both.
func TestOverdueRule(t *testing.T) {
	t.Parallel()
	cal := NewCalendar(DefaultOfficeHours(), nil)
	officer := tOfficerA
	recv := vnAt(2026, 3, 16, 8, 0)
	ask := vnAt(2026, 4, 1, 10, 0)
	do := func(d *Dossier, a Action, at time.Time) {
		t.Helper()
		actor := officer
		if a == ActionTransfer || a == ActionReceiveSupplement || a == ActionReceivePayment || a == ActionWithdraw {
			actor = tClerk
		}
		if _, err := d.Apply(tInput(a, d, at), actor, at, cal, DefaultDueSoonLead); err != nil {
			t.Fatalf("%s at %s: %v", a, at, err)
		}
	}
	type step struct {
		a  Action
		at time.Time
	}
	for _, c := range []struct {
		name        string
		steps       []step
		overdue     bool // the dossier at ask
		stepOverdue bool // its held step at ask
		late        bool
	}{
		{"running past both deadlines", nil, true, true, true},
		{"paused with time left (Tue 17/3 10:00)", []step{{ActionRequestSupplement, vnAt(2026, 3, 17, 10, 0)}}, false, false, false},
		{"paused after the step's deadline, before the dossier's (Wed 18/3)", []step{{ActionRequestSupplement, vnAt(2026, 3, 18, 10, 0)}}, false, true, false},
		{"paused after both deadlines (Mon 30/3)", []step{{ActionRequestSupplement, vnAt(2026, 3, 30, 10, 0)}}, true, true, true},
		{"awaiting payment after both deadlines", []step{{ActionRequestPayment, vnAt(2026, 3, 30, 10, 0)}}, true, true, true},
		{"paused after, then resumed with a restarted clock (Tue 31/3)", []step{{ActionRequestSupplement, vnAt(2026, 3, 30, 10, 0)},
			{ActionReceiveSupplement, vnAt(2026, 3, 31, 10, 0)}}, false, false, false},
		{"withdrawn after the deadline", []step{{ActionWithdraw, vnAt(2026, 3, 30, 10, 0)}}, false, false, false},
	} {
		d, _ := Receive(IntakeInput{Procedure: tProcedure(ClockRestart), AgencyCode: tOneStop, Channel: ChannelCounter,
			Delivery: DeliveryCounter, Applicant: Applicant{Name: "Nguyễn Văn A", IDNumber: "001090000001"},
			ReceivedAt: recv}, tOneStop+"-260316-0001", "hash", cal, tClerk, recv, DefaultDueSoonLead)
		do(d, ActionTransfer, recv)
		for _, s := range c.steps {
			do(d, s.a, s.at)
		}
		if got := d.OverdueAt(ask); got != c.overdue {
			t.Errorf("%s: OverdueAt %v, want %v", c.name, got, c.overdue)
		}
		f := d.StepOverdueFrom(d.CurrentStep)
		if got := f != nil && f.Before(ask); got != c.stepOverdue {
			t.Errorf("%s: step overdue %v, want %v", c.name, got, c.stepOverdue)
		}
		if got := d.LateAt(ask); got != c.late {
			t.Errorf("%s: LateAt %v, want %v", c.name, got, c.late)
		}
		// The watcher's overdue check exists exactly when the rule says the
		// dossier is overdue at some instant while it stays as it is.
		hasOverdue := false
		for _, k := range d.Checks(cal, DefaultDueSoonLead) {
			if k.Kind == EventOverdue && k.At.Before(ask) {
				hasOverdue = true
			}
		}
		if hasOverdue != c.overdue {
			t.Errorf("%s: watcher's overdue check %v, want %v", c.name, hasOverdue, c.overdue)
		}
	}
	if got := RunningStatuses(); len(got) != 2 || got[0] != StatusReceived || got[1] != StatusProcessing {
		t.Errorf("RunningStatuses %v", got)
	}
}

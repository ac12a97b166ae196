package domain

import (
	"testing"
	"time"
)

// The operations that move a deadline plan the watcher's next look with
// it: the dossier they return is whole.
func TestOperationsPlanTheNextCheck(t *testing.T) {
	cal := NewCalendar(DefaultOfficeHours(), nil)
	const lead = 60
	recv := vnAt(2026, 3, 16, 9, 0)
	d, _ := Receive(IntakeInput{Procedure: tProcedure(ClockPause), AgencyCode: tOneStop, Channel: ChannelCounter,
		Delivery: DeliveryCounter, Applicant: Applicant{Name: "Nguyễn Văn A", IDNumber: "001090000001"},
		ReceivedAt: recv}, tOneStop+"-260316-0001", "hash", cal, tClerk, recv, lead)
	earliest := func() *time.Time {
		var out *time.Time
		for _, c := range d.Checks(cal, lead) {
			if out == nil || c.At.Before(*out) {
				at := c.At
				out = &at
			}
		}
		return out
	}
	same := func(what string) {
		t.Helper()
		want := earliest()
		if (d.NextCheckAt == nil) != (want == nil) || (want != nil && !d.NextCheckAt.Equal(*want)) {
			t.Errorf("%s: next check %v, want %v", what, d.NextCheckAt, want)
		}
	}
	same("received")
	if d.NextCheckAt == nil {
		t.Fatal("a received dossier has no next check")
	}

	// A day off on the day of the warning moves it, and the deadline.
	before := *d.NextCheckAt
	off := NewCalendar(DefaultOfficeHours(), []CalendarDay{{Date: DateOf(before), Kind: DayHoliday, Name: "Nghỉ"}})
	if _, moved := d.FollowCalendar(off, tAdmin, recv, "x", lead); !moved {
		t.Fatal("the day off did not move the deadline")
	}
	cal = off
	same("calendar changed")
	if !d.NextCheckAt.After(before) {
		t.Errorf("next check %v, want it moved on from %v", d.NextCheckAt, before)
	}

	for _, in := range []TransitionInput{{Action: ActionTransfer}, {Action: ActionStop, Reason: "dừng"}} {
		who := tClerk
		if in.Action == ActionStop {
			who = tAdmin
		}
		if _, err := d.Apply(in, who, recv.Add(time.Hour), cal, lead); err != nil {
			t.Fatal(err)
		}
		same(string(in.Action))
	}
	if d.NextCheckAt != nil {
		t.Errorf("a stopped dossier's next check %v, want none", d.NextCheckAt)
	}
}

func TestDueChecks(t *testing.T) {
	cal := NewCalendar(DefaultOfficeHours(), nil)
	recv := vnAt(2026, 3, 16, 9, 0)
	d, _ := Receive(IntakeInput{Procedure: tProcedure(ClockPause), AgencyCode: tOneStop, Channel: ChannelCounter,
		Delivery: DeliveryCounter, Applicant: Applicant{Name: "A", IDNumber: "1"}, ReceivedAt: recv},
		tOneStop+"-260316-0001", "hash", cal, tClerk, recv, 60)
	due := *d.Clock.DueAt
	var soon time.Time
	for _, c := range d.Checks(cal, 60) {
		if c.Kind == EventDueSoon {
			soon = c.At
		}
	}
	for _, tc := range []struct {
		now  time.Time
		due  []EventType
		next *time.Time
	}{
		{soon.Add(-time.Minute), nil, &soon},
		{soon, []EventType{EventDueSoon}, &due},
		{due, []EventType{EventDueSoon, EventOverdue}, nil},
	} {
		got, next := d.DueChecks(cal, 60, tc.now)
		var kinds []EventType
		for _, c := range got {
			kinds = append(kinds, c.Kind)
		}
		if len(kinds) != len(tc.due) || (len(kinds) > 0 && (kinds[0] != tc.due[0] || kinds[len(kinds)-1] != tc.due[len(tc.due)-1])) {
			t.Errorf("at %v: due %v, want %v", tc.now, kinds, tc.due)
		}
		if (next == nil) != (tc.next == nil) || (next != nil && !next.Equal(*tc.next)) {
			t.Errorf("at %v: next %v, want %v", tc.now, next, tc.next)
		}
	}
}

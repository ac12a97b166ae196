package domain

import (
	"strconv"
	"time"
)

// DefaultDueSoonLead is how long before a dossier's deadline the due_soon
// event goes out: one working day, so the unit can still send the apology
// that must reach the citizen at least one working day before the deadline
// (Circular 03/2025, form 4).
const DefaultDueSoonLead = MinutesPerWorkingDay

// Check is one deadline the watcher acts on: at At it publishes Kind, once
// per (dossier, kind, step, deadline).
type Check struct {
	Kind     EventType
	At       time.Time
	StepSeq  int       // 0 for the dossier's own deadlines
	Deadline time.Time // the deadline the event is about
}

// Checks lists the late-processing deadlines of a running dossier: due_soon
// lead working minutes before the legal deadline, overdue at it,
// extension_overdue at the promised time, and step_overdue at the current
// step's deadline. A finished or closed dossier has none, nor has one paused
// with time left (its clock does not run). One paused after its deadline
// passed is overdue by the one overdue rule (OverdueFrom): it keeps its
// overdue and step_overdue checks, so a pause taken before the watcher's
// pass never hides the event.
func (d *Dossier) Checks(cal *Calendar, lead int64) []Check {
	if !d.Status.Open() || d.Clock.DueAt == nil {
		return nil
	}
	if !d.Clock.Running() {
		var out []Check
		if f := d.OverdueFrom(); f != nil {
			out = append(out, Check{Kind: EventOverdue, At: *f, Deadline: *f})
		}
		if s := d.Current(); s != nil {
			if f := d.StepOverdueFrom(s.Seq); f != nil {
				out = append(out, Check{Kind: EventStepOverdue, At: *f, StepSeq: s.Seq, Deadline: *f})
			}
		}
		return out
	}
	due := *d.Clock.DueAt
	soon := *d.Clock.RunningSince
	if left := d.Clock.Budget - d.Clock.Used; left > lead {
		soon = cal.Add(*d.Clock.RunningSince, left-lead)
	}
	if soon.After(due) {
		soon = due
	}
	out := []Check{{Kind: EventDueSoon, At: soon, Deadline: due}, {Kind: EventOverdue, At: due, Deadline: due}}
	if e := d.Extension; e != nil {
		out = append(out, Check{Kind: EventExtensionOverdue, At: e.NewDueAt, Deadline: e.NewDueAt})
	}
	if s := d.Current(); s != nil && s.Clock.Running() && s.Clock.DueAt != nil {
		out = append(out, Check{Kind: EventStepOverdue, At: *s.Clock.DueAt, StepSeq: s.Seq, Deadline: *s.Clock.DueAt})
	}
	return out
}

// planNextCheck sets NextCheckAt to the earliest check, past ones included:
// the watcher claims each check once, so looking again is harmless, and a
// check that fell due between two commands is never skipped. Every
// operation that can move a deadline ends with it, so the dossier it
// returns is whole.
func (d *Dossier) planNextCheck(cal *Calendar, lead int64) {
	d.NextCheckAt = nil
	for _, c := range d.Checks(cal, lead) {
		if d.NextCheckAt == nil || c.At.Before(*d.NextCheckAt) {
			at := c.At
			d.NextCheckAt = &at
		}
	}
}

// DueChecks splits the dossier's checks at now for the deadline watcher:
// those whose time has come, and the instant of the earliest one still to
// come (nil when none is left), the watcher's next look.
func (d *Dossier) DueChecks(cal *Calendar, lead int64, now time.Time) (due []Check, next *time.Time) {
	for _, c := range d.Checks(cal, lead) {
		if !c.At.After(now) {
			due = append(due, c)
			continue
		}
		if next == nil || c.At.Before(*next) {
			at := c.At
			next = &at
		}
	}
	return due, next
}

// LateEvent builds the late-processing event of a check, with the working
// hours past its deadline at now (0 before it) and a key that makes its id
// the same every time it is published.
func (d *Dossier) LateEvent(c Check, cal *Calendar, now time.Time) Event {
	e := d.event(c.Kind, now)
	due := c.Deadline
	e.DueAt = &due
	if c.StepSeq > 0 && c.StepSeq <= len(d.Steps) {
		e.Step = d.Steps[c.StepSeq-1].Name
		// The step's unit is the one late: the subject names it.
		e.HolderCode = d.Steps[c.StepSeq-1].AgencyCode
	}
	h := WorkingHours(cal.Between(due, now))
	e.OverdueWorkingHours = &h
	e.Key = d.Code + "|" + string(c.Kind) + "|" + strconv.Itoa(c.StepSeq) + "|" + due.UTC().Format(time.RFC3339Nano)
	return e
}

// CompletedLate returns the completed_late event when the dossier's result
// was made after its legal deadline (in the same transaction as the result).
func (d *Dossier) CompletedLate(cal *Calendar) (Event, bool) {
	if d.ProcessedAt == nil || d.Verdict != VerdictLate || d.Clock.DueAt == nil {
		return Event{}, false
	}
	e := d.LateEvent(Check{Kind: EventCompletedLate, At: *d.ProcessedAt, Deadline: *d.Clock.DueAt}, cal, *d.ProcessedAt)
	return e, true
}

// Publishes reports whether the check's event is still worth publishing at
// now: a due_soon warning whose deadline has already passed (a dossier
// imported late, a watcher that was down) is not; the overdue event of the
// same deadline says what happened.
func (c Check) Publishes(now time.Time) bool {
	return c.Kind != EventDueSoon || now.Before(c.Deadline)
}

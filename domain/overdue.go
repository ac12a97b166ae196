package domain

import "time"

// The one overdue rule (docs/reports.md, "One overdue rule"). A dossier is
// overdue at an instant when it is open then (received, processing,
// supplement requested, awaiting payment) and its clock had used more than
// its budget by then, that is: its legal deadline passed while the clock ran.
// A pause stops the clock: a dossier paused with time left is not overdue
// while paused; one paused after its deadline stays overdue. A step is
// overdue by the same rule on its own allotment while its unit holds it.
//
// Everything that answers "overdue" derives from OverdueFrom and
// OpenStatuses: the dossier's late flag, the deadline watcher's checks, and
// the SQL of the list filter, the overdue list and its history (storage
// keeps OverdueFrom in a column and compares it with the instant).

// openStatuses are the statuses of a received dossier with no result that
// was not closed: its clock is the agency's concern.
var openStatuses = [...]Status{StatusReceived, StatusProcessing, StatusSupplementRequested, StatusAwaitingPayment}

// OpenStatuses lists the open statuses in code order.
func OpenStatuses() []Status { return append([]Status(nil), openStatuses[:]...) }

// RunningStatuses lists the open statuses in which the clock runs (open and
// not paused): received and processing.
func RunningStatuses() []Status {
	var out []Status
	for _, s := range openStatuses {
		if !s.Paused() {
			out = append(out, s)
		}
	}
	return out
}

// overdueFrom applies the rule to one clock: the deadline of a running
// clock, or of a clock stopped at stoppedAt after its deadline had passed;
// nil for a clock stopped with time left or one with no deadline.
func overdueFrom(c TimeBudget, stoppedAt *time.Time) *time.Time {
	if c.DueAt == nil {
		return nil
	}
	if c.Running() || (stoppedAt != nil && c.DueAt.Before(*stoppedAt)) {
		due := *c.DueAt
		return &due
	}
	return nil
}

// pausedAt is when the open pause of an open, paused dossier began, or nil.
func (d *Dossier) pausedAt() *time.Time {
	if !d.Status.Open() || !d.Status.Paused() {
		return nil
	}
	if p := d.OpenPause(); p != nil {
		at := p.StartedAt
		return &at
	}
	return nil
}

// OverdueFrom is the instant after which the dossier counts as overdue for
// as long as it stays as it is now: its legal deadline when its clock runs,
// or when it was paused after that deadline; nil when it is not open or is
// paused with time left (so it is overdue at t exactly when t is after
// OverdueFrom).
func (d *Dossier) OverdueFrom() *time.Time {
	if !d.Status.Open() {
		return nil
	}
	return overdueFrom(d.Clock, d.pausedAt())
}

// OverdueAt reports whether the dossier is overdue at t, as it stands now
// (t not before its last change).
func (d *Dossier) OverdueAt(t time.Time) bool {
	f := d.OverdueFrom()
	return f != nil && f.Before(t)
}

// StepOverdueFrom is OverdueFrom for the step held now (seq), on its own
// allotment: nil for any other step, or when the dossier is not open.
func (d *Dossier) StepOverdueFrom(seq int) *time.Time {
	s := d.Current()
	if s == nil || s.Seq != seq || !d.Status.Open() || s.FinishedAt != nil {
		return nil
	}
	return overdueFrom(s.Clock, d.pausedAt())
}

package domain

import "time"

// TimeBudget is the working time allowed plus the working time already used, from which the
// deadline is derived (the ticketing-SLA model of docs/domain.md: no counter can
// drift, because the deadline is always recomputed from budget, use and the
// calendar). It serves a dossier and each of its steps.
type TimeBudget struct {
	Budget int64 // working minutes allowed
	Used   int64 // working minutes used before the running segment
	// RunningSince is when the running segment began; nil while stopped.
	RunningSince *time.Time
	// DueAt is the deadline the clock last gave; kept while paused so history
	// stays explainable.
	DueAt *time.Time
}

// Running reports whether the clock is counting.
func (c TimeBudget) Running() bool { return c.RunningSince != nil }

// Start starts (or resumes) counting at t.
func (c *TimeBudget) Start(cal *Calendar, t time.Time) {
	at := t
	c.RunningSince = &at
	c.Recompute(cal)
}

// Restart gives the full budget again from t (a complete supplement under a
// procedure whose clock restarts).
func (c *TimeBudget) Restart(cal *Calendar, t time.Time) {
	c.Used = 0
	c.Start(cal, t)
}

// Resume starts counting again at t after a pause: with the full budget
// again when restart (Restart), with what was left otherwise (Start).
func (c *TimeBudget) Resume(cal *Calendar, t time.Time, restart bool) {
	if restart {
		c.Restart(cal, t)
		return
	}
	c.Start(cal, t)
}

// Stop stops counting at t, keeping the time used.
func (c *TimeBudget) Stop(cal *Calendar, t time.Time) {
	if c.RunningSince == nil {
		return
	}
	c.Used += cal.Between(*c.RunningSince, t)
	c.RunningSince = nil
}

// UsedAt returns the working minutes used up to t.
func (c TimeBudget) UsedAt(cal *Calendar, t time.Time) int64 {
	if c.RunningSince == nil {
		return c.Used
	}
	return c.Used + cal.Between(*c.RunningSince, t)
}

// Recompute derives the deadline again from the calendar, so a newly
// recorded day off moves it. A clock already past its budget keeps the
// deadline it passed.
func (c *TimeBudget) Recompute(cal *Calendar) {
	if c.RunningSince == nil {
		return
	}
	left := c.Budget - c.Used
	if left <= 0 && c.DueAt != nil {
		return
	}
	if left < 0 {
		left = 0
	}
	due := cal.Add(*c.RunningSince, left)
	c.DueAt = &due
}

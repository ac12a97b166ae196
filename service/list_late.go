package service

import (
	"time"

	"github.com/motcua/motcua/domain"
)

// LateQuery narrows the dossier list to the dossiers behind a count of the
// lateness report (docs/reports.md, Lateness): those with a step finished
// late by the unit (and officer) on a day of [From, To]; with First, those
// finished late in the period whose first late step was theirs
// (dossiers_late).
type LateQuery struct {
	Unit, Officer string
	From, To      *domain.Date // inclusive local days; both required
	First         bool
}

// LateFilter is a LateQuery as the store applies it: [From, To) instants.
type LateFilter struct {
	Unit, Sub string
	From, To  time.Time
	First     bool
}

// maxOfficerLen bounds late_officer (a token's sub).
const maxOfficerLen = 200

// lateFilter checks a LateQuery; nil when there is none.
func lateFilter(q *LateQuery, f *domain.Fields) *LateFilter {
	if q == nil {
		return nil
	}
	if q.Unit == "" && q.Officer == "" {
		if q.First || q.From != nil || q.To != nil {
			f.Add("late_unit", "late_unit or late_officer is required with from, to and late_first")
		}
		return nil
	}
	if q.Unit != "" && !domain.ValidAgencyCode(q.Unit) {
		f.Add("late_unit", "is not an agency code")
	}
	if len(q.Officer) > maxOfficerLen {
		f.Add("late_officer", "must be at most 200 characters")
	}
	if q.From == nil {
		f.Add("from", "is required with late_unit or late_officer")
	}
	if q.To == nil {
		f.Add("to", "is required with late_unit or late_officer")
	}
	if q.From == nil || q.To == nil {
		return nil
	}
	if q.To.Before(*q.From) {
		f.Add("from", "must not be after to")
	}
	return &LateFilter{Unit: q.Unit, Sub: q.Officer, From: q.From.Time(), To: q.To.AddDays(1).Time(), First: q.First}
}

// lateInScope refuses a lateness filter's unit outside the actor's scope,
// as the list refuses agency_code.
func lateInScope(l *LateFilter, scope domain.Scope) error {
	if l != nil && l.Unit != "" && !scope.Has(l.Unit) {
		return domain.Forbiddenf("agency %s is not yours to see", l.Unit)
	}
	return nil
}

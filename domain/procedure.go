package domain

import (
	"math"
	"strconv"
	"time"
)

// SupplementClock says what a supplement request does to the clock.
type SupplementClock string

// Supplement clock rules, per procedure.
const (
	ClockRestart SupplementClock = "restart"
	ClockPause   SupplementClock = "pause"
)

// Online is how far a procedure is offered online.
type Online string

// Online levels.
const (
	OnlineFull    Online = "full"
	OnlinePartial Online = "partial"
	OnlineNone    Online = "none"
)

// Offered reports whether the procedure takes online dossiers.
func (o Online) Offered() bool { return o == OnlineFull || o == OnlinePartial }

// DurationUnit is the unit a procedure's statutory time is given in.
type DurationUnit string

// Duration units of a procedure (docs/api.md; handlers/openapi.yaml).
const (
	UnitWorkingDays  DurationUnit = "working_days"
	UnitWorkingHours DurationUnit = "working_hours"
)

// MaxWorkingMinutes caps any duration at 1,000 working days.
const MaxWorkingMinutes = 1000 * MinutesPerWorkingDay

// StepDef is one processing step of a procedure: the unit that holds it and its
// allotment in working minutes.
type StepDef struct {
	Name       string
	AgencyCode string
	Minutes    int64
}

// Procedure is one version of an administrative procedure. A change to its
// terms makes a new version; a dossier keeps the version it was received under
// (Decree 118/2025, art. on procedure publication).
type Procedure struct {
	Code            string
	Version         int
	Name            string
	AgencyCode      string
	Unit            DurationUnit
	Amount          float64 // in Unit
	Minutes         int64   // the statutory time in working minutes
	SupplementClock SupplementClock
	Online          Online
	Steps           []StepDef
	CreatedAt       time.Time
}

// DurationMinutes converts an amount in a unit to working minutes: working
// days in half days, working hours in whole minutes.
func DurationMinutes(unit DurationUnit, amount float64) (int64, error) {
	if math.IsNaN(amount) || math.IsInf(amount, 0) || amount <= 0 {
		return 0, Invalidf("duration must be greater than 0")
	}
	var m float64
	switch unit {
	case UnitWorkingDays:
		if amount*2 != math.Trunc(amount*2) {
			return 0, Invalidf("working days must be whole or half days")
		}
		m = amount * MinutesPerWorkingDay
	case UnitWorkingHours:
		m = amount * 60
		if m != math.Trunc(m) {
			return 0, Invalidf("working hours must be whole minutes")
		}
	default:
		return 0, Invalidf("unknown duration unit %q", unit)
	}
	if m > MaxWorkingMinutes {
		return 0, Invalidf("duration is over 1000 working days")
	}
	return int64(m), nil
}

// Normalize fills defaults: with no steps, one step held by the procedure's
// agency for the whole time.
func (p *Procedure) Normalize() {
	if p.SupplementClock == "" {
		p.SupplementClock = ClockRestart
	}
	if p.Online == "" {
		p.Online = OnlineNone
	}
	if len(p.Steps) == 0 && p.Minutes > 0 {
		p.Steps = []StepDef{{Name: "Xử lý hồ sơ", AgencyCode: p.AgencyCode, Minutes: p.Minutes}}
	}
}

// Validate checks a procedure version: codes, a duration above zero, and step
// allotments each above zero adding up to the statutory time.
func (p Procedure) Validate() error {
	var f Fields
	if !ValidProcedureCode(p.Code) {
		f.Add("code", "must be a procedure code such as 1.001445 or 1.000948.H38")
	}
	if p.Name == "" || len(p.Name) > 500 {
		f.Add("name", "is required (at most 500 characters)")
	}
	if !ValidAgencyCode(p.AgencyCode) {
		f.Add("agency_code", "is not a valid agency code")
	}
	if m, err := DurationMinutes(p.Unit, p.Amount); err != nil {
		f.Add("duration", "%s", err.(*Error).Detail)
	} else if m != p.Minutes {
		f.Add("duration", "does not match its minutes")
	}
	switch p.SupplementClock {
	case ClockRestart, ClockPause:
	default:
		f.Add("supplement_clock", "must be restart or pause")
	}
	switch p.Online {
	case OnlineFull, OnlinePartial, OnlineNone:
	default:
		f.Add("online", "must be full, partial or none")
	}
	var sum int64
	for i, s := range p.Steps {
		if s.Name == "" || len(s.Name) > 300 {
			f.Add(stepField(i, "name"), "is required")
		}
		if !ValidAgencyCode(s.AgencyCode) {
			f.Add(stepField(i, "agency_code"), "is not a valid agency code")
		}
		if s.Minutes <= 0 {
			f.Add(stepField(i, "working_hours"), "must be greater than 0")
		}
		sum += s.Minutes
	}
	if len(p.Steps) > 50 {
		f.Add("steps", "at most 50 steps")
	}
	if len(p.Steps) > 0 && sum != p.Minutes && p.Minutes > 0 {
		f.Add("steps", "allotments add up to %s working hours, the duration is %s", hours(sum), hours(p.Minutes))
	}
	return f.Err()
}

// SameTerms reports whether q has the same terms as p, so saving it again
// needs no new version.
func (p Procedure) SameTerms(q Procedure) bool {
	if p.Name != q.Name || p.AgencyCode != q.AgencyCode || p.Unit != q.Unit || p.Amount != q.Amount ||
		p.Minutes != q.Minutes || p.SupplementClock != q.SupplementClock || p.Online != q.Online ||
		len(p.Steps) != len(q.Steps) {
		return false
	}
	for i := range p.Steps {
		if p.Steps[i] != q.Steps[i] {
			return false
		}
	}
	return true
}

func stepField(i int, name string) string {
	return "steps[" + strconv.Itoa(i) + "]." + name
}

// hours formats working minutes as working hours for messages.
func hours(min int64) string {
	return strconv.FormatFloat(float64(min)/60, 'f', -1, 64)
}

// WorkingHours converts working minutes to working hours.
func WorkingHours(min int64) float64 { return float64(min) / 60 }

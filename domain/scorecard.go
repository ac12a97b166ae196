package domain

import (
	"math"
	"time"
)

// The scorecard of Decision 766/QĐ-TTg (2022): each agency scored on 100
// points in six groups, from the formulas the national dashboard applies
// (docs/reports.md, "The scorecard"). An indicator the data cannot measure
// has no value and its points are left out of the measured maximum, never
// counted as 0 or as full.

// ScoreInputs are one agency's counts for one period.
type ScoreInputs struct {
	// Set is S of 2.1: dossiers received in the period, plus those received
	// earlier and finished in it; OnTime those of S on time by 2.1's rule
	// (ended no later than the legal deadline, at most one supplement
	// request); LowRated those of S rated 1 or 2.
	Set, OnTime, LowRated int64
	// Processed results made in the period, and the working minutes their
	// clocks ran (2.2).
	Processed, ProcessingMinutes int64
	// Procedures of the agency in force at the period's end, those offered
	// online, and those offered online with an online dossier received in
	// the period (3.1, 3.2).
	Procedures, OnlineProcedures, OnlineProceduresUsed int64
	// Received and ReceivedOnline in the period (3.3).
	Received, ReceivedOnline int64
	// Paid: dossiers with a payment received in the period; PaidOnline
	// those received online (3.6).
	Paid, PaidOnline int64
	// PortalSynced is 1.4's share, nil while the national portal sync's
	// state is not available; PortalReason then says why.
	PortalSynced *float64
	PortalReason string
}

// Indicator is one line of the scorecard.
type Indicator struct {
	ID          string
	Name        string
	Value       *float64 // a fraction; 2.2 working hours; nil: not measured
	Points      *float64 // unrounded; nil when not measured
	MaxPoints   float64
	NotMeasured string // why Value is nil
}

// ScoreGroup is one of the six groups.
type ScoreGroup struct {
	Name              string
	MaxPoints         float64
	Points            float64 // rounded to 2 decimals
	MeasuredMaxPoints float64
	Indicators        []Indicator
}

// Scorecard is one agency's score for one period.
type Scorecard struct {
	Groups            []ScoreGroup
	Points            float64 // rounded to 2 decimals
	MaxPoints         float64
	MeasuredMaxPoints float64
}

// Reasons an indicator is not measured.
const (
	NotMeasuredPublishing = "procedure publishing is not recorded in this system"
	NotMeasuredPortal     = "the national portal sync is not configured (DVCQG_URL)"
	NotMeasuredPayments   = "online payment channels are not recorded in this system"
	NotMeasuredDigitised  = "no digitised documents yet"
	NotMeasuredPetitions  = "petitions and feedback handling are not recorded in this system"
	NotMeasuredNoData     = "no dossier, procedure or payment in the period to measure"
)

// PortalShare is indicator 1.4's value: of the dossiers received in the
// period, the share whose record reached the national portal; nil with the
// reason when nothing was received.
func PortalShare(synced, received int64) (*float64, string) {
	if v := fraction(synced, received); v != nil {
		return v, ""
	}
	return nil, NotMeasuredNoData
}

// fraction is num/den unrounded (points are rounded only in the sums), nil
// when den is 0.
func fraction(num, den int64) *float64 {
	if den == 0 {
		return nil
	}
	v := float64(num) / float64(den)
	return &v
}

// indicator builds a measured indicator from its value and point formula,
// or an unmeasured one when the value is nil.
func indicator(id, name string, max float64, v *float64, points func(v float64) float64) Indicator {
	in := Indicator{ID: id, Name: name, MaxPoints: max, Value: v}
	if v == nil {
		in.NotMeasured = NotMeasuredNoData
		return in
	}
	p := points(*v)
	in.Points = &p
	return in
}

func unmeasured(id, name string, max float64, why string) Indicator {
	return Indicator{ID: id, Name: name, MaxPoints: max, NotMeasured: why}
}

// Score computes the scorecard from one agency's counts.
func Score(in ScoreInputs) Scorecard {
	onTime := fraction(in.OnTime, in.Set)
	var handling *float64
	if in.Set > 0 {
		v := 1 - (float64(in.Set-in.OnTime)+float64(in.LowRated))/float64(in.Set)
		v = math.Max(0, v)
		handling = &v
	}
	var avgHours *float64
	if in.Processed > 0 {
		v := float64(in.ProcessingMinutes) / float64(in.Processed) / 60
		avgHours = &v
	}
	portal := Indicator{ID: "1.4", Name: "Đồng bộ hồ sơ lên Cổng Dịch vụ công quốc gia", MaxPoints: 6, Value: in.PortalSynced}
	if in.PortalSynced == nil {
		portal.NotMeasured = in.PortalReason
		if portal.NotMeasured == "" {
			portal.NotMeasured = NotMeasuredPortal
		}
	} else {
		p := 6 * *in.PortalSynced
		portal.Points = &p
	}
	avg := Indicator{ID: "2.2", Name: "Thời gian giải quyết trung bình (giờ làm việc)", MaxPoints: 0, Value: avgHours}
	if avgHours == nil {
		avg.NotMeasured = NotMeasuredNoData
	} else {
		zero := 0.0
		avg.Points = &zero
	}
	groups := []ScoreGroup{
		{Name: "Công khai, minh bạch", MaxPoints: 18, Indicators: []Indicator{
			unmeasured("1.1-1.3", "Công khai thủ tục hành chính", 12, NotMeasuredPublishing), portal}},
		{Name: "Tiến độ, kết quả giải quyết", MaxPoints: 20, Indicators: []Indicator{
			indicator("2.1", "Hồ sơ giải quyết đúng hạn", 20, onTime, func(v float64) float64 { return 20 * v }), avg}},
		{Name: "Dịch vụ trực tuyến", MaxPoints: 12, Indicators: []Indicator{
			indicator("3.1", "Thủ tục cung cấp trực tuyến", 2, fraction(in.OnlineProcedures, in.Procedures),
				func(v float64) float64 { return math.Min(2, 2*v/0.8) }),
			indicator("3.2", "Thủ tục trực tuyến có phát sinh hồ sơ trực tuyến", 4, fraction(in.OnlineProceduresUsed, in.OnlineProcedures),
				func(v float64) float64 { return 4 * v }),
			indicator("3.3", "Hồ sơ tiếp nhận trực tuyến", 6, fraction(in.ReceivedOnline, in.Received),
				func(v float64) float64 { return math.Min(6, 6*v/0.5) })}},
		{Name: "Thanh toán trực tuyến", MaxPoints: 10, Indicators: []Indicator{
			unmeasured("3.4-3.5", "Cung cấp và tích hợp thanh toán trực tuyến", 4, NotMeasuredPayments),
			indicator("3.6", "Hồ sơ thanh toán trực tuyến", 6, fraction(in.PaidOnline, in.Paid), func(v float64) float64 { return 6 * v })}},
		{Name: "Số hóa hồ sơ", MaxPoints: 22, Indicators: []Indicator{
			unmeasured("4", "Số hóa hồ sơ, kết quả giải quyết", 22, NotMeasuredDigitised)}},
		{Name: "Mức độ hài lòng", MaxPoints: 18, Indicators: []Indicator{
			unmeasured("5.1-5.3", "Tiếp nhận, xử lý phản ánh, kiến nghị", 12, NotMeasuredPetitions),
			indicator("5.4", "Mức độ hài lòng trong giải quyết hồ sơ", 6, handling, func(v float64) float64 { return math.Min(6, 6*v/0.9) })}},
	}
	var sc Scorecard
	var total float64
	for i := range groups {
		g := &groups[i]
		var sum float64
		for _, in := range g.Indicators {
			if in.Points != nil {
				sum += *in.Points
				g.MeasuredMaxPoints += in.MaxPoints
			}
		}
		total += sum
		g.Points = round2(sum)
		sc.MaxPoints += g.MaxPoints
		sc.MeasuredMaxPoints += g.MeasuredMaxPoints
	}
	sc.Groups = groups
	sc.Points = round2(total)
	return sc
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// The scorecard's roll-ups (docs/reports.md, "The scorecard's roll-ups"):
// indicator 2.1's set S and 5.4's low ratings for a period of whole months P
// decompose into counters keyed by the month of the event and the month of a
// second instant of the same dossier, its reception (or, for a rating, its
// result). With m the event's month and k that second month:
//
//	|S|      = Σ_{m∈P} finished + Σ_{m∈P, k∈P} (received − finished)
//	late     = Σ_{m∈P} finished_late + Σ_{m∈P, k∈P} late_delta
//	low      = Σ_{m∈P, k∈P} rated_low
//
// finished are the received dossiers leaving the open state (result, stop,
// refusal, withdrawal), finished_late those late at that moment; late_delta
// is the state "open and late" (overdue by the one overdue rule, or a second
// supplement request), dated like StatOverdue (at the instant it begins,
// even a future one; undone when the stretch ends), so the sum over the
// months of P of a dossier received in P is 1 when it is open and late at
// P's end. A rating is given after the result, so a rated dossier of S
// rated before P's end had its result in P.

// ScoreCounter is one counter of the scorecard roll-ups.
type ScoreCounter uint8

// The counters; their names are the roll-up columns.
const (
	ScoreReceived ScoreCounter = iota
	ScoreFinished
	ScoreFinishedLate
	ScoreLateDelta
	ScoreRatedLow
	// NumScoreCounters is the number of counters.
	NumScoreCounters
)

var scoreCounterNames = [NumScoreCounters]string{"received", "finished", "finished_late", "late_delta", "rated_low"}

// Name is the counter's roll-up column.
func (c ScoreCounter) Name() string { return scoreCounterNames[c] }

// ScoreCounts is one value per scorecard counter.
type ScoreCounts [NumScoreCounters]int64

// ScoreDelta moves one counter on one local date, for a dossier whose
// second instant (reception, or the result for a rating) is on Since.
type ScoreDelta struct {
	Day, Since Date
	Counter    ScoreCounter
	N          int64
}

// LateFrom is the instant from which the stretch counts as late for 2.1:
// from its start with a second supplement request; otherwise when it is
// overdue by the one overdue rule (a running clock's deadline, or the start
// of a pause that began after the deadline); nil when never in the stretch.
func (s *StatState) LateFrom() *time.Time {
	if s == nil {
		return nil
	}
	since := s.Since
	switch {
	case s.Supplements > 1:
		return &since
	case s.Paused:
		if s.DueAt != nil && s.DueAt.Before(s.Since) {
			return &since
		}
		return nil
	}
	return s.OverdueFrom()
}

// ScoreStep gives the scorecard counters one history line moves, from the
// dossier's state before it (prev) and after it (next, as StatStep returns).
func ScoreStep(f StatFacts, prev, next *StatState, h HistoryEntry) []ScoreDelta {
	var out []ScoreDelta
	add := func(t time.Time, since time.Time, c ScoreCounter, n int64) {
		out = append(out, ScoreDelta{Day: DateOf(t), Since: DateOf(since), Counter: c, N: n})
	}
	if h.Action == HistoryRate && f.Rating >= MinRating && f.Rating <= 2 && f.ProcessedAt != nil {
		add(h.At, *f.ProcessedAt, ScoreRatedLow, 1)
	}
	if next == prev {
		return out
	}
	if prev == nil {
		add(next.Received, next.Received, ScoreReceived, 1)
	} else {
		x := prev.LateFrom()
		late := x != nil && x.Before(h.At)
		switch {
		case late:
			add(h.At, prev.Received, ScoreLateDelta, -1) // it was late: it leaves the state now
		case x != nil:
			add(*x, prev.Received, ScoreLateDelta, -1) // it never was: cancel the entry
		}
		if next == nil {
			if h.To == StatusProcessed {
				late = f.Verdict == VerdictLate || prev.Supplements > 1 // a result: its verdict
			}
			add(h.At, prev.Received, ScoreFinished, 1)
			if late {
				add(h.At, prev.Received, ScoreFinishedLate, 1)
			}
		}
	}
	if x := next.LateFrom(); next != nil && x != nil {
		add(*x, next.Received, ScoreLateDelta, 1)
	}
	return out
}

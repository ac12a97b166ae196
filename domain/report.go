package domain

import (
	"math"
	"time"
)

// The service-quality figures (docs/reports.md; the
// indicators of Decision 766/QĐ-TTg and the periodic reports of Circular
// 03/2025/TT-VPCP) are counted from roll-ups: for each local date and group
// (lead agency, procedure), counters that one dossier's history moves.
//
// Flow counters (received, processed, ...) count what happened on that date.
// State counters (open, paused, overdue) hold deltas: the number of dossiers
// in a state at the end of a date D is the sum of the deltas of every date up
// to D. A state that begins at instant x counts from the end of x's date on
// (at a midnight T it counts when x < T), and one that ends at instant y
// stops counting from the end of y's date on; so a period's figures "at its
// start" and "at its end" are exact at local midnight.
//
// Overdue is a state too: a dossier whose clock runs against the legal
// deadline u since instant s becomes overdue at max(s, u). Its +1 is dated at
// that instant's date when the clock starts, even when that date is still to
// come; when the running stretch ends at instant c (a pause, a result, a
// closure, or a new deadline: a resumed clock or a recorded day off), the
// entry is undone: -1 at c's date if the dossier had become overdue before c,
// otherwise -1 at the entry's own date, which cancels it.

// StatCounter is one counter of the roll-ups.
type StatCounter uint8

// The counters; their names are the roll-up columns.
const (
	// StatReceived counts dossiers whose counting began: counter and postal
	// ones at intake (their received_at), online ones at acceptance.
	StatReceived StatCounter = iota
	StatReceivedOnline
	StatReceivedPostal
	// StatReceivedByPost counts the received that came by post or asked for
	// the result by post (the numerator of postal_share).
	StatReceivedByPost
	// StatProcessed counts results made (approved or denied), split by the
	// verdict against the legal deadline.
	StatProcessed
	StatProcessedEarly
	StatProcessedOnTime
	StatProcessedLate
	// StatProcessingMinutes sums, over the processed, the working minutes
	// the legal clock ran up to the result.
	StatProcessingMinutes
	// StatWithdrawn counts received dossiers withdrawn by the applicant.
	StatWithdrawn
	// StatStopped counts received dossiers stopped, and received dossiers
	// refused after reception (StatRefusedAfterReception, counted in both).
	StatStopped
	StatRefusedAfterReception
	// StatReturnedPostal counts results returned by post.
	StatReturnedPostal
	// StatApologies counts extensions (apologies with a new appointment);
	// StatApologiesLate those recorded less than one working day before the
	// legal deadline, or after it.
	StatApologies
	StatApologiesLate
	// StatRatings counts citizens' ratings; StatRatingsSatisfied those of 4 or 5.
	StatRatings
	StatRatingsSatisfied
	// StatOpen, StatPaused and StatOverdue are state deltas.
	StatOpen
	StatPaused
	StatOverdue
	// NumStatCounters is the number of counters.
	NumStatCounters
)

var statCounterNames = [NumStatCounters]string{
	"received", "received_online", "received_postal", "received_by_post",
	"processed", "processed_early", "processed_on_time", "processed_late", "processing_minutes",
	"withdrawn", "stopped", "refused_after_reception", "returned_postal",
	"apologies", "apologies_late", "ratings", "ratings_satisfied",
	"open_delta", "paused_delta", "overdue_delta",
}

// Name is the counter's roll-up column.
func (c StatCounter) Name() string { return statCounterNames[c] }

// StatFacts are what the roll-ups need of a dossier besides its history
// lines. Each is set once and never changes afterwards, so the dossier as it
// stands now answers for every line of its past.
type StatFacts struct {
	Channel       Channel
	Delivery      Delivery
	ReceivedAt    time.Time
	Verdict       Verdict // at the result
	UsedMinutes   int64   // the legal clock's working minutes at the result
	ExtensionLate bool
	ReturnMethod  Delivery
	Rating        int
	ProcessedAt   *time.Time // the result (the scorecard keys a rating by it)
}

// StatFactsOf reads the facts of a dossier.
func StatFactsOf(d *Dossier) StatFacts {
	f := StatFacts{Channel: d.Channel, Delivery: d.Delivery, ReceivedAt: d.ReceivedAt, Verdict: d.Verdict,
		UsedMinutes: d.Clock.Used, ReturnMethod: d.ReturnMethod, Rating: d.Rating, ProcessedAt: d.ProcessedAt}
	if d.Extension != nil {
		f.ExtensionLate = d.Extension.Late
	}
	return f
}

// StatState is where a received, open dossier stands for the roll-ups: since
// when it is in its current stretch, paused or running, and against which
// legal deadline it runs; when it was received (counting began) and how many
// supplement requests it had (the scorecard's 2.1). A closed (or never
// received) dossier has none.
type StatState struct {
	Since       time.Time
	Paused      bool
	DueAt       *time.Time
	Received    time.Time
	Supplements int
}

// OverdueFrom is the instant a running stretch becomes overdue, or nil.
func (s *StatState) OverdueFrom() *time.Time {
	if s == nil || s.Paused || s.DueAt == nil {
		return nil
	}
	t := *s.DueAt
	if s.Since.After(t) {
		t = s.Since
	}
	return &t
}

// StatDelta moves one counter on one local date.
type StatDelta struct {
	Day     Date
	Counter StatCounter
	N       int64
}

// StatStep applies one history line of a dossier to the roll-ups: it returns
// the dossier's state after the line and the counters the line moves. prev
// is the state before (nil when the dossier was not open). Lines without a
// status (To 0) change no state; an open, running line without a deadline
// keeps the deadline it had.
func StatStep(f StatFacts, prev *StatState, h HistoryEntry) (*StatState, []StatDelta) {
	var out []StatDelta
	add := func(t time.Time, c StatCounter, n int64) {
		out = append(out, StatDelta{Day: DateOf(t), Counter: c, N: n})
	}
	statFlows(f, h, add)
	next := statNext(f, prev, h)
	if next != prev {
		statStates(prev, next, h.At, add)
	}
	return next, out
}

// statFlows counts the flows of one line (docs/reports.md, "How each figure
// is counted").
func statFlows(f StatFacts, h HistoryEntry, add func(time.Time, StatCounter, int64)) {
	at := h.At
	switch {
	case h.To == StatusReceived && (h.From == 0 || h.From == StatusNew):
		t := at // acceptance of an online dossier
		if h.From == 0 {
			t = f.ReceivedAt // intake at the counter or by post (or an import)
		}
		statReceived(f, t, add)
	case h.To == StatusRefused && h.From != 0 && h.From != StatusNew:
		add(at, StatStopped, 1)
		add(at, StatRefusedAfterReception, 1)
	case h.To == StatusWithdrawn && h.From != 0 && h.From != StatusNew && h.From != StatusWithdrawn:
		add(at, StatWithdrawn, 1)
	case h.To == StatusStopped && h.From != StatusStopped:
		add(at, StatStopped, 1)
	case h.To == StatusProcessed && h.From != StatusProcessed:
		statProcessed(f, at, add)
	case h.To == StatusReturned && h.From == StatusProcessed:
		if f.ReturnMethod == DeliveryPostal {
			add(at, StatReturnedPostal, 1)
		}
	}
	statActionFlows(f, h, add)
}

// statActionFlows counts the flows of a line's action: apologies, ratings.
func statActionFlows(f StatFacts, h HistoryEntry, add func(time.Time, StatCounter, int64)) {
	at := h.At
	switch h.Action {
	case ActionExtend.History():
		add(at, StatApologies, 1)
		if f.ExtensionLate {
			add(at, StatApologiesLate, 1)
		}
	case HistoryRate:
		add(at, StatRatings, 1)
		if f.Rating >= 4 {
			add(at, StatRatingsSatisfied, 1)
		}
	}
}

func statReceived(f StatFacts, t time.Time, add func(time.Time, StatCounter, int64)) {
	add(t, StatReceived, 1)
	if f.Channel == ChannelOnline {
		add(t, StatReceivedOnline, 1)
	}
	if f.Channel == ChannelPostal {
		add(t, StatReceivedPostal, 1)
	}
	if f.Channel == ChannelPostal || f.Delivery == DeliveryPostal {
		add(t, StatReceivedByPost, 1)
	}
}

func statProcessed(f StatFacts, at time.Time, add func(time.Time, StatCounter, int64)) {
	add(at, StatProcessed, 1)
	switch f.Verdict {
	case VerdictEarly:
		add(at, StatProcessedEarly, 1)
	case VerdictLate:
		add(at, StatProcessedLate, 1)
	default:
		add(at, StatProcessedOnTime, 1)
	}
	if f.UsedMinutes != 0 {
		add(at, StatProcessingMinutes, f.UsedMinutes)
	}
}

// statNext is the dossier's state after the line: prev itself when the
// line changes nothing the roll-ups keep.
func statNext(f StatFacts, prev *StatState, h HistoryEntry) *StatState {
	if h.To == 0 {
		return prev
	}
	if !h.To.Open() {
		return nil
	}
	paused := h.To.Paused()
	due := h.DueAt
	if due == nil && prev != nil {
		due = prev.DueAt
	}
	if prev != nil && prev.Paused == paused && (paused || sameInstant(prev.DueAt, due)) {
		return prev
	}
	since := h.At
	if prev == nil && h.From == 0 {
		since = f.ReceivedAt
	}
	next := &StatState{Since: since, Paused: paused, DueAt: copyTime(due), Received: since}
	if prev != nil {
		next.Received, next.Supplements = prev.Received, prev.Supplements
	}
	if h.To == StatusSupplementRequested && h.From != StatusSupplementRequested {
		next.Supplements++
	}
	return next
}

// statStates moves the state deltas from prev to next at instant at.
func statStates(prev, next *StatState, at time.Time, add func(time.Time, StatCounter, int64)) {
	if prev == nil {
		add(next.Since, StatOpen, 1)
	} else {
		if prev.Paused {
			add(at, StatPaused, -1)
		} else if x := prev.OverdueFrom(); x != nil {
			if x.Before(at) {
				add(at, StatOverdue, -1) // it was overdue: it leaves the state now
			} else {
				add(*x, StatOverdue, -1) // it never was: cancel the entry
			}
		}
		if next == nil {
			add(at, StatOpen, -1)
		}
	}
	if next != nil {
		if next.Paused {
			add(next.Since, StatPaused, 1)
		} else if x := next.OverdueFrom(); x != nil {
			add(*x, StatOverdue, 1)
		}
	}
}

func sameInstant(a, b *time.Time) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Equal(*b)
}

// StatCounts is one value per counter.
type StatCounts [NumStatCounters]int64

// Add adds o to c.
func (c *StatCounts) Add(o StatCounts) {
	for i := range c {
		c[i] += o[i]
	}
}

// Figures are the service-quality figures of one group of dossiers for one
// period (docs/reports.md defines each).
type Figures struct {
	Received, ReceivedOnline, ReceivedPostal, ReceivedByPost  int64
	CarriedOver                                               int64
	Processed, ProcessedEarly, ProcessedOnTime, ProcessedLate int64
	ProcessingMinutes                                         int64
	Withdrawn, Stopped, RefusedAfterReception                 int64
	InProgress, Paused, InProgressOverdue                     int64
	ReturnedPostal, Apologies, ApologiesLate                  int64
	Ratings, RatingsSatisfied                                 int64
	OnlineProcedures, OnlineProceduresUsed                    int64
}

// NewFigures builds the figures from the flows summed over the period's
// dates, the state counters summed over every date before the period
// (atStart) and over every date up to the period's end (atEnd).
func NewFigures(flows, atStart, atEnd StatCounts) Figures {
	return Figures{
		Received: flows[StatReceived], ReceivedOnline: flows[StatReceivedOnline], ReceivedPostal: flows[StatReceivedPostal],
		ReceivedByPost: flows[StatReceivedByPost], CarriedOver: atStart[StatOpen],
		Processed: flows[StatProcessed], ProcessedEarly: flows[StatProcessedEarly], ProcessedOnTime: flows[StatProcessedOnTime],
		ProcessedLate: flows[StatProcessedLate], ProcessingMinutes: flows[StatProcessingMinutes],
		Withdrawn: flows[StatWithdrawn], Stopped: flows[StatStopped], RefusedAfterReception: flows[StatRefusedAfterReception],
		InProgress: atEnd[StatOpen], Paused: atEnd[StatPaused], InProgressOverdue: atEnd[StatOverdue],
		ReturnedPostal: flows[StatReturnedPostal], Apologies: flows[StatApologies], ApologiesLate: flows[StatApologiesLate],
		Ratings: flows[StatRatings], RatingsSatisfied: flows[StatRatingsSatisfied],
	}
}

// Add adds the counts of g (a total over groups).
func (f *Figures) Add(g Figures) {
	f.Received += g.Received
	f.ReceivedOnline += g.ReceivedOnline
	f.ReceivedPostal += g.ReceivedPostal
	f.ReceivedByPost += g.ReceivedByPost
	f.CarriedOver += g.CarriedOver
	f.Processed += g.Processed
	f.ProcessedEarly += g.ProcessedEarly
	f.ProcessedOnTime += g.ProcessedOnTime
	f.ProcessedLate += g.ProcessedLate
	f.ProcessingMinutes += g.ProcessingMinutes
	f.Withdrawn += g.Withdrawn
	f.Stopped += g.Stopped
	f.RefusedAfterReception += g.RefusedAfterReception
	f.InProgress += g.InProgress
	f.Paused += g.Paused
	f.InProgressOverdue += g.InProgressOverdue
	f.ReturnedPostal += g.ReturnedPostal
	f.Apologies += g.Apologies
	f.ApologiesLate += g.ApologiesLate
	f.Ratings += g.Ratings
	f.RatingsSatisfied += g.RatingsSatisfied
	f.OnlineProcedures += g.OnlineProcedures
	f.OnlineProceduresUsed += g.OnlineProceduresUsed
}

// IsZero reports whether every count is zero.
func (f Figures) IsZero() bool { return f == Figures{} }

// InProgressOnTime are the open dossiers at the period's end that are
// neither paused nor past their legal deadline.
func (f Figures) InProgressOnTime() int64 { return f.InProgress - f.Paused - f.InProgressOverdue }

// Balanced reports whether carried_over + received = processed + withdrawn +
// stopped + in_progress, which holds for every group and period.
func (f Figures) Balanced() bool {
	return f.CarriedOver+f.Received == f.Processed+f.Withdrawn+f.Stopped+f.InProgress
}

// OnTimeRate is (early + on time) / processed, nil without results.
func (f Figures) OnTimeRate() *float64 { return share(f.ProcessedEarly+f.ProcessedOnTime, f.Processed) }

// AvgProcessingWorkingHours is the mean working hours the legal clock ran
// up to the result, nil without results; rounded to 0.01.
func (f Figures) AvgProcessingWorkingHours() *float64 {
	if f.Processed == 0 {
		return nil
	}
	v := math.Round(float64(f.ProcessingMinutes)/60/float64(f.Processed)*100) / 100
	return &v
}

// OnlineShare is received_online / received.
func (f Figures) OnlineShare() *float64 { return share(f.ReceivedOnline, f.Received) }

// PostalShare is the received that came or asked for the result by post,
// over received.
func (f Figures) PostalShare() *float64 { return share(f.ReceivedByPost, f.Received) }

// SatisfiedShare is ratings of 4 or 5 over ratings.
func (f Figures) SatisfiedShare() *float64 { return share(f.RatingsSatisfied, f.Ratings) }

// share is n/d rounded to four decimals, nil when d is 0.
func share(n, d int64) *float64 {
	if d == 0 {
		return nil
	}
	v := math.Round(float64(n)/float64(d)*10000) / 10000
	return &v
}

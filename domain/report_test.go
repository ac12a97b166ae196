package domain

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// statLedger accumulates deltas by date.
type statLedger map[Date]*StatCounts

func (l statLedger) add(ds []StatDelta) {
	for _, d := range ds {
		c := l[d.Day]
		if c == nil {
			c = &StatCounts{}
			l[d.Day] = c
		}
		c[d.Counter] += d.N
	}
}

// upTo sums every date up to and including day.
func (l statLedger) upTo(day Date) StatCounts {
	var out StatCounts
	for d, c := range l {
		if !day.Before(d) {
			out.Add(*c)
		}
	}
	return out
}

// between sums the dates from..to.
func (l statLedger) between(from, to Date) StatCounts {
	var out StatCounts
	for d, c := range l {
		if !d.Before(from) && !to.Before(d) {
			out.Add(*c)
		}
	}
	return out
}

// live applies a change as the store does: each history line in turn.
func live(l statLedger, d *Dossier, st *StatState, ch Change) *StatState {
	for _, h := range ch.History {
		var ds []StatDelta
		st, ds = StatStep(StatFactsOf(d), st, h)
		l.add(ds)
	}
	return st
}

// bruteState says, from the whole history, whether the dossier was open,
// paused and overdue at instant t: the last status line before t decides
// (a reception counts from received_at), and overdue means running against a
// deadline before t.
func bruteState(d *Dossier, t time.Time) (open, paused, overdue bool) {
	var last *HistoryEntry
	for i := range d.History {
		h := &d.History[i]
		when := h.At
		if h.From == 0 && h.To == StatusReceived {
			when = d.ReceivedAt
		}
		if h.To != 0 && when.Before(t) {
			last = h
		}
	}
	if last == nil || !last.To.Open() {
		return false, false, false
	}
	if last.To == StatusSupplementRequested || last.To == StatusAwaitingPayment {
		return true, true, false
	}
	due := last.DueAt
	return true, false, due != nil && due.Before(t)
}

func TestStatStepScenario(t *testing.T) {
	t.Parallel()
	cal := NewCalendar(DefaultOfficeHours(), nil)
	p := tProcedure(ClockPause)
	p.Minutes, p.Amount = 2*MinutesPerWorkingDay, 2
	p.Steps = []StepDef{{"Xử lý", tUnitA, 2 * MinutesPerWorkingDay}}
	// Monday 16/3/2026 09:00 at the counter, result by post: due Wednesday 18/3 09:00.
	recv := vnAt(2026, 3, 16, 9, 0)
	d, ch := Receive(IntakeInput{Procedure: p, AgencyCode: tOneStop, Channel: ChannelCounter, Delivery: DeliveryPostal,
		Applicant: Applicant{Name: "A", IDNumber: "1"}, ReceivedAt: recv}, tOneStop+"-260316-0001", "h", cal, tClerk, recv, DefaultDueSoonLead)
	d.History = append(d.History, ch.History...)
	l := statLedger{}
	st := live(l, d, nil, ch)
	day := func(m time.Month, dd int) Date { return Date{2026, m, dd} }
	want := func(what string, got, w StatCounts) {
		t.Helper()
		if got != w {
			t.Fatalf("%s:\n got %v\nwant %v", what, got, w)
		}
	}
	var w StatCounts
	w[StatReceived], w[StatReceivedByPost], w[StatOpen] = 1, 1, 1
	want("16/3", l.between(day(3, 16), day(3, 16)), w)
	want("entry on the due date", *l[day(3, 18)], StatCounts{StatOverdue: 1})

	apply := func(a Action, at time.Time) {
		t.Helper()
		ch, err := d.Apply(tInput(a, d, at), tAdmin, at, cal, DefaultDueSoonLead)
		if err != nil {
			t.Fatal(err)
		}
		st = live(l, d, st, ch)
	}
	apply(ActionTransfer, vnAt(2026, 3, 16, 10, 0))
	// Paused Tuesday 17/3 10:00 with 7 working hours left, resumed Friday 20/3 08:00: due 20/3 16:00.
	apply(ActionRequestSupplement, vnAt(2026, 3, 17, 10, 0))
	want("pause cancels the entry of 18/3", *l[day(3, 18)], StatCounts{})
	want("17/3", *l[day(3, 17)], StatCounts{StatPaused: 1})
	apply(ActionReceiveSupplement, vnAt(2026, 3, 20, 8, 0))
	if d.Clock.DueAt == nil || !d.Clock.DueAt.Equal(vnAt(2026, 3, 20, 16, 0)) {
		t.Fatalf("due %v", d.Clock.DueAt)
	}
	want("20/3", *l[day(3, 20)], StatCounts{StatPaused: -1, StatOverdue: 1})
	// Still open on Monday 23/3 at 10:00: overdue since the end of Friday.
	apply(ActionExtend, vnAt(2026, 3, 23, 10, 0))
	apply(ActionCompleteStep, vnAt(2026, 3, 24, 11, 0))
	w = StatCounts{}
	w[StatApologies], w[StatApologiesLate] = 1, 1
	want("23/3", *l[day(3, 23)], w)
	w = StatCounts{}
	w[StatProcessed], w[StatProcessedLate], w[StatProcessingMinutes], w[StatOpen], w[StatOverdue] = 1, 1, d.Clock.Used, -1, -1
	want("24/3", *l[day(3, 24)], w)
	if d.Clock.Used != (7+2+8+8+3)*60 { // Mon 7 h, Tue 2 h, then Fri, Mon and Tue 3 h
		t.Fatalf("used %d minutes", d.Clock.Used)
	}
	apply(ActionReturnResult, vnAt(2026, 3, 25, 9, 0))
	if st != nil {
		t.Fatalf("state after the result: %+v", st)
	}
	// The ledger's states match the history at every midnight.
	for dd := day(3, 15); dd.Before(day(3, 31)); dd = dd.AddDays(1) {
		s := l.upTo(dd)
		open, paused, overdue := bruteState(d, dd.AddDays(1).Time())
		if s[StatOpen] != b2i(open) || s[StatPaused] != b2i(paused) || s[StatOverdue] != b2i(overdue) {
			t.Errorf("end of %v: open %d paused %d overdue %d, want %v %v %v", dd, s[StatOpen], s[StatPaused], s[StatOverdue], open, paused, overdue)
		}
	}
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// TestStatStepRandomWalks drives dossiers through random actions at random
// times (some exactly at midnight, some imported with a past received_at)
// and checks, at every midnight, that the state counters summed up to it
// equal what the history says, and that the flows add up to the identity.
func TestStatStepRandomWalks(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 11))
	cal := NewCalendar(DefaultOfficeHours(), nil)
	moved, overdue := 0, 0
	defer func() {
		if moved < 20 || overdue < 50 {
			t.Errorf("the walks moved %d deadlines and were overdue at %d midnights: too few to mean much", moved, overdue)
		}
	}()
	for walk := range 400 {
		rule := ClockPause
		if walk%2 == 0 {
			rule = ClockRestart
		}
		p := tProcedure(rule)
		if walk%3 == 0 { // short procedures go late
			p.Minutes, p.Amount = 4*60, 0.5
			p.Steps = []StepDef{{"A", tUnitA, 2 * 60}, {"B", tUnitB, 2 * 60}}
		}
		channel := []Channel{ChannelCounter, ChannelOnline, ChannelPostal}[rng.IntN(3)]
		now := vnAt(2026, 3, 2, 0, 0).Add(time.Duration(rng.IntN(30*24*60)) * time.Minute)
		recv := now
		if rng.IntN(5) == 0 {
			recv = now.Add(-time.Duration(rng.IntN(20*24*60)) * time.Minute) // an import
		}
		d, ch := Receive(IntakeInput{Procedure: p, AgencyCode: tOneStop, Channel: channel, Delivery: DeliveryCounter,
			Applicant: Applicant{Name: "A", IDNumber: "1"}, ReceivedAt: recv}, fmt.Sprintf("%s-260302-%04d", tOneStop, walk+1), "h", cal, tAdmin, now, DefaultDueSoonLead)
		d.History = append(d.History, ch.History...)
		l := statLedger{}
		st := live(l, d, nil, ch)
		for range rng.IntN(14) {
			acts := d.AllowedActions(tAdmin)
			if len(acts) == 0 {
				break
			}
			switch rng.IntN(4) {
			case 0:
				now = now.Add(time.Duration(rng.IntN(120)) * time.Minute)
			case 1:
				now = DateOf(now).AddDays(1 + rng.IntN(3)).Time() // exactly midnight
			default:
				now = now.Add(time.Duration(rng.IntN(4*24*60)) * time.Minute)
			}
			a := acts[rng.IntN(len(acts))]
			ch, err := d.Apply(tInput(a, d, now), tAdmin, now, cal, DefaultDueSoonLead)
			if err != nil {
				continue // e.g. an extension whose date no longer fits
			}
			st = live(l, d, st, ch)
			if rng.IntN(3) == 0 && d.Clock.Running() {
				// A recorded day off moves the running deadline.
				now = now.Add(time.Minute)
				off := NewCalendar(DefaultOfficeHours(), []CalendarDay{{Date: DateOf(*d.Clock.DueAt), Kind: DayHoliday}})
				if ch, ok := d.FollowCalendar(off, tAdmin, now, "x", DefaultDueSoonLead); ok {
					d.History = append(d.History, ch.History...) // Apply appends its line; FollowCalendar leaves it to storage
					st = live(l, d, st, ch)
					moved++
				}
			}
		}
		first := DateOf(recv).AddDays(-2)
		last := DateOf(now).AddDays(60)
		for dd := first; dd.Before(last); dd = dd.AddDays(1) {
			s := l.upTo(dd)
			open, paused, late := bruteState(d, dd.AddDays(1).Time())
			overdue += int(b2i(late))
			if s[StatOpen] != b2i(open) || s[StatPaused] != b2i(paused) || s[StatOverdue] != b2i(late) {
				t.Fatalf("walk %d, end of %v: open %d paused %d overdue %d, want %v %v %v\nhistory %+v", walk, dd,
					s[StatOpen], s[StatPaused], s[StatOverdue], open, paused, late, d.History)
			}
		}
		// Any split of the dates into a period balances.
		cut := first.AddDays(rng.IntN(max(1, int(DateOf(now).Time().Sub(first.Time()).Hours()/24)+2)))
		end := cut.AddDays(rng.IntN(20))
		f := NewFigures(l.between(cut, end), l.upTo(cut.AddDays(-1)), l.upTo(end))
		if !f.Balanced() || f.InProgressOnTime() < 0 {
			t.Fatalf("walk %d, %v..%v: %+v", walk, cut, end, f)
		}
		if st != nil && !d.Status.Open() || st == nil && d.Status.Open() {
			t.Fatalf("walk %d: state %+v for %s", walk, st, d.Status)
		}
	}
}

func TestFiguresShares(t *testing.T) {
	t.Parallel()
	f := Figures{Received: 3, ReceivedOnline: 1, ReceivedByPost: 2, Processed: 4, ProcessedEarly: 1, ProcessedOnTime: 2,
		ProcessedLate: 1, ProcessingMinutes: 4*60 + 30, Ratings: 0}
	if *f.OnTimeRate() != 0.75 || *f.OnlineShare() != 0.3333 || *f.PostalShare() != 0.6667 || f.SatisfiedShare() != nil ||
		*f.AvgProcessingWorkingHours() != 1.13 {
		t.Fatalf("%v %v %v %v %v", *f.OnTimeRate(), *f.OnlineShare(), *f.PostalShare(), f.SatisfiedShare(), *f.AvgProcessingWorkingHours())
	}
	var zero Figures
	if zero.OnTimeRate() != nil || zero.AvgProcessingWorkingHours() != nil || zero.OnlineShare() != nil || !zero.IsZero() {
		t.Fatal("zero denominators give nil")
	}
	names := map[string]bool{}
	for c := range NumStatCounters {
		if c.Name() == "" || names[c.Name()] {
			t.Fatalf("counter %d has no or a duplicate name", c)
		}
		names[c.Name()] = true
	}
	if !slices.Contains(statCounterNames[:], "overdue_delta") {
		t.Fatal("names")
	}
}

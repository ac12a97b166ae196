package seed

import (
	"math"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
)

// workingAfter returns the instant minutes of working time after t.
func workingAfter(cal *domain.Calendar, t time.Time, minutes float64) time.Time {
	return cal.Add(t, int64(math.Max(0, minutes)))
}

// life is one dossier being simulated: the actions taken so far, the last
// one's instant, and whether the life goes on (false once an action would
// fall after Now, or the domain refused it).
type life struct {
	w     *worker
	rng   *rand.Rand
	cal   *domain.Calendar
	now   time.Time
	d     *domain.Dossier
	t     time.Time
	ok    bool
	spans store.OverdueTrack
}

// simulate runs one dossier's life from its reception at t0 until its end
// or Now, and appends its rows to b.
func (w *worker) simulate(b *batch, sp *proc, t0 time.Time, channel domain.Channel) {
	d, pin := w.receive(b, sp, t0, channel)
	l := &life{w: w, rng: w.rng, cal: sp.cal, now: w.g.o.Now, d: d, t: t0, ok: true}
	l.spans.Step(d, t0)
	l.intake(channel)
	for l.ok && d.Status == domain.StatusProcessing && l.step() {
	}
	if l.ok && d.Status == domain.StatusProcessed {
		l.deliver(b)
	}
	// The watcher's next look: the first check after Now (earlier ones count
	// as done).
	d.NextCheckAt = nil
	for _, c := range d.Checks(sp.cal, domain.DefaultDueSoonLead) {
		if c.At.After(l.now) && (d.NextCheckAt == nil || c.At.Before(*d.NextCheckAt)) {
			at := c.At
			d.NextCheckAt = &at
		}
	}
	if d.Verdict == domain.VerdictLate {
		b.Late++
	}
	if d.Extension != nil {
		b.Extended++
	}
	if len(d.Pauses) > 0 {
		b.Supplemented++
	}
	w.tally.Add(b.rows, d, sp.idx, &l.spans)
	if len(b.samples) == 0 && b.day.Day == 1 {
		b.samples = append(b.samples, Sample{Code: d.Code, PIN: pin, Status: d.Status.String()})
	}
}

// receive takes a dossier in at t0: how its result goes back, its code,
// PIN and applicant.
func (w *worker) receive(b *batch, sp *proc, t0 time.Time, channel domain.Channel) (*domain.Dossier, string) {
	g, rng := w.g, w.rng
	delivery := domain.DeliveryCounter
	switch r := rng.Float64(); {
	case r < 0.10:
		delivery = domain.DeliveryPostal
	case channel == domain.ChannelOnline && r < 0.45:
		delivery = domain.DeliveryOnline
	}
	if channel == domain.ChannelPostal && rng.Float64() < 0.7 {
		delivery = domain.DeliveryPostal
	}
	recv := g.agencies[sp.receiving].Code
	if b.seqs == nil {
		b.seqs = map[int]int64{}
	}
	b.seqs[sp.receiving]++
	code := domain.DossierCode(recv, t0.In(domain.Vietnam()), b.seqs[sp.receiving])
	pin := pad(rng.IntN(100_000_000), 8)
	var salt [16]byte
	for i := range salt {
		salt[i] = byte(rng.UintN(256))
	}
	pinHash := g.hashPIN(salt[:], pin)
	name := seedFamily[rng.IntN(len(seedFamily))] + " " + seedMiddle[rng.IntN(len(seedMiddle))] + " " + seedGiven[rng.IntN(len(seedGiven))]
	in := domain.IntakeInput{Procedure: sp.p, AgencyCode: recv, Channel: channel, Delivery: delivery,
		Applicant: domain.Applicant{Name: name, IDNumber: "0" + pad(rng.IntN(96), 2) + pad(rng.IntN(1_000_000_000), 9),
			Phone: "09" + pad(rng.IntN(100_000_000), 8)},
		Documents: []string{"Tờ khai", "Bản sao giấy tờ tùy thân"}, ReceivedAt: t0}
	d, ch := domain.Receive(in, code, pinHash, sp.cal, g.admin, t0, domain.DefaultDueSoonLead)
	d.History = ch.History
	return d, pin
}

// act takes an action at an instant (not before the last one); it fails,
// and ends the life, when the instant is after Now or the domain refuses.
func (l *life) act(at time.Time, in domain.TransitionInput) bool {
	if !l.ok || at.After(l.now) {
		l.ok = false
		return false
	}
	if at.Before(l.t) {
		at = l.t
	}
	actor := l.w.g.admin
	if s := l.d.Current(); s != nil && in.Action == domain.ActionCompleteStep {
		// One of five officers of the step's unit finishes it: the
		// lateness report per officer reads them.
		k := l.rng.IntN(5)
		actor = domain.Actor{Sub: "can-bo-" + strconv.Itoa(k+1) + "@" + s.AgencyCode, Name: seedFamily[k%len(seedFamily)] + " " +
			seedMiddle[k%len(seedMiddle)] + " " + seedGiven[(k+len(s.AgencyCode))%len(seedGiven)], Roles: actor.Roles}
	}
	if _, err := l.d.Apply(in, actor, at, l.cal, domain.DefaultDueSoonLead); err != nil {
		l.ok = false
		return false
	}
	l.t = at
	l.spans.Step(l.d, at)
	return true
}

// after returns the instant minutes of working time after the last action.
func (l *life) after(minutes float64) time.Time { return workingAfter(l.cal, l.t, minutes) }

func reason(a domain.Action) domain.TransitionInput {
	return domain.TransitionInput{Action: a, Reason: "Theo đề nghị"}
}

// intake accepts an online dossier (or refuses it, or it is withdrawn) and
// transfers a received one to processing.
func (l *life) intake(channel domain.Channel) {
	rng := l.rng
	if channel == domain.ChannelOnline {
		at := l.after(rng.Float64() * 6 * 60)
		switch r := rng.Float64(); {
		case r < 0.006:
			l.act(at, reason(domain.ActionRefuse))
		case r < 0.009:
			l.act(at, reason(domain.ActionWithdraw))
		default:
			l.act(at, domain.TransitionInput{Action: domain.ActionAccept})
		}
	}
	if l.ok && l.d.Status == domain.StatusReceived {
		switch r := rng.Float64(); {
		case r < 0.003:
			l.act(l.after(30), reason(domain.ActionRefuse))
		case r < 0.006:
			l.act(l.after(60), reason(domain.ActionWithdraw))
		default:
			l.act(l.after(5+rng.Float64()*85), domain.TransitionInput{Action: domain.ActionTransfer})
		}
	}
}

// step has the unit holding the dossier work on its step: maybe a request
// for a supplement (first step) or a payment (last step), a withdrawal or
// stop, an extension when it runs over, then the step done. It returns
// false when the processing ends otherwise.
func (l *life) step() bool {
	rng, d := l.rng, l.d
	s := d.Current()
	// How long the unit works on the step, as a share of its allotment:
	// most finish within it, some run over.
	var f float64
	switch r := rng.Float64(); {
	case r < 0.78:
		f = 0.1 + 0.7*rng.Float64()
	case r < 0.96:
		f = 0.8 + 0.15*rng.Float64()
	default:
		f = 1 + 1.5*rng.Float64()
	}
	work := f * float64(s.Clock.Budget)
	done := 0.0
	if s.Seq == 1 && rng.Float64() < 0.07 {
		var goOn bool
		if done, goOn = l.supplement(work); !goOn {
			return false
		}
	}
	if s.Seq == len(d.Steps) && rng.Float64() < 0.05 {
		x := (work - done) * 0.5
		if !l.act(l.after(x), domain.TransitionInput{Action: domain.ActionRequestPayment, Amount: 50_000, Reason: "Phí, lệ phí"}) {
			return false
		}
		done += x
		if !l.act(l.after((0.1+2*rng.Float64())*domain.MinutesPerWorkingDay), domain.TransitionInput{Action: domain.ActionReceivePayment, Method: seedPayMethod(rng)}) {
			return false
		}
	}
	switch r := rng.Float64(); {
	case r < 0.008:
		l.act(l.after((work-done)/2), reason(domain.ActionWithdraw))
	case r < 0.012:
		l.act(l.after((work-done)/2), reason(domain.ActionStop))
	}
	if !l.ok || d.Status != domain.StatusProcessing {
		return false
	}
	finish := l.after(work - done)
	if !l.extend(finish) {
		return false
	}
	in := domain.TransitionInput{Action: domain.ActionCompleteStep}
	if s.Seq == len(d.Steps) {
		in.Result = domain.ResultApproved
		if rng.Float64() < 0.08 {
			in.Result = domain.ResultDenied
		}
	}
	l.act(finish, in)
	return true
}

// supplement asks for a supplement after some of the work; the applicant
// brings it, or not within 15 working days and the dossier stops. It
// returns the work done that still counts, and false when the processing
// ends.
func (l *life) supplement(work float64) (float64, bool) {
	rng := l.rng
	x := work * 0.3
	if !l.act(l.after(x), domain.TransitionInput{Action: domain.ActionRequestSupplement,
		Reason: "Hồ sơ chưa đầy đủ", Items: []string{"Bản sao có chứng thực"}}) {
		return 0, false
	}
	wait := (0.5 + 14*rng.Float64()*rng.Float64()) * domain.MinutesPerWorkingDay
	if rng.Float64() < 0.08 {
		wait = 16 * domain.MinutesPerWorkingDay
	}
	if wait >= 15*domain.MinutesPerWorkingDay {
		l.act(l.after(15*domain.MinutesPerWorkingDay), domain.TransitionInput{Action: domain.ActionStop, Reason: domain.ReasonUnsupplemented})
		return 0, false
	}
	if !l.act(l.after(wait), domain.TransitionInput{Action: domain.ActionReceiveSupplement}) {
		return 0, false
	}
	if l.d.SupplementClock == domain.ClockRestart {
		return 0, true
	}
	return x, true
}

// extend has a unit that will finish after the deadline extend it (four
// times in ten), before the deadline or up to two working days late. It
// returns false when the processing ends.
func (l *life) extend(finish time.Time) bool {
	rng, d, cal := l.rng, l.d, l.cal
	due := d.Clock.DueAt
	if due == nil || !finish.After(*due) || d.Extension != nil || rng.Float64() >= 0.4 {
		return true
	}
	at := l.after(math.Max(0, float64(cal.Between(l.t, *due))-rng.Float64()*2*domain.MinutesPerWorkingDay))
	nd := workingAfter(cal, *due, (2+8*rng.Float64())*domain.MinutesPerWorkingDay)
	if nd.Before(finish) && rng.Float64() < 0.7 {
		nd = workingAfter(cal, finish, domain.MinutesPerWorkingDay)
	}
	nd = nd.Truncate(time.Minute)
	l.act(at, domain.TransitionInput{Action: domain.ActionExtend, Reason: "Cần xác minh thêm", NewDueAt: &nd})
	return l.ok
}

// deliver returns the result the way the applicant chose, and a quarter
// of those who got it rate the service.
func (l *life) deliver(b *batch) {
	rng, d := l.rng, l.d
	if !l.act(l.after((0.1+3*rng.Float64())*domain.MinutesPerWorkingDay), domain.TransitionInput{Action: domain.ActionReturnResult, Method: d.Delivery}) {
		return
	}
	b.Returned++
	if rng.Float64() >= 0.25 {
		return
	}
	at := l.after(rng.Float64() * 5 * domain.MinutesPerWorkingDay)
	if at.After(l.now) {
		return
	}
	rating := []int{5, 5, 5, 5, 5, 5, 4, 4, 4, 4, 4, 3, 3, 2, 1}[rng.IntN(15)]
	ch, err := d.Rate(rating, "", at)
	if err != nil {
		return
	}
	d.History = append(d.History, ch.History...)
	b.Rated++
}

// pad writes n with at least width digits.
func pad(n, width int) string {
	s := strconv.Itoa(n)
	for len(s) < width {
		s = "0" + s
	}
	return s
}

// seedPayMethod picks how a payment is received: online for about 60%.
func seedPayMethod(rng *rand.Rand) domain.Delivery {
	if rng.Float64() < 0.6 {
		return domain.Delivery(domain.PaymentOnline)
	}
	return domain.Delivery(domain.PaymentCounter)
}

// day simulates the n receptions of one local date, with a random source of
// its own (so the data do not depend on how days are spread over workers).
func (w *worker) day(date domain.Date, n int) *batch {
	w.rng = rand.New(rand.NewPCG(w.g.o.Seed, uint64(date.DayNumber())))
	w.tally = store.NewBulkTally()
	b := &batch{day: date, rows: store.NewBulkBatch(n), tally: w.tally}
	for range n {
		sp, channel, ok := w.draw(date)
		if !ok {
			continue
		}
		t0 := w.receivedAt(sp, channel, date)
		if t0.After(w.g.o.Now) {
			continue
		}
		w.simulate(b, sp, t0, channel)
	}
	return b
}

// draw picks a procedure by weight and how the dossier comes in; on a day
// the unit is closed only online dossiers come in (the dossier code carries
// the day of reception), so it draws again for one that is offered online,
// and gives up (false) after 20 tries.
func (w *worker) draw(date domain.Date) (*proc, domain.Channel, bool) {
	g := w.g
	sp := g.procs[g.alias.draw(w.rng)]
	channel := domain.ChannelCounter
	switch r := w.rng.Float64(); {
	case sp.p.Online.Offered() && r < 0.45:
		channel = domain.ChannelOnline
	case r < 0.53:
		channel = domain.ChannelPostal
	}
	for tries := 0; channel != domain.ChannelOnline && !sp.cal.IsWorkingDay(date) && tries < 20; tries++ {
		if sp = g.procs[g.alias.draw(w.rng)]; sp.p.Online.Offered() {
			channel = domain.ChannelOnline
		}
	}
	return sp, channel, channel == domain.ChannelOnline || sp.cal.IsWorkingDay(date)
}

// receivedAt is when the dossier comes in: online at any hour; at the
// counter or from the post office within the receiving unit's hours of the
// day, or its next working morning.
func (w *worker) receivedAt(sp *proc, channel domain.Channel, date domain.Date) time.Time {
	start := date.Time()
	var t0 time.Time
	if channel == domain.ChannelOnline {
		t0 = start.Add(time.Duration(w.rng.Int64N(int64(24 * time.Hour))))
	} else {
		open := sp.cal.CountingStart(start)
		end := workingAfter(sp.cal, open, 7*60)
		t0 = sp.cal.CountingStart(open.Add(time.Duration(w.rng.Int64N(int64(end.Sub(open))))))
		if domain.DateOf(t0) != date { // a short day (Saturday morning)
			t0 = open
		}
	}
	return t0.UTC().Truncate(time.Microsecond)
}

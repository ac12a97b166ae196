package domain

import (
	"strconv"
	"strings"
	"time"
)

// Applicant is the person or organisation behind a dossier: personal data,
// shown to staff only.
type Applicant struct {
	Name     string
	IDNumber string
	Phone    string
	Email    string
	Address  string
}

// Step is one processing step of a dossier, copied from its procedure version
// at intake, with its own clock from its allotment.
type Step struct {
	Seq        int // 1-based
	Name       string
	AgencyCode string
	Clock      TimeBudget
	StartedAt  *time.Time
	FinishedAt *time.Time
	Verdict    Verdict
}

// PauseKind says why a clock stood still.
type PauseKind string

// Pause kinds.
const (
	PauseSupplement PauseKind = "supplement"
	PausePayment    PauseKind = "payment"
)

// PaymentMethod is how the applicant's payment was received (Decision
// 766/QĐ-TTg, indicator 3.6 counts the online ones).
type PaymentMethod string

// Payment methods; counter is the default.
const (
	PaymentCounter PaymentMethod = "counter"
	PaymentOnline  PaymentMethod = "online"
)

// Pause is one interval in which the dossier's clock stood still (or, for a
// restarting supplement, after which it began again), kept with its reason.
type Pause struct {
	ID     int64
	Kind   PauseKind
	Clock  SupplementClock // pause or restart
	Reason string
	Items  []string
	Amount int64 // payment amount in VND, when Kind is payment
	// Method is how a payment was received (online or counter), once it was.
	Method    PaymentMethod
	StartedAt time.Time
	EndedAt   *time.Time
}

// Extension is the apology and new appointment (Circular 03/2025, form 4).
type Extension struct {
	Reason     string
	NewDueAt   time.Time
	RecordedAt time.Time
	Late       bool // recorded less than one working day before the deadline, or after it
}

// HistoryEntry is one line of a dossier's history; lines are never changed.
type HistoryEntry struct {
	At time.Time
	// Actor is the token's subject (for machines); ActorName and ActorTitle
	// are the person as people read it.
	Actor      string
	ActorName  string
	ActorTitle string
	Action     HistoryAction
	From       Status
	To         Status
	Note       string
	DueAt      *time.Time
	PromisedAt *time.Time
	StepDueAt  *time.Time
}

// Handoff is one row of the processing control slip (Circular 03/2025,
// form 6): who handed the dossier to whom, when, and the verdict of the unit
// that finished.
type Handoff struct {
	StepSeq  int
	FromUnit string
	ToUnit   string
	At       time.Time
	Verdict  Verdict
	// Actor and ActorName are who handed over (for a finished step, the
	// officer who finished it: the token's subject and name).
	Actor     string
	ActorName string
	// OverrunMinutes is how many working minutes a late step ran past its
	// allotment (0 unless Verdict is late).
	OverrunMinutes int64
}

// Dossier is one application for one procedure, from intake to result.
type Dossier struct {
	ID               int64
	Code             string
	AgencyCode       string // the receiving one-stop unit
	LeadAgencyCode   string // the procedure's competent agency
	ProcedureCode    string
	ProcedureVersion int
	SupplementClock  SupplementClock
	Channel          Channel
	Delivery         Delivery
	Status           Status
	Applicant        Applicant
	Documents        []string
	PINHash          string
	// Notify is the channels the applicant consented to be told by.
	Notify Consent
	// Notifications are the messages sent or to send to the applicant
	// (loaded with the whole dossier only).
	Notifications []Notification

	ReceivedAt   time.Time  // handed in (submitted online, or at the counter)
	CountingFrom *time.Time // when counting began (acceptance for online dossiers)
	Clock        TimeBudget // the legal deadline's clock
	OriginalDue  *time.Time // the deadline printed on the receipt
	Extension    *Extension
	Result       string // approved or denied
	Verdict      Verdict
	ProcessedAt  *time.Time
	ReturnedAt   *time.Time
	ReturnMethod Delivery
	ClosedAt     *time.Time // refused, withdrawn or stopped
	CurrentStep  int        // 1-based; 0 before transfer and after the last step
	HolderCode   string     // the unit holding the dossier now

	Steps    []Step
	Pauses   []Pause
	Handoffs []Handoff
	History  []HistoryEntry

	Rating        int
	RatingComment string
	RatedAt       *time.Time

	// NextCheckAt is when the deadline watcher must next look at the dossier
	// (every operation that can move a deadline plans it, planNextCheck; the
	// column next_deadline_at keeps it); nil when no deadline runs.
	NextCheckAt *time.Time

	Version   int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// DueAt is the legal deadline, nil before counting begins.
func (d *Dossier) DueAt() *time.Time { return d.Clock.DueAt }

// PromisedAt is the new appointment after an apology, or nil.
func (d *Dossier) PromisedAt() *time.Time {
	if d.Extension == nil {
		return nil
	}
	t := d.Extension.NewDueAt
	return &t
}

// LateAt reports whether the dossier is late against its legal deadline at t:
// its result was made after it, or it is overdue at t (the one overdue rule,
// OverdueAt).
func (d *Dossier) LateAt(t time.Time) bool {
	if d.Verdict == VerdictLate {
		return true
	}
	return d.ProcessedAt == nil && d.OverdueAt(t)
}

// Current returns the step held now, or nil.
func (d *Dossier) Current() *Step {
	if d.CurrentStep < 1 || d.CurrentStep > len(d.Steps) {
		return nil
	}
	return &d.Steps[d.CurrentStep-1]
}

// OpenPause returns the pause in progress, or nil.
func (d *Dossier) OpenPause() *Pause {
	for i := len(d.Pauses) - 1; i >= 0; i-- {
		if d.Pauses[i].EndedAt == nil {
			return &d.Pauses[i]
		}
	}
	return nil
}

// Change is what one command did to a dossier: the lines to append and the
// events to publish, written in the same transaction as the dossier. The
// operation that returns it has also changed the dossier itself, its next
// check (NextCheckAt) included: storage writes the two, nothing else.
type Change struct {
	History  []HistoryEntry
	Handoffs []Handoff
	Events   []Event
}

// IntakeInput is what a clerk records at reception.
type IntakeInput struct {
	Procedure  Procedure
	AgencyCode string
	Channel    Channel
	Delivery   Delivery
	Applicant  Applicant
	Documents  []string
	ReceivedAt time.Time
	// Notify is the channels the applicant asks to be told by (sms, email).
	Notify []string
}

// Validate checks the intake form (the fields of the receipt, Circular
// 03/2025 form 1).
func (in IntakeInput) Validate() error {
	var f Fields
	for _, t := range [][2]string{{"applicant.name", in.Applicant.Name}, {"applicant.id_number", in.Applicant.IDNumber},
		{"applicant.phone", in.Applicant.Phone}, {"applicant.email", in.Applicant.Email}, {"applicant.address", in.Applicant.Address}} {
		checkText(&f, t[0], t[1])
	}
	for i, doc := range in.Documents {
		checkText(&f, "documents["+strconv.Itoa(i)+"]", doc)
	}
	if !ValidTime(in.ReceivedAt) {
		f.Add("received_at", "%s", TimeBoundsMessage)
	}
	checkApplicant(&f, in.Applicant)
	checkDocuments(&f, in.Documents)
	_, nf := CheckConsent("notify", in.Notify, in.Applicant)
	f = append(f, nf...)
	if _, ok := ParseChannel(string(in.Channel)); !ok {
		f.Add("channel", "must be counter, online or postal")
	}
	if _, ok := ParseDelivery(string(in.Delivery)); !ok {
		f.Add("delivery", "must be counter, postal or online")
	}
	if in.Channel == ChannelOnline && !in.Procedure.Online.Offered() {
		f.Add("channel", "the procedure is not offered online")
	}
	return f.Err()
}

// checkApplicant checks the applicant's fields: a name and an identity
// number, bounded lengths, an e-mail address that looks like one.
func checkApplicant(f *Fields, a Applicant) {
	if strings.TrimSpace(a.Name) == "" || len(a.Name) > 300 {
		f.Add("applicant.name", "is required (at most 300 characters)")
	}
	if id := strings.TrimSpace(a.IDNumber); id == "" || len(id) > 50 {
		f.Add("applicant.id_number", "is required (at most 50 characters)")
	}
	if len(a.Phone) > 30 {
		f.Add("applicant.phone", "at most 30 characters")
	}
	if len(a.Email) > 200 || (a.Email != "" && !strings.Contains(a.Email, "@")) {
		f.Add("applicant.email", "is not an e-mail address")
	}
	if len(a.Address) > 500 {
		f.Add("applicant.address", "at most 500 characters")
	}
}

// checkDocuments checks the list of documents handed in: at most 100
// names of 1 to 500 characters.
func checkDocuments(f *Fields, docs []string) {
	if len(docs) > 100 {
		f.Add("documents", "at most 100 documents")
	}
	for i, doc := range docs {
		if strings.TrimSpace(doc) == "" || len(doc) > 500 {
			f.Add("documents["+strconv.Itoa(i)+"]", "must be a name of at most 500 characters")
		}
	}
}

// Receive takes a dossier in: counter and postal dossiers are received at
// once and their clock starts; online ones wait as new until a clerk accepts
// them. The code and the PIN hash come from the caller (storage assigns the
// daily sequence).
// lead is the due_soon lead in working minutes the next check is planned with.
func Receive(in IntakeInput, code, pinHash string, cal *Calendar, actor Actor, now time.Time, lead int64) (*Dossier, Change) {
	p := in.Procedure
	d := &Dossier{
		Code:             code,
		AgencyCode:       in.AgencyCode,
		LeadAgencyCode:   p.AgencyCode,
		ProcedureCode:    p.Code,
		ProcedureVersion: p.Version,
		SupplementClock:  p.SupplementClock,
		Channel:          in.Channel,
		Delivery:         in.Delivery,
		Applicant:        in.Applicant,
		Documents:        in.Documents,
		PINHash:          pinHash,
		ReceivedAt:       in.ReceivedAt,
		Clock:            TimeBudget{Budget: p.Minutes},
		HolderCode:       in.AgencyCode,
		Version:          1,
		Notify:           ParseConsent(strings.Join(in.Notify, ",")),
		CreatedAt:        now,
		UpdatedAt:        now,
	}
	for i, s := range p.Steps {
		d.Steps = append(d.Steps, Step{Seq: i + 1, Name: s.Name, AgencyCode: s.AgencyCode, Clock: TimeBudget{Budget: s.Minutes}, Verdict: VerdictOpen})
	}
	var ch Change
	if in.Channel == ChannelOnline {
		d.Status = StatusNew
		ch.History = append(ch.History, actor.Entry(now, HistorySubmit, 0, StatusNew))
		return d, ch
	}
	d.Status = StatusReceived
	d.startCounting(cal, in.ReceivedAt)
	h := actor.Entry(now, HistoryReceive, 0, StatusReceived)
	h.DueAt = d.Clock.DueAt
	ch.History = append(ch.History, h)
	// The fact happened when the dossier was handed in: an imported dossier's
	// received event carries that time, not the time of the import.
	ch.Events = append(ch.Events, d.event(EventReceived, in.ReceivedAt))
	d.planNextCheck(cal, lead)
	return d, ch
}

// startCounting starts the legal clock at the start of counting for
// something received at t (Decree 118/2025; docs/domain.md, The clock).
func (d *Dossier) startCounting(cal *Calendar, t time.Time) {
	start := cal.CountingStart(t)
	d.CountingFrom = &start
	d.Clock.Start(cal, start)
	due := *d.Clock.DueAt
	d.OriginalDue = &due
}

// event builds an event about the dossier as it stands.
func (d *Dossier) event(t EventType, at time.Time) Event {
	e := Event{Type: t, DossierCode: d.Code, ProcedureCode: d.ProcedureCode, AgencyCode: d.AgencyCode,
		HolderCode: d.HolderCode, Status: d.Status, DueAt: d.Clock.DueAt, PromisedAt: d.PromisedAt(), OccurredAt: at}
	if s := d.Current(); s != nil {
		e.Step = s.Name
	}
	return e
}

// InvolvedAgencies lists the receiving unit, the lead agency, the unit
// holding the dossier and every step's unit, once each: the agencies whose
// staff may read the dossier (Scope.Sees; the list filter's SQL asks the
// same of the dossier's columns and steps).
func (d *Dossier) InvolvedAgencies() []string {
	seen := map[string]bool{}
	var out []string
	add := func(c string) {
		if c != "" && !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	add(d.AgencyCode)
	add(d.LeadAgencyCode)
	add(d.HolderCode)
	for _, s := range d.Steps {
		add(s.AgencyCode)
	}
	return out
}

// FollowCalendar recomputes the running deadlines of the dossier and of its
// current step from a changed calendar (docs/domain.md, Working time: a newly announced holiday
// never makes a dossier late). It reports whether anything moved and, if so,
// the history line that explains it, with the next check planned again
// (lead is the due_soon lead in working minutes).
func (d *Dossier) FollowCalendar(cal *Calendar, actor Actor, now time.Time, note string, lead int64) (Change, bool) {
	before := timesOf(d)
	d.Clock.Recompute(cal)
	if s := d.Current(); s != nil {
		s.Clock.Recompute(cal)
	}
	after := timesOf(d)
	if before == after {
		return Change{}, false
	}
	d.Version++
	d.UpdatedAt = now
	h := actor.Entry(now, HistoryCalendarChanged, d.Status, d.Status)
	h.Note = note
	d.stamp(&h)
	d.planNextCheck(cal, lead)
	return Change{History: []HistoryEntry{h}}, true
}

// timesOf is the pair of running deadlines, for change detection.
func timesOf(d *Dossier) [2]int64 {
	var out [2]int64
	if d.Clock.DueAt != nil {
		out[0] = d.Clock.DueAt.UnixNano()
	}
	if s := d.Current(); s != nil && s.Clock.DueAt != nil {
		out[1] = s.Clock.DueAt.UnixNano()
	}
	return out
}

// ReissuePIN gives the dossier a new look-up PIN's hash: the old PIN stops
// working at once. The history line records who did it and when, never the
// PIN, and keeps the dossier's state as it is (same status, same
// deadlines), so the roll-ups see no change.
func (d *Dossier) ReissuePIN(hash string, actor Actor, now time.Time) Change {
	d.PINHash = hash
	d.Version++
	d.UpdatedAt = now
	h := actor.Entry(now, HistoryReissuePIN, d.Status, d.Status)
	h.Note = "Cấp lại mã tra cứu; mã cũ hết hiệu lực"
	d.stamp(&h)
	d.History = append(d.History, h)
	return Change{History: []HistoryEntry{h}}
}

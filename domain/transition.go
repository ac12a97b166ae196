package domain

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Action is one transition action (docs/domain.md), posted to
// /dossiers/{code}/transitions.
type Action string

// The transition actions.
const (
	ActionAccept            Action = "accept"
	ActionRefuse            Action = "refuse"
	ActionTransfer          Action = "transfer"
	ActionCompleteStep      Action = "complete_step"
	ActionRequestSupplement Action = "request_supplement"
	ActionReceiveSupplement Action = "receive_supplement"
	ActionRequestPayment    Action = "request_payment"
	ActionReceivePayment    Action = "receive_payment"
	ActionExtend            Action = "extend"
	ActionWithdraw          Action = "withdraw"
	ActionStop              Action = "stop"
	ActionReturnResult      Action = "return_result"
)

// AllActions lists the transition actions in the order of the API document.
func AllActions() []Action {
	return []Action{ActionAccept, ActionRefuse, ActionTransfer, ActionCompleteStep, ActionRequestSupplement,
		ActionReceiveSupplement, ActionRequestPayment, ActionReceivePayment, ActionExtend, ActionWithdraw,
		ActionStop, ActionReturnResult}
}

// ParseAction rejects names that are not transition actions.
func ParseAction(s string) (Action, bool) {
	a := Action(s)
	if slices.Contains(AllActions(), a) {
		return a, true
	}
	return "", false
}

// Performer says who, besides an administrator, may take an action
// (docs/domain.md, Statuses and actions).
type Performer string

// Performers.
const (
	// ByReceivingClerk is a clerk of the receiving one-stop unit
	// (actor.Agency == d.AgencyCode).
	ByReceivingClerk Performer = "receiving_clerk"
	// ByStepOfficer is an officer of the unit holding the current step
	// (actor.Agency == the current step's AgencyCode); nobody holds a step
	// before transfer or after the last one.
	ByStepOfficer Performer = "step_officer"
)

// performers: the one authorisation rule per action, whatever the status.
var performers = map[Action]Performer{
	ActionAccept:            ByReceivingClerk,
	ActionRefuse:            ByReceivingClerk,
	ActionTransfer:          ByReceivingClerk,
	ActionReceiveSupplement: ByReceivingClerk,
	ActionReceivePayment:    ByReceivingClerk,
	ActionWithdraw:          ByReceivingClerk,
	ActionReturnResult:      ByReceivingClerk,
	ActionCompleteStep:      ByStepOfficer,
	ActionRequestSupplement: ByStepOfficer,
	ActionRequestPayment:    ByStepOfficer,
	ActionExtend:            ByStepOfficer,
	ActionStop:              ByStepOfficer,
}

// Transition is one row of the state machine: from a status, an action leads
// to a status (To[0]; To[1] where the outcome depends on the dossier), taken
// by whom, on which condition.
type Transition struct {
	From   Status
	Action Action
	To     []Status
	By     Performer
	Guard  string
}

// transitions is THE table of the life cycle. Refused, withdrawn, returned
// and stopped allow nothing (stopped is "paused" in statistics but no action
// reopens it). Administrators may take every action of the table.
var transitions = []Transition{
	{StatusNew, ActionAccept, []Status{StatusReceived}, ByReceivingClerk,
		"the legal clock starts at the start of counting after now; the receipt's deadline is set"},
	{StatusNew, ActionRefuse, []Status{StatusRefused}, ByReceivingClerk, "reason"},
	{StatusNew, ActionWithdraw, []Status{StatusWithdrawn}, ByReceivingClerk, "reason"},

	{StatusReceived, ActionTransfer, []Status{StatusProcessing}, ByReceivingClerk,
		"the procedure has steps; step 1 starts, its unit holds the dossier"},
	{StatusReceived, ActionRefuse, []Status{StatusRefused}, ByReceivingClerk, "reason"},
	{StatusReceived, ActionWithdraw, []Status{StatusWithdrawn}, ByReceivingClerk, "reason"},

	{StatusProcessing, ActionCompleteStep, []Status{StatusProcessing, StatusProcessed}, ByStepOfficer,
		"the next step starts; on the last step a result (approved or denied) is required and gives processed"},
	{StatusProcessing, ActionRequestSupplement, []Status{StatusSupplementRequested}, ByStepOfficer,
		"reason and 1 to 50 items; the clocks stop"},
	{StatusProcessing, ActionRequestPayment, []Status{StatusAwaitingPayment}, ByStepOfficer,
		"amount > 0; the clocks stop"},
	{StatusProcessing, ActionExtend, []Status{StatusProcessing}, ByStepOfficer,
		"once per dossier; reason; new_due_at after the legal deadline and now, within 1000 working days"},
	{StatusProcessing, ActionStop, []Status{StatusStopped}, ByStepOfficer, "reason"},
	{StatusProcessing, ActionWithdraw, []Status{StatusWithdrawn}, ByReceivingClerk, "reason"},

	{StatusSupplementRequested, ActionReceiveSupplement, []Status{StatusProcessing}, ByReceivingClerk,
		"the pause ends; the clocks resume or restart per the procedure"},
	{StatusSupplementRequested, ActionStop, []Status{StatusStopped}, ByStepOfficer,
		"reason (also the automatic stop after 15 working days unsupplemented)"},
	{StatusSupplementRequested, ActionWithdraw, []Status{StatusWithdrawn}, ByReceivingClerk, "reason"},

	{StatusAwaitingPayment, ActionReceivePayment, []Status{StatusProcessing}, ByReceivingClerk,
		"the pause ends; the clocks resume"},
	{StatusAwaitingPayment, ActionStop, []Status{StatusStopped}, ByStepOfficer, "reason"},
	{StatusAwaitingPayment, ActionWithdraw, []Status{StatusWithdrawn}, ByReceivingClerk, "reason"},

	{StatusProcessed, ActionReturnResult, []Status{StatusReturned}, ByReceivingClerk,
		"method: counter, postal or online"},
}

// Transitions returns a copy of the state machine's table.
func Transitions() []Transition {
	out := make([]Transition, len(transitions))
	for i, t := range transitions {
		t.To = slices.Clone(t.To)
		out[i] = t
	}
	return out
}

// transitionFor finds the row of (from, action).
func transitionFor(from Status, a Action) (Transition, bool) {
	for _, t := range transitions {
		if t.From == from && t.Action == a {
			return t, true
		}
	}
	return Transition{}, false
}

// ActionsFrom lists the actions the table allows in a status, sorted by name.
func ActionsFrom(s Status) []Action {
	out := []Action{}
	for _, t := range transitions {
		if t.From == s {
			out = append(out, t.Action)
		}
	}
	slices.Sort(out)
	return out
}

// Limits of the transition input.
const (
	maxReasonChars = 1000
	maxItems       = 50
	maxItemChars   = 300
	// DefaultSupplementLimit is how long a supplement request may stay
	// unanswered before the dossier is stopped: 15 working days.
	DefaultSupplementLimit = 15 * MinutesPerWorkingDay
	// ReasonUnsupplemented is the reason of the automatic stop.
	ReasonUnsupplemented = "Quá thời hạn bổ sung hồ sơ: công dân không bổ sung trong thời hạn quy định"
)

// Results of the last step.
const (
	ResultApproved = "approved"
	ResultDenied   = "denied"
)

// TransitionInput is one action and the fields it needs (the transition
// request of handlers/openapi.yaml).
type TransitionInput struct {
	Action   Action
	Reason   string
	Items    []string
	Result   string
	Amount   int64
	Note     string
	NewDueAt *time.Time
	Method   Delivery
}

// authorised reports whether the actor may take the action on d, whatever
// the status: administrators always; otherwise the action's performer rule.
func (d *Dossier) authorised(a Action, actor Actor) bool {
	if actor.IsAdmin() {
		return true
	}
	switch performers[a] {
	case ByReceivingClerk:
		return actor.Has(RoleClerk) && actor.Agency != "" && actor.Agency == d.AgencyCode
	case ByStepOfficer:
		s := d.Current()
		return actor.Has(RoleOfficer) && s != nil && actor.Agency != "" && actor.Agency == s.AgencyCode
	}
	return false
}

// AllowedActions lists, sorted by name, the actions the actor may take now:
// the table's actions of the status that the actor is authorised for and
// whose state guards hold (extend only once). Input-dependent rules (a
// result on the last step, a reason, ...) are checked by Apply.
func (d *Dossier) AllowedActions(actor Actor) []Action {
	out := []Action{}
	for _, a := range ActionsFrom(d.Status) {
		if d.authorised(a, actor) && d.stateGuard(a) == nil {
			out = append(out, a)
		}
	}
	return out
}

// stateGuard checks what must hold of the dossier (not of the input) for an
// action the table allows in its status.
func (d *Dossier) stateGuard(a Action) error {
	switch a {
	case ActionTransfer:
		if len(d.Steps) == 0 {
			return Conflictf(CodeNoSteps, "the dossier's procedure version has no processing steps")
		}
	case ActionCompleteStep, ActionRequestSupplement, ActionRequestPayment, ActionExtend:
		if d.Current() == nil {
			return Conflictf(CodeInvalidTransition, "no step is being processed")
		}
		if a == ActionExtend {
			if d.Extension != nil {
				return Conflictf(CodeAlreadyExtended, "the dossier was already extended on %s; only one new appointment is allowed",
					d.Extension.RecordedAt.In(vietnam).Format("15:04 02/01/2006"))
			}
			if d.Clock.DueAt == nil {
				return Conflictf(CodeInvalidTransition, "the dossier has no legal deadline to extend")
			}
		}
	case ActionReceiveSupplement, ActionReceivePayment:
		want := PauseSupplement
		if a == ActionReceivePayment {
			want = PausePayment
		}
		if p := d.OpenPause(); p == nil || p.Kind != want {
			return Conflictf(CodeInvalidTransition, "no %s pause is open", want)
		}
	}
	return nil
}

// validate checks the input of an action allowed in the dossier's status:
// each field once, by what the action needs of it.
func (d *Dossier) validate(in TransitionInput, cal *Calendar, now time.Time) error {
	var f Fields
	checkTexts(&f, in)
	checkReason(&f, in)
	checkItems(&f, in)
	d.checkResult(&f, in)
	checkAmount(&f, in)
	checkMethod(&f, in)
	d.checkNewDueAt(&f, in, cal, now)
	return f.Err()
}

// checkTexts checks that every text of the input is text (TextProblem) and
// the new appointment a time within bounds.
func checkTexts(f *Fields, in TransitionInput) {
	checkText(f, "reason", in.Reason)
	checkText(f, "note", in.Note)
	checkText(f, "result", in.Result)
	for i, it := range in.Items {
		checkText(f, "items["+strconv.Itoa(i)+"]", it)
	}
	if in.NewDueAt != nil && !ValidTime(*in.NewDueAt) {
		f.Add("new_due_at", "%s", TimeBoundsMessage)
	}
}

// checkReason: the actions that close, extend or ask for something need a
// reason; reason and note are bounded.
func checkReason(f *Fields, in TransitionInput) {
	switch in.Action {
	case ActionRefuse, ActionWithdraw, ActionStop, ActionExtend, ActionRequestSupplement:
		if strings.TrimSpace(in.Reason) == "" {
			f.Add("reason", "is required for %s", in.Action)
		}
	}
	if utf8.RuneCountInString(in.Reason) > maxReasonChars {
		f.Add("reason", "at most %d characters", maxReasonChars)
	}
	if utf8.RuneCountInString(in.Note) > maxReasonChars {
		f.Add("note", "at most %d characters", maxReasonChars)
	}
}

// checkItems: a supplement request lists 1 to maxItems items; no other
// action takes any.
func checkItems(f *Fields, in TransitionInput) {
	if in.Action != ActionRequestSupplement {
		if len(in.Items) > 0 {
			f.Add("items", "only for request_supplement")
		}
		return
	}
	if len(in.Items) == 0 || len(in.Items) > maxItems {
		f.Add("items", "list 1 to %d missing documents or corrections", maxItems)
	}
	for i, it := range in.Items {
		if strings.TrimSpace(it) == "" || utf8.RuneCountInString(it) > maxItemChars {
			f.Add("items["+strconv.Itoa(i)+"]", "must be a text of 1 to %d characters", maxItemChars)
		}
	}
}

// checkResult: the last step's completion needs a result; nothing else
// takes one.
func (d *Dossier) checkResult(f *Fields, in TransitionInput) {
	last := in.Action == ActionCompleteStep && d.CurrentStep == len(d.Steps)
	switch {
	case last:
		if in.Result != ResultApproved && in.Result != ResultDenied {
			f.Add("result", "the last step needs a result: approved or denied")
		}
	case in.Result != "" && in.Action == ActionCompleteStep:
		f.Add("result", "a result is given on the last step only (step %d of %d is current)", d.CurrentStep, len(d.Steps))
	case in.Result != "":
		f.Add("result", "only for complete_step on the last step")
	}
}

// checkAmount: a payment request needs an amount; nothing else takes one.
func checkAmount(f *Fields, in TransitionInput) {
	if in.Action == ActionRequestPayment {
		if in.Amount <= 0 || in.Amount > MaxAmount {
			f.Add("amount", "must be from 1 to 9007199254740991 (2^53-1) VND")
		}
	} else if in.Amount != 0 {
		f.Add("amount", "only for request_payment")
	}
}

// checkMethod: how the result is returned, or how a payment was received.
func checkMethod(f *Fields, in TransitionInput) {
	switch {
	case in.Action == ActionReturnResult:
		if _, ok := ParseDelivery(string(in.Method)); !ok {
			f.Add("method", "must be counter, postal or online")
		}
	case in.Action == ActionReceivePayment:
		if m := PaymentMethod(in.Method); m != "" && m != PaymentCounter && m != PaymentOnline {
			f.Add("method", "must be online or counter")
		}
	case in.Method != "":
		f.Add("method", "only for return_result and receive_payment")
	}
}

// checkNewDueAt: an extension's new appointment comes after the legal
// deadline and now, within MaxWorkingMinutes of the deadline.
func (d *Dossier) checkNewDueAt(f *Fields, in TransitionInput, cal *Calendar, now time.Time) {
	if in.Action != ActionExtend {
		if in.NewDueAt != nil {
			f.Add("new_due_at", "only for extend")
		}
		return
	}
	due := d.Clock.DueAt // set: checked by stateGuard
	switch {
	case in.NewDueAt == nil:
		f.Add("new_due_at", "is required: the new appointment")
	case !in.NewDueAt.After(*due):
		f.Add("new_due_at", "must be after the legal deadline %s", due.In(vietnam).Format(time.RFC3339))
	case !in.NewDueAt.After(now):
		f.Add("new_due_at", "must be in the future")
	case cal.Between(*due, *in.NewDueAt) > MaxWorkingMinutes:
		f.Add("new_due_at", "must be within 1000 working days of the legal deadline")
	}
}

// Apply takes one action on the dossier at now, for actor, with the
// agency's calendar; lead is the due_soon lead in working minutes the
// dossier's next check is planned with. It checks, in this order: the
// action is known (validation_failed), the actor may take it at all
// (forbidden: role and agency, whatever the status), the status allows it
// (invalid_transition, naming the actions the status allows), the dossier's
// state (already_extended, ...), then the input (validation_failed with
// fields). On any error d is left untouched. On success d is changed
// (status, clocks, steps, pauses, holder, Version+1, UpdatedAt, NextCheckAt)
// and the Change carries the whole of it: one history line, the
// control-slip rows and the events (completed_late included), built after
// the change; the history line and the rows are appended to d.History and
// d.Handoffs too (storage writes them from the Change). New pauses are
// appended to d.Pauses with ID 0; ended ones get EndedAt.
func (d *Dossier) Apply(in TransitionInput, actor Actor, now time.Time, cal *Calendar, lead int64) (Change, error) {
	t, err := d.check(in, actor, cal, now)
	if err != nil {
		return Change{}, err
	}
	from := d.Status
	var ch Change
	done := effects[in.Action](d, act{t: t, in: in, cal: cal, now: now, ch: &ch})
	d.record(&ch, in, actor, now, cal, from, done)
	d.planNextCheck(cal, lead)
	return ch, nil
}

// check runs Apply's checks, in Apply's order, and returns the table's row.
func (d *Dossier) check(in TransitionInput, actor Actor, cal *Calendar, now time.Time) (Transition, error) {
	if _, ok := ParseAction(string(in.Action)); !ok {
		return Transition{}, &Error{Kind: Invalid, Code: CodeValidationFailed, Detail: "unknown action",
			Fields: []FieldError{{Field: "action", Message: "must be one of the contract's transition actions"}}}
	}
	if !d.authorised(in.Action, actor) {
		return Transition{}, d.forbidden(in.Action, actor)
	}
	t, ok := transitionFor(d.Status, in.Action)
	if !ok {
		allowed := []string{}
		for _, a := range ActionsFrom(d.Status) {
			allowed = append(allowed, string(a))
		}
		return Transition{}, &Error{Kind: Conflict, Code: CodeInvalidTransition,
			Detail:  "action " + string(in.Action) + " is not allowed when the dossier is " + d.Status.String(),
			Allowed: allowed}
	}
	if err := d.stateGuard(in.Action); err != nil {
		return Transition{}, err
	}
	if err := d.validate(in, cal, now); err != nil {
		return Transition{}, err
	}
	return t, nil
}

// act is what an action's effect works with: the table's row, the input,
// the calendar, the instant, and the change to add control-slip rows to.
type act struct {
	t   Transition
	in  TransitionInput
	cal *Calendar
	now time.Time
	ch  *Change
}

// done is what an effect leaves for record: the events, in order, and the
// finished step's name for step_completed.
type done struct {
	events    []EventType
	completed string
}

// effects: what each action does to a checked dossier.
var effects = map[Action]func(d *Dossier, a act) done{
	ActionAccept:            (*Dossier).accept,
	ActionRefuse:            (*Dossier).close,
	ActionWithdraw:          (*Dossier).close,
	ActionStop:              (*Dossier).close,
	ActionTransfer:          (*Dossier).transfer,
	ActionCompleteStep:      (*Dossier).completeStep,
	ActionRequestSupplement: (*Dossier).pause,
	ActionRequestPayment:    (*Dossier).pause,
	ActionReceiveSupplement: (*Dossier).resume,
	ActionReceivePayment:    (*Dossier).resume,
	ActionExtend:            (*Dossier).extend,
	ActionReturnResult:      (*Dossier).returnResult,
}

func (d *Dossier) accept(a act) done {
	d.Status = a.t.To[0]
	d.startCounting(a.cal, a.now)
	d.HolderCode = d.AgencyCode
	return done{events: []EventType{EventReceived}}
}

// close refuses, withdraws or stops the dossier.
func (d *Dossier) close(a act) done {
	d.Status = a.t.To[0]
	d.stopClocks(a.cal, a.now)
	if p := d.OpenPause(); p != nil {
		p.EndedAt = timePtr(a.now)
	}
	d.ClosedAt = timePtr(a.now)
	e := map[Action]EventType{ActionRefuse: EventRefused, ActionWithdraw: EventWithdrawn, ActionStop: EventStopped}[a.in.Action]
	return done{events: []EventType{e}}
}

func (d *Dossier) transfer(a act) done {
	d.Status = a.t.To[0]
	first := &d.Steps[0]
	a.ch.Handoffs = append(a.ch.Handoffs, Handoff{StepSeq: 0, FromUnit: d.AgencyCode, ToUnit: first.AgencyCode, At: a.now,
		Verdict: judgeAgainst(a.now, d.Clock.DueAt)})
	d.CurrentStep = 1
	d.startStep(first, a.cal, a.now)
	d.HolderCode = first.AgencyCode
	return done{events: []EventType{EventTransferred}}
}

// completeStep finishes the current step: the next one starts, or, on the
// last, the dossier is processed with its result.
func (d *Dossier) completeStep(a act) done {
	s := d.Current()
	s.Clock.Stop(a.cal, a.now)
	s.FinishedAt = timePtr(a.now)
	s.Verdict = judgeAgainst(a.now, s.Clock.DueAt)
	out := done{events: []EventType{EventStepCompleted}, completed: s.Name}
	var overrun int64
	if s.Verdict == VerdictLate {
		overrun = a.cal.Between(*s.Clock.DueAt, a.now)
	}
	h := Handoff{StepSeq: s.Seq, FromUnit: s.AgencyCode, ToUnit: d.AgencyCode, At: a.now, Verdict: s.Verdict, OverrunMinutes: overrun}
	if d.CurrentStep < len(d.Steps) {
		next := &d.Steps[d.CurrentStep]
		h.ToUnit = next.AgencyCode
		a.ch.Handoffs = append(a.ch.Handoffs, h)
		d.CurrentStep++
		d.startStep(next, a.cal, a.now)
		d.HolderCode = next.AgencyCode
		d.Status = a.t.To[0]
		return out
	}
	a.ch.Handoffs = append(a.ch.Handoffs, h)
	d.Clock.Stop(a.cal, a.now)
	d.Status = a.t.To[1]
	d.Result = a.in.Result
	d.ProcessedAt = timePtr(a.now)
	d.Verdict = judgeAgainst(a.now, d.Clock.DueAt) // the legal deadline, whatever the extension
	d.CurrentStep = 0
	d.HolderCode = d.AgencyCode
	out.events = append(out.events, EventProcessed)
	return out
}

// pause stops the clocks for a supplement or a payment.
func (d *Dossier) pause(a act) done {
	d.stopClocks(a.cal, a.now)
	p := Pause{Kind: PauseSupplement, Clock: d.SupplementClock, Reason: strings.TrimSpace(a.in.Reason),
		Items: trimAll(a.in.Items), StartedAt: a.now}
	d.Status = a.t.To[0]
	e := EventSupplementRequested
	if a.in.Action == ActionRequestPayment {
		p = Pause{Kind: PausePayment, Clock: ClockPause, Reason: strings.TrimSpace(joinNote(a.in.Note, a.in.Reason)),
			Amount: a.in.Amount, StartedAt: a.now}
		e = EventPaymentRequested
	}
	if p.Clock == "" {
		p.Clock = ClockRestart // Procedure.Normalize's default
	}
	d.Pauses = append(d.Pauses, p)
	return done{events: []EventType{e}}
}

// resume ends the open pause: the clocks resume, or restart per the procedure.
func (d *Dossier) resume(a act) done {
	p := d.OpenPause()
	p.EndedAt = timePtr(a.now)
	start := a.cal.CountingStart(a.now)
	restart := p.Clock == ClockRestart
	d.Clock.Resume(a.cal, start, restart)
	if s := d.Current(); s != nil {
		s.Clock.Resume(a.cal, start, restart)
		d.Status = StatusProcessing
	} else {
		d.Status = StatusReceived // not reachable with this table; kept for a request before transfer
	}
	if a.in.Action != ActionReceivePayment {
		return done{events: []EventType{EventSupplementReceived}}
	}
	p.Method = PaymentMethod(a.in.Method)
	if p.Method == "" {
		p.Method = PaymentCounter
	}
	return done{events: []EventType{EventPaymentReceived}}
}

// extend records the apology and the new appointment.
func (d *Dossier) extend(a act) done {
	due := *d.Clock.DueAt
	late := !a.now.Before(due) || a.cal.Between(a.now, due) < MinutesPerWorkingDay
	d.Extension = &Extension{Reason: strings.TrimSpace(a.in.Reason), NewDueAt: *a.in.NewDueAt, RecordedAt: a.now, Late: late}
	d.Status = a.t.To[0]
	return done{events: []EventType{EventExtended}}
}

func (d *Dossier) returnResult(a act) done {
	d.Status = a.t.To[0]
	d.ReturnedAt = timePtr(a.now)
	d.ReturnMethod = a.in.Method
	return done{events: []EventType{EventReturned}}
}

// record completes the change of an applied action: the dossier's new
// version, its history line, its control-slip rows, and its events (the
// finished step's name on step_completed; completed_late when the result
// came after the legal deadline).
func (d *Dossier) record(ch *Change, in TransitionInput, actor Actor, now time.Time, cal *Calendar, from Status, done done) {
	d.Version++
	d.UpdatedAt = now
	h := actor.Entry(now, in.Action.History(), from, d.Status)
	h.Note = joinNote(in.Reason, in.Note)
	d.stamp(&h)
	ch.History = []HistoryEntry{h}
	d.History = append(d.History, h)
	for i := range ch.Handoffs {
		ch.Handoffs[i].Actor, ch.Handoffs[i].ActorName = h.Actor, h.ActorName
	}
	d.Handoffs = append(d.Handoffs, ch.Handoffs...)
	for _, et := range done.events {
		e := d.event(et, now)
		if et == EventStepCompleted {
			e.Step = done.completed
		}
		ch.Events = append(ch.Events, e)
	}
	if in.Action == ActionCompleteStep {
		if late, ok := d.CompletedLate(cal); ok {
			ch.Events = append(ch.Events, late)
		}
	}
}

// stamp writes the dossier's deadlines as they stand into a history line:
// the legal one, the promised one and the current step's.
func (d *Dossier) stamp(h *HistoryEntry) {
	h.DueAt, h.PromisedAt = copyTime(d.Clock.DueAt), d.PromisedAt()
	if s := d.Current(); s != nil {
		h.StepDueAt = copyTime(s.Clock.DueAt)
	}
}

// forbidden explains why the actor may not take the action.
func (d *Dossier) forbidden(a Action, actor Actor) error {
	switch performers[a] {
	case ByReceivingClerk:
		return Forbiddenf("%s is for clerks of the receiving one-stop unit %s", a, d.AgencyCode)
	default:
		if s := d.Current(); s != nil {
			return Forbiddenf("%s is for officers of %s, the unit holding step %d", a, s.AgencyCode, s.Seq)
		}
		return Forbiddenf("%s is for officers of the unit holding the current step, and no step is being processed", a)
	}
}

// startStep starts a step's allotment at the start of counting after now.
func (d *Dossier) startStep(s *Step, cal *Calendar, now time.Time) {
	s.StartedAt = timePtr(now)
	s.Verdict = VerdictOpen
	s.Clock.Start(cal, cal.CountingStart(now))
}

// stopClocks stops the legal clock and the current step's at now.
func (d *Dossier) stopClocks(cal *Calendar, now time.Time) {
	d.Clock.Stop(cal, now)
	if s := d.Current(); s != nil {
		s.Clock.Stop(cal, now)
	}
}

// SupplementExpired reports whether the dossier waits for a supplement
// requested at least limitMinutes working minutes before now (15 working
// days by default, when limitMinutes <= 0).
func (d *Dossier) SupplementExpired(cal *Calendar, now time.Time, limitMinutes int64) bool {
	if limitMinutes <= 0 {
		limitMinutes = DefaultSupplementLimit
	}
	if d.Status != StatusSupplementRequested {
		return false
	}
	p := d.OpenPause()
	if p == nil || p.Kind != PauseSupplement {
		return false
	}
	return cal.Between(p.StartedAt, now) >= limitMinutes
}

// StopUnsupplemented stops a dossier whose supplement request expired, with
// the reason ReasonUnsupplemented, as actor (the service's system actor, an
// administrator). It reports false, with no change, when the request has not
// expired.
func (d *Dossier) StopUnsupplemented(cal *Calendar, now time.Time, limitMinutes int64, actor Actor, lead int64) (Change, bool, error) {
	if !d.SupplementExpired(cal, now, limitMinutes) {
		return Change{}, false, nil
	}
	ch, err := d.Apply(TransitionInput{Action: ActionStop, Reason: ReasonUnsupplemented}, actor, now, cal, lead)
	if err != nil {
		return Change{}, false, err
	}
	return ch, true, nil
}

// judgeAgainst judges now against a deadline; with none, on time.
func judgeAgainst(now time.Time, due *time.Time) Verdict {
	if due == nil {
		return VerdictOnTime
	}
	return Judge(now, *due)
}

func timePtr(t time.Time) *time.Time { return &t }

func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	return timePtr(*t)
}

func joinNote(a, b string) string {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + " — " + b
}

func trimAll(items []string) []string {
	if len(items) == 0 {
		return nil
	}
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = strings.TrimSpace(it)
	}
	return out
}

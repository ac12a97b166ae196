package domain

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	tOneStop = "000.00.07.H29" // the receiving one-stop unit
	tUnitA   = "000.20.21.H29" // step 1
	tUnitB   = "000.20.22.H29" // step 2
	tUnitC   = "000.20.23.H29" // step 3
	tForeign = "000.99.99.H29"
)

var (
	tAdmin      = Actor{Sub: "admin", Roles: []Role{RoleAdmin}}
	tClerk      = Actor{Sub: "clerk", Roles: []Role{RoleClerk}, Agency: tOneStop}
	tOfficerA   = Actor{Sub: "officer-a", Roles: []Role{RoleOfficer}, Agency: tUnitA}
	tOfficerB   = Actor{Sub: "officer-b", Roles: []Role{RoleOfficer}, Agency: tUnitB}
	tOfficerC   = Actor{Sub: "officer-c", Roles: []Role{RoleOfficer}, Agency: tUnitC}
	tSupervisor = Actor{Sub: "supervisor", Roles: []Role{RoleSupervisor}, Agency: tOneStop}
)

// tProcedure: 10 working days in three steps (2 + 6 + 2 days), the clock
// restarting after a supplement.
func tProcedure(rule SupplementClock) Procedure {
	day := int64(MinutesPerWorkingDay)
	return Procedure{Code: "1.001445", Version: 1, Name: "Đăng ký hộ kinh doanh", AgencyCode: tUnitC,
		Unit: UnitWorkingDays, Amount: 10, Minutes: 10 * day, SupplementClock: rule, Online: OnlineFull,
		Steps: []StepDef{{"Tiếp nhận, phân công", tUnitA, 2 * day}, {"Thẩm định", tUnitB, 6 * day}, {"Phê duyệt", tUnitC, 2 * day}}}
}

// tOnline returns an online dossier, new (submitted Friday 13/3/2026 17:00).
func tOnline(rule SupplementClock) *Dossier {
	cal := NewCalendar(DefaultOfficeHours(), nil)
	at := vnAt(2026, 3, 13, 17, 0)
	d, _ := Receive(IntakeInput{Procedure: tProcedure(rule), AgencyCode: tOneStop, Channel: ChannelOnline,
		Delivery: DeliveryPostal, Applicant: Applicant{Name: "Nguyễn Văn A", IDNumber: "001090000001"},
		ReceivedAt: at}, tOneStop+"-260313-0001", "hash", cal, Actor{Sub: "citizen"}, at, DefaultDueSoonLead)
	return d
}

// tInput is an input that passes validation for the action on d at now.
func tInput(a Action, d *Dossier, now time.Time) TransitionInput {
	in := TransitionInput{Action: a}
	switch a {
	case ActionRefuse, ActionWithdraw, ActionStop:
		in.Reason = "lý do"
	case ActionRequestSupplement:
		in.Reason = "thiếu giấy tờ"
		in.Items = []string{"Bản sao CCCD"}
	case ActionRequestPayment:
		in.Amount = 100000
		in.Note = "lệ phí"
	case ActionExtend:
		in.Reason = "cần xác minh"
		due := now.AddDate(0, 1, 0)
		if d.Clock.DueAt != nil && d.Clock.DueAt.After(now) {
			due = d.Clock.DueAt.AddDate(0, 0, 14)
		}
		in.NewDueAt = &due
	case ActionCompleteStep:
		if d.CurrentStep == len(d.Steps) {
			in.Result = ResultApproved
		}
	case ActionReturnResult:
		in.Method = DeliveryCounter
	}
	return in
}

// tDossierIn walks a fresh dossier into a status with an administrator, an
// hour per action from Monday 16/3/2026 08:00.
func tDossierIn(t *testing.T, s Status, cal *Calendar) (*Dossier, time.Time) {
	t.Helper()
	paths := map[Status][]Action{
		StatusNew:                 nil,
		StatusReceived:            {ActionAccept},
		StatusRefused:             {ActionRefuse},
		StatusProcessing:          {ActionAccept, ActionTransfer},
		StatusSupplementRequested: {ActionAccept, ActionTransfer, ActionRequestSupplement},
		StatusAwaitingPayment:     {ActionAccept, ActionTransfer, ActionRequestPayment},
		StatusWithdrawn:           {ActionAccept, ActionTransfer, ActionWithdraw},
		StatusStopped:             {ActionAccept, ActionTransfer, ActionStop},
		StatusProcessed:           {ActionAccept, ActionTransfer, ActionCompleteStep, ActionCompleteStep, ActionCompleteStep},
		StatusReturned:            {ActionAccept, ActionTransfer, ActionCompleteStep, ActionCompleteStep, ActionCompleteStep, ActionReturnResult},
	}
	d := tOnline(ClockRestart)
	now := vnAt(2026, 3, 16, 8, 0)
	for _, a := range paths[s] {
		now = now.Add(time.Hour)
		if _, err := d.Apply(tInput(a, d, now), tAdmin, now, cal, DefaultDueSoonLead); err != nil {
			t.Fatalf("walking to %s: %s: %v", s, a, err)
		}
	}
	if d.Status != s {
		t.Fatalf("walked to %s, want %s", d.Status, s)
	}
	return d, now.Add(time.Hour)
}

// cloneDossier copies d deeply enough that nothing Apply does to d shows in
// the copy.
func cloneDossier(d *Dossier) *Dossier {
	c := *d
	tp := func(p *time.Time) *time.Time {
		if p == nil {
			return nil
		}
		v := *p
		return &v
	}
	clk := func(k TimeBudget) TimeBudget { k.RunningSince, k.DueAt = tp(k.RunningSince), tp(k.DueAt); return k }
	c.Documents = slices.Clone(d.Documents)
	c.CountingFrom, c.OriginalDue, c.ProcessedAt, c.ReturnedAt, c.ClosedAt, c.RatedAt =
		tp(d.CountingFrom), tp(d.OriginalDue), tp(d.ProcessedAt), tp(d.ReturnedAt), tp(d.ClosedAt), tp(d.RatedAt)
	c.Clock = clk(d.Clock)
	if d.Extension != nil {
		e := *d.Extension
		c.Extension = &e
	}
	c.Steps = slices.Clone(d.Steps)
	for i := range c.Steps {
		s := &c.Steps[i]
		s.Clock, s.StartedAt, s.FinishedAt = clk(s.Clock), tp(s.StartedAt), tp(s.FinishedAt)
	}
	c.Pauses = slices.Clone(d.Pauses)
	for i := range c.Pauses {
		c.Pauses[i].Items = slices.Clone(c.Pauses[i].Items)
		c.Pauses[i].EndedAt = tp(c.Pauses[i].EndedAt)
	}
	c.Handoffs = slices.Clone(d.Handoffs)
	c.History = slices.Clone(d.History)
	for i := range c.History {
		h := &c.History[i]
		h.DueAt, h.PromisedAt, h.StepDueAt = tp(h.DueAt), tp(h.PromisedAt), tp(h.StepDueAt)
	}
	return &c
}

func errorOf(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

func TestParseAction(t *testing.T) {
	t.Parallel()
	for _, a := range AllActions() {
		if got, ok := ParseAction(string(a)); !ok || got != a {
			t.Errorf("ParseAction(%q) = %q, %v", a, got, ok)
		}
		if performers[a] == "" {
			t.Errorf("%s has no performer", a)
		}
	}
	for _, s := range []string{"", "Accept", "approve", "complete", "accept "} {
		if _, ok := ParseAction(s); ok {
			t.Errorf("ParseAction(%q) accepted", s)
		}
	}
	if len(AllActions()) != 12 {
		t.Fatalf("%d actions, want the contract's 12", len(AllActions()))
	}
	// The table is one row per (status, action), and each row's performer is
	// the action's.
	seen := map[[2]string]bool{}
	for _, tr := range Transitions() {
		k := [2]string{tr.From.String(), string(tr.Action)}
		if seen[k] {
			t.Errorf("two rows for %v", k)
		}
		seen[k] = true
		if tr.By != performers[tr.Action] {
			t.Errorf("%v: performer %s, want %s", k, tr.By, performers[tr.Action])
		}
	}
}

// TestTransitionMatrix tries every action in every status as an
// administrator: the table's actions succeed, others are invalid_transition
// naming exactly the table's actions, with nothing changed.
func TestTransitionMatrix(t *testing.T) {
	t.Parallel()
	cal := NewCalendar(DefaultOfficeHours(), nil)
	want := map[Status][]string{
		StatusNew:                 {"accept", "refuse", "withdraw"},
		StatusReceived:            {"refuse", "transfer", "withdraw"},
		StatusRefused:             {},
		StatusProcessing:          {"complete_step", "extend", "request_payment", "request_supplement", "stop", "withdraw"},
		StatusSupplementRequested: {"receive_supplement", "stop", "withdraw"},
		StatusAwaitingPayment:     {"receive_payment", "stop", "withdraw"},
		StatusWithdrawn:           {},
		StatusStopped:             {},
		StatusProcessed:           {"return_result"},
		StatusReturned:            {},
	}
	for _, s := range AllStatuses() {
		for _, a := range AllActions() {
			t.Run(s.String()+"/"+string(a), func(t *testing.T) {
				t.Parallel()
				d, now := tDossierIn(t, s, cal)
				before := cloneDossier(d)
				ch, err := d.Apply(tInput(a, d, now), tAdmin, now, cal, DefaultDueSoonLead)
				allowed := slices.Contains(want[s], string(a))
				if allowed {
					if err != nil {
						t.Fatalf("not allowed: %v", err)
					}
					tr, _ := transitionFor(s, a)
					if !slices.Contains(tr.To, d.Status) {
						t.Errorf("went to %s, want one of %v", d.Status, tr.To)
					}
					if len(ch.History) != 1 || ch.History[0].From != s || ch.History[0].To != d.Status ||
						ch.History[0].Action != a.History() || !ch.History[0].At.Equal(now) || ch.History[0].Actor != "admin" {
						t.Errorf("history %+v", ch.History)
					}
					if len(ch.Events) == 0 {
						t.Errorf("no event")
					}
					if d.Version != before.Version+1 || !d.UpdatedAt.Equal(now) {
						t.Errorf("version %d updated %v", d.Version, d.UpdatedAt)
					}
					return
				}
				e := errorOf(err)
				if e == nil || e.Kind != Conflict || e.Code != "invalid_transition" {
					t.Fatalf("got %v, want invalid_transition", err)
				}
				if e.Allowed == nil || !slices.Equal(e.Allowed, want[s]) {
					t.Errorf("allowed %q, want %q", e.Allowed, want[s])
				}
				if !reflect.DeepEqual(d, before) {
					t.Errorf("the dossier changed")
				}
			})
		}
	}
}

// TestAuthorisationMatrix: every action x role x agency (the receiving unit,
// the unit holding the current step, a foreign one) on a dossier in a status
// where the table allows the action.
func TestAuthorisationMatrix(t *testing.T) {
	t.Parallel()
	cal := NewCalendar(DefaultOfficeHours(), nil)
	roles := []Role{RoleClerk, RoleOfficer, RoleSupervisor, RoleAdmin}
	for _, tr := range Transitions() {
		for _, role := range roles {
			for _, where := range []string{"receiving", "holding", "foreign"} {
				t.Run(tr.From.String()+"/"+string(tr.Action)+"/"+string(role)+"/"+where, func(t *testing.T) {
					t.Parallel()
					d, now := tDossierIn(t, tr.From, cal)
					holder := d.Steps[0].AgencyCode // no step is held: the first step's unit
					if s := d.Current(); s != nil {
						holder = s.AgencyCode
					}
					agency := map[string]string{"receiving": tOneStop, "holding": holder, "foreign": tForeign}[where]
					actor := Actor{Sub: "x", Roles: []Role{role}, Agency: agency}
					var ok bool
					switch role {
					case RoleAdmin:
						ok = true
					case RoleClerk:
						ok = tr.By == ByReceivingClerk && where == "receiving"
					case RoleOfficer:
						ok = tr.By == ByStepOfficer && where == "holding" && d.Current() != nil
					}
					if got := slices.Contains(d.AllowedActions(actor), tr.Action); got != ok {
						t.Errorf("AllowedActions has %s: %v, want %v", tr.Action, got, ok)
					}
					before := cloneDossier(d)
					_, err := d.Apply(tInput(tr.Action, d, now), actor, now, cal, DefaultDueSoonLead)
					if ok {
						if err != nil {
							t.Fatalf("refused: %v", err)
						}
						return
					}
					if KindOf(err) != Forbidden || CodeOf(err) != "forbidden" {
						t.Fatalf("got %v, want forbidden", err)
					}
					if !reflect.DeepEqual(d, before) {
						t.Errorf("the dossier changed")
					}
				})
			}
		}
	}
}

// TestAuthorisationBeforeState: a role that may never take an action is
// forbidden whatever the status; one that may is told the transition is
// invalid.
func TestAuthorisationBeforeState(t *testing.T) {
	t.Parallel()
	cal := NewCalendar(DefaultOfficeHours(), nil)
	d, now := tDossierIn(t, StatusReturned, cal)
	if _, err := d.Apply(tInput(ActionWithdraw, d, now), tSupervisor, now, cal, DefaultDueSoonLead); KindOf(err) != Forbidden {
		t.Errorf("supervisor: %v", err)
	}
	if _, err := d.Apply(tInput(ActionWithdraw, d, now), tClerk, now, cal, DefaultDueSoonLead); CodeOf(err) != "invalid_transition" {
		t.Errorf("clerk: %v", err)
	}
	if got := d.AllowedActions(tAdmin); len(got) != 0 || got == nil {
		t.Errorf("allowed on a returned dossier: %v", got)
	}
}

type walkStep struct {
	at     time.Time
	actor  Actor
	in     TransitionInput
	status Status
	due    time.Time  // legal deadline after the action
	step   *time.Time // current step's deadline after it
	events []EventType
}

// TestFullWalk carries an online dossier of a three-step, ten-working-day
// procedure through a restarted supplement, a payment pause, a (late)
// apology, a late finish and a postal return, on the 2026 calendar, checking
// every deadline to the minute.
func TestFullWalk(t *testing.T) {
	t.Parallel()
	cal := NewCalendar(DefaultOfficeHours(), nil)
	d := tOnline(ClockRestart)
	at := vnAt
	tp := func(y int, m time.Month, dd, hh, mm int) *time.Time { v := vnAt(y, m, dd, hh, mm); return &v }
	newDue := at(2026, 4, 17, 17, 0)
	steps := []walkStep{
		// Accepted after hours on Friday: counting starts Monday 16/3 08:00;
		// ten working days end Friday 27/3 17:00.
		{at(2026, 3, 13, 17, 30), tClerk, TransitionInput{Action: ActionAccept}, StatusReceived,
			at(2026, 3, 27, 17, 0), nil, []EventType{EventReceived}},
		// Step 1 (2 days) from Monday 10:00: 6h on Monday, 8h Tuesday, 2h Wednesday.
		{at(2026, 3, 16, 10, 0), tClerk, TransitionInput{Action: ActionTransfer}, StatusProcessing,
			at(2026, 3, 27, 17, 0), tp(2026, 3, 18, 10, 0), []EventType{EventTransferred}},
		// Step 1 done early Tuesday 15:00; step 2 (6 days) runs to Wednesday 25/3 15:00.
		{at(2026, 3, 17, 15, 0), tOfficerA, TransitionInput{Action: ActionCompleteStep}, StatusProcessing,
			at(2026, 3, 27, 17, 0), tp(2026, 3, 25, 15, 0), []EventType{EventStepCompleted}},
		// Supplement requested Thursday 19/3 10:00: the deadlines stand still.
		{at(2026, 3, 19, 10, 0), tOfficerB, TransitionInput{Action: ActionRequestSupplement, Reason: "Thiếu giấy tờ",
			Items: []string{" Bản sao CCCD ", "Hợp đồng thuê nhà"}}, StatusSupplementRequested,
			at(2026, 3, 27, 17, 0), tp(2026, 3, 25, 15, 0), []EventType{EventSupplementRequested}},
		// Supplied Tuesday 24/3 14:00: the clock restarts with ten full days
		// (3h + 9 days + 5h: Tuesday 7/4 14:00) and step 2 with six (3h + 5
		// days + 5h: Wednesday 1/4 14:00).
		{at(2026, 3, 24, 14, 0), tClerk, TransitionInput{Action: ActionReceiveSupplement}, StatusProcessing,
			at(2026, 4, 7, 14, 0), tp(2026, 4, 1, 14, 0), []EventType{EventSupplementReceived}},
		// Fees requested Thursday 26/3 09:00, 12h used on both clocks.
		{at(2026, 3, 26, 9, 0), tOfficerB, TransitionInput{Action: ActionRequestPayment, Amount: 500000, Note: "Lệ phí"},
			StatusAwaitingPayment, at(2026, 4, 7, 14, 0), tp(2026, 4, 1, 14, 0), []EventType{EventPaymentRequested}},
		// Paid Monday 30/3 16:00: 68h left of the dossier's time (1h + 8 days
		// + 3h: Friday 10/4 11:00), 36h of step 2's (1h + 4 days + 3h: Monday 6/4 11:00).
		{at(2026, 3, 30, 16, 0), tClerk, TransitionInput{Action: ActionReceivePayment}, StatusProcessing,
			at(2026, 4, 10, 11, 0), tp(2026, 4, 6, 11, 0), []EventType{EventPaymentReceived}},
		// Step 2 done late Tuesday 7/4 09:00; step 3 (2 days): 7h, 8h, 1h: Thursday 9/4 09:00.
		{at(2026, 4, 7, 9, 0), tOfficerB, TransitionInput{Action: ActionCompleteStep}, StatusProcessing,
			at(2026, 4, 10, 11, 0), tp(2026, 4, 9, 9, 0), []EventType{EventStepCompleted}},
		// The apology 1h30 before the deadline: accepted, marked late; the
		// legal deadline stays.
		{at(2026, 4, 10, 9, 30), tOfficerC, TransitionInput{Action: ActionExtend, Reason: "Cần xác minh thực địa",
			NewDueAt: &newDue}, StatusProcessing, at(2026, 4, 10, 11, 0), tp(2026, 4, 9, 9, 0), []EventType{EventExtended}},
		// Approved Monday 13/4 10:00: late against the legal deadline, and
		// the change says so (completed_late).
		{at(2026, 4, 13, 10, 0), tOfficerC, TransitionInput{Action: ActionCompleteStep, Result: ResultApproved},
			StatusProcessed, at(2026, 4, 10, 11, 0), nil, []EventType{EventStepCompleted, EventProcessed, EventCompletedLate}},
		{at(2026, 4, 14, 15, 0), tClerk, TransitionInput{Action: ActionReturnResult, Method: DeliveryPostal},
			StatusReturned, at(2026, 4, 10, 11, 0), nil, []EventType{EventReturned}},
	}
	var history []HistoryEntry
	var events []Event
	for i, s := range steps {
		from := d.Status
		version := d.Version
		ch, err := d.Apply(s.in, s.actor, s.at, cal, DefaultDueSoonLead)
		if err != nil {
			t.Fatalf("%d %s: %v", i, s.in.Action, err)
		}
		if d.Status != s.status {
			t.Fatalf("%d %s: status %s, want %s", i, s.in.Action, d.Status, s.status)
		}
		if d.Version != version+1 {
			t.Errorf("%d: version %d", i, d.Version)
		}
		if d.Clock.DueAt == nil || !d.Clock.DueAt.Equal(s.due) {
			t.Errorf("%d %s: due %v, want %v", i, s.in.Action, d.Clock.DueAt, s.due)
		}
		var stepDue *time.Time
		if c := d.Current(); c != nil {
			stepDue = c.Clock.DueAt
		}
		if (stepDue == nil) != (s.step == nil) || (stepDue != nil && !stepDue.Equal(*s.step)) {
			t.Errorf("%d %s: step due %v, want %v", i, s.in.Action, stepDue, s.step)
		}
		if len(ch.History) != 1 {
			t.Fatalf("%d: %d history rows", i, len(ch.History))
		}
		h := ch.History[0]
		if !h.At.Equal(s.at) || h.Actor != s.actor.Sub || h.Action != s.in.Action.History() || h.From != from ||
			h.To != s.status || h.DueAt == nil || !h.DueAt.Equal(s.due) ||
			(h.StepDueAt == nil) != (s.step == nil) || (s.step != nil && !h.StepDueAt.Equal(*s.step)) {
			t.Errorf("%d: history %+v", i, h)
		}
		var types []EventType
		for _, e := range ch.Events {
			types = append(types, e.Type)
			if e.DossierCode != d.Code || e.AgencyCode != tOneStop || e.Status != d.Status || !e.OccurredAt.Equal(s.at) ||
				e.DueAt == nil || !e.DueAt.Equal(s.due) {
				t.Errorf("%d: event %+v", i, e)
			}
		}
		if !slices.Equal(types, s.events) {
			t.Errorf("%d: events %v, want %v", i, types, s.events)
		}
		history = append(history, ch.History...)
		events = append(events, ch.Events...)
	}

	if len(history) != len(steps) || len(events) != 13 || len(d.History) != len(steps) {
		t.Errorf("%d history rows (%d on the dossier), %d events", len(history), len(d.History), len(events))
	}
	// The step named by step_completed is the finished one; transferred names step 1.
	if events[1].Step != "Tiếp nhận, phân công" || events[2].Step != "Tiếp nhận, phân công" ||
		events[7].Step != "Thẩm định" || events[9].Step != "Phê duyệt" || events[10].Step != "" {
		t.Errorf("event steps %q %q %q %q %q", events[1].Step, events[2].Step, events[7].Step, events[9].Step, events[10].Step)
	}
	if h := history[3]; h.Note != "Thiếu giấy tờ" {
		t.Errorf("supplement note %q", h.Note)
	}
	if h := history[8]; h.PromisedAt == nil || !h.PromisedAt.Equal(newDue) {
		t.Errorf("extension history %+v", h)
	}

	// Receipt and counting.
	if !d.CountingFrom.Equal(at(2026, 3, 16, 8, 0)) || !d.OriginalDue.Equal(at(2026, 3, 27, 17, 0)) {
		t.Errorf("counting from %v, receipt due %v", d.CountingFrom, d.OriginalDue)
	}
	// The control slip.
	// Overruns: step 2 due Mon 6/4 11:00, finished Tue 7/4 09:00 (1 + 4 + 1 = 6 h); step 3 due Thu 9/4
	// 09:00, finished Mon 13/4 10:00 (3 + 4 + 8 + 2 = 17 h).
	wantSlip := []Handoff{
		{StepSeq: 0, FromUnit: tOneStop, ToUnit: tUnitA, At: at(2026, 3, 16, 10, 0), Verdict: VerdictEarly},
		{StepSeq: 1, FromUnit: tUnitA, ToUnit: tUnitB, At: at(2026, 3, 17, 15, 0), Verdict: VerdictEarly},
		{StepSeq: 2, FromUnit: tUnitB, ToUnit: tUnitC, At: at(2026, 4, 7, 9, 0), Verdict: VerdictLate, OverrunMinutes: 6 * 60},
		{StepSeq: 3, FromUnit: tUnitC, ToUnit: tOneStop, At: at(2026, 4, 13, 10, 0), Verdict: VerdictLate, OverrunMinutes: 17 * 60},
	}
	if len(d.Handoffs) != len(wantSlip) {
		t.Fatalf("control slip %+v", d.Handoffs)
	}
	for i, w := range wantSlip {
		g := d.Handoffs[i]
		if g.StepSeq != w.StepSeq || g.FromUnit != w.FromUnit || g.ToUnit != w.ToUnit || !g.At.Equal(w.At) || g.Verdict != w.Verdict ||
			g.OverrunMinutes != w.OverrunMinutes || g.Actor == "" {
			t.Errorf("slip row %d: %+v, want %+v", i, g, w)
		}
	}
	// The steps.
	wantSteps := []struct {
		started, finished, due time.Time
		verdict                Verdict
	}{
		{at(2026, 3, 16, 10, 0), at(2026, 3, 17, 15, 0), at(2026, 3, 18, 10, 0), VerdictEarly},
		{at(2026, 3, 17, 15, 0), at(2026, 4, 7, 9, 0), at(2026, 4, 6, 11, 0), VerdictLate},
		{at(2026, 4, 7, 9, 0), at(2026, 4, 13, 10, 0), at(2026, 4, 9, 9, 0), VerdictLate},
	}
	for i, w := range wantSteps {
		s := d.Steps[i]
		if !s.StartedAt.Equal(w.started) || !s.FinishedAt.Equal(w.finished) || !s.Clock.DueAt.Equal(w.due) ||
			s.Verdict != w.verdict || s.Clock.Running() {
			t.Errorf("step %d: started %v finished %v due %v verdict %s running %v", i+1, s.StartedAt, s.FinishedAt,
				s.Clock.DueAt, s.Verdict, s.Clock.Running())
		}
	}
	// The pauses, each with its interval.
	if len(d.Pauses) != 2 {
		t.Fatalf("pauses %+v", d.Pauses)
	}
	p := d.Pauses[0]
	if p.Kind != PauseSupplement || p.Clock != ClockRestart || p.Reason != "Thiếu giấy tờ" ||
		!slices.Equal(p.Items, []string{"Bản sao CCCD", "Hợp đồng thuê nhà"}) ||
		!p.StartedAt.Equal(at(2026, 3, 19, 10, 0)) || p.EndedAt == nil || !p.EndedAt.Equal(at(2026, 3, 24, 14, 0)) {
		t.Errorf("supplement pause %+v", p)
	}
	p = d.Pauses[1]
	if p.Kind != PausePayment || p.Clock != ClockPause || p.Amount != 500000 || p.Reason != "Lệ phí" ||
		!p.StartedAt.Equal(at(2026, 3, 26, 9, 0)) || p.EndedAt == nil || !p.EndedAt.Equal(at(2026, 3, 30, 16, 0)) {
		t.Errorf("payment pause %+v", p)
	}
	// The apology, the result and the return.
	if e := d.Extension; e == nil || !e.NewDueAt.Equal(newDue) || !e.RecordedAt.Equal(at(2026, 4, 10, 9, 30)) || !e.Late ||
		e.Reason != "Cần xác minh thực địa" {
		t.Errorf("extension %+v", d.Extension)
	}
	if d.Result != ResultApproved || d.Verdict != VerdictLate || !d.ProcessedAt.Equal(at(2026, 4, 13, 10, 0)) ||
		!d.ReturnedAt.Equal(at(2026, 4, 14, 15, 0)) || d.ReturnMethod != DeliveryPostal || d.ClosedAt != nil {
		t.Errorf("result %s verdict %s processed %v returned %v by %s", d.Result, d.Verdict, d.ProcessedAt, d.ReturnedAt, d.ReturnMethod)
	}
	if d.CurrentStep != 0 || d.HolderCode != tOneStop || d.Clock.Running() || !d.LateAt(at(2026, 4, 14, 15, 0)) {
		t.Errorf("current step %d holder %s running %v", d.CurrentStep, d.HolderCode, d.Clock.Running())
	}
	// 12h before the fees, then Monday 16:00 to Monday 13/4 10:00: 1h, 9 days, 2h.
	if want := int64(12*60 + 60 + 9*MinutesPerWorkingDay + 120); d.Clock.Used != want {
		t.Errorf("working minutes used %d, want %d", d.Clock.Used, want)
	}
}

// TestSupplementThatPauses: under a pausing procedure the dossier and the
// step resume with the time they had left; an apology in good time is not late.
func TestSupplementThatPauses(t *testing.T) {
	t.Parallel()
	cal := NewCalendar(DefaultOfficeHours(), nil)
	d := tOnline(ClockPause)
	apply := func(at time.Time, actor Actor, in TransitionInput) {
		t.Helper()
		if _, err := d.Apply(in, actor, at, cal, DefaultDueSoonLead); err != nil {
			t.Fatalf("%s: %v", in.Action, err)
		}
	}
	apply(vnAt(2026, 3, 16, 9, 0), tClerk, TransitionInput{Action: ActionAccept})   // due Monday 30/3 09:00
	apply(vnAt(2026, 3, 16, 9, 0), tClerk, TransitionInput{Action: ActionTransfer}) // step 1 due Wednesday 18/3 09:00
	apply(vnAt(2026, 3, 17, 9, 0), tOfficerA, TransitionInput{Action: ActionRequestSupplement, Reason: "r", Items: []string{"x"}})
	if d.Pauses[0].Clock != ClockPause {
		t.Errorf("pause rule %s", d.Pauses[0].Clock)
	}
	// One day used; back Monday 23/3 (a Sunday receipt counts from Monday 08:00).
	apply(vnAt(2026, 3, 22, 10, 0), tClerk, TransitionInput{Action: ActionReceiveSupplement})
	if want := vnAt(2026, 4, 2, 17, 0); !d.Clock.DueAt.Equal(want) { // 9 days from Monday 23/3 08:00
		t.Errorf("due %v, want %v", d.Clock.DueAt, want)
	}
	if want := vnAt(2026, 3, 23, 17, 0); !d.Steps[0].Clock.DueAt.Equal(want) {
		t.Errorf("step due %v, want %v", d.Steps[0].Clock.DueAt, want)
	}
	// Two working days before the deadline: in good time.
	nd := vnAt(2026, 4, 10, 17, 0)
	apply(vnAt(2026, 3, 31, 17, 0), tOfficerA, TransitionInput{Action: ActionExtend, Reason: "r", NewDueAt: &nd})
	if d.Extension.Late {
		t.Errorf("an apology two days ahead marked late")
	}
	if got := d.AllowedActions(tOfficerA); slices.Contains(got, ActionExtend) {
		t.Errorf("extend still offered: %v", got)
	}
	// Exactly one working day ahead is in good time too; less is late.
	for _, c := range []struct {
		at   time.Time
		late bool
	}{{vnAt(2026, 4, 1, 17, 0), false}, {vnAt(2026, 4, 2, 8, 0), false}, {vnAt(2026, 4, 2, 8, 1), true}, {vnAt(2026, 4, 3, 8, 0), true}} {
		e := cloneDossier(d)
		e.Extension = nil
		if _, err := e.Apply(TransitionInput{Action: ActionExtend, Reason: "r", NewDueAt: &nd}, tOfficerA, c.at, cal, DefaultDueSoonLead); err != nil {
			t.Fatal(err)
		}
		if e.Extension.Late != c.late {
			t.Errorf("apology at %v: late %v, want %v", c.at, e.Extension.Late, c.late)
		}
	}
}

// TestClosing: withdraw, stop and refuse stop the clocks, close an open
// pause and keep the holder.
func TestClosing(t *testing.T) {
	t.Parallel()
	cal := NewCalendar(DefaultOfficeHours(), nil)
	for _, c := range []struct {
		from   Status
		action Action
		actor  Actor
		to     Status
		event  EventType
	}{
		{StatusSupplementRequested, ActionWithdraw, tClerk, StatusWithdrawn, EventWithdrawn},
		{StatusAwaitingPayment, ActionStop, tOfficerA, StatusStopped, EventStopped},
		{StatusProcessing, ActionStop, tOfficerA, StatusStopped, EventStopped},
		{StatusReceived, ActionRefuse, tClerk, StatusRefused, EventRefused},
		{StatusNew, ActionRefuse, tClerk, StatusRefused, EventRefused},
	} {
		t.Run(string(c.action)+"/"+c.from.String(), func(t *testing.T) {
			t.Parallel()
			d, now := tDossierIn(t, c.from, cal)
			holder, step := d.HolderCode, d.CurrentStep
			ch, err := d.Apply(TransitionInput{Action: c.action, Reason: "  Công dân rút hồ sơ  "}, c.actor, now, cal, DefaultDueSoonLead)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != c.to || d.ClosedAt == nil || !d.ClosedAt.Equal(now) || d.Clock.Running() ||
				d.HolderCode != holder || d.CurrentStep != step || d.OpenPause() != nil {
				t.Errorf("%+v", d)
			}
			if s := d.Current(); s != nil && (s.Clock.Running() || s.FinishedAt != nil) {
				t.Errorf("step %+v", s)
			}
			if ch.History[0].Note != "Công dân rút hồ sơ" || len(ch.Events) != 1 || ch.Events[0].Type != c.event {
				t.Errorf("change %+v", ch)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	cal := NewCalendar(DefaultOfficeHours(), nil)
	long := strings.Repeat("ạ", 1001)
	cases := []struct {
		name   string
		status Status
		prep   func(d *Dossier, now time.Time)
		actor  Actor
		in     func(d *Dossier, now time.Time) TransitionInput
		kind   Kind
		code   string
		field  string
	}{
		{name: "unknown action", status: StatusProcessing, actor: tAdmin,
			in:   func(*Dossier, time.Time) TransitionInput { return TransitionInput{Action: "approve"} },
			kind: Invalid, code: "validation_failed", field: "action"},
		{name: "refuse without a reason", status: StatusNew, actor: tClerk,
			in:   func(*Dossier, time.Time) TransitionInput { return TransitionInput{Action: ActionRefuse, Reason: "  "} },
			kind: Invalid, code: "validation_failed", field: "reason"},
		{name: "withdraw without a reason", status: StatusProcessing, actor: tClerk,
			in:   func(*Dossier, time.Time) TransitionInput { return TransitionInput{Action: ActionWithdraw} },
			kind: Invalid, code: "validation_failed", field: "reason"},
		{name: "stop without a reason", status: StatusProcessing, actor: tOfficerA,
			in:   func(*Dossier, time.Time) TransitionInput { return TransitionInput{Action: ActionStop} },
			kind: Invalid, code: "validation_failed", field: "reason"},
		{name: "reason too long", status: StatusProcessing, actor: tOfficerA,
			in:   func(*Dossier, time.Time) TransitionInput { return TransitionInput{Action: ActionStop, Reason: long} },
			kind: Invalid, code: "validation_failed", field: "reason"},
		{name: "extend without a reason", status: StatusProcessing, actor: tOfficerA,
			in: func(d *Dossier, now time.Time) TransitionInput {
				in := tInput(ActionExtend, d, now)
				in.Reason = ""
				return in
			}, kind: Invalid, code: "validation_failed", field: "reason"},
		{name: "extend twice", status: StatusProcessing, actor: tOfficerA,
			prep: func(d *Dossier, now time.Time) {
				if _, err := d.Apply(tInput(ActionExtend, d, now), tOfficerA, now, cal, DefaultDueSoonLead); err != nil {
					panic(err)
				}
			},
			in:   func(d *Dossier, now time.Time) TransitionInput { return tInput(ActionExtend, d, now) },
			kind: Conflict, code: "already_extended"},
		{name: "extend to an earlier date", status: StatusProcessing, actor: tOfficerA,
			in: func(d *Dossier, now time.Time) TransitionInput {
				in := tInput(ActionExtend, d, now)
				early := d.Clock.DueAt.Add(-time.Hour)
				in.NewDueAt = &early
				return in
			}, kind: Invalid, code: "validation_failed", field: "new_due_at"},
		{name: "extend to the deadline itself", status: StatusProcessing, actor: tOfficerA,
			in: func(d *Dossier, now time.Time) TransitionInput {
				in := tInput(ActionExtend, d, now)
				in.NewDueAt = d.Clock.DueAt
				return in
			}, kind: Invalid, code: "validation_failed", field: "new_due_at"},
		{name: "extend without a date", status: StatusProcessing, actor: tOfficerA,
			in: func(d *Dossier, now time.Time) TransitionInput {
				return TransitionInput{Action: ActionExtend, Reason: "r"}
			}, kind: Invalid, code: "validation_failed", field: "new_due_at"},
		{name: "extend beyond 1000 working days", status: StatusProcessing, actor: tOfficerA,
			in: func(d *Dossier, now time.Time) TransitionInput {
				in := tInput(ActionExtend, d, now)
				far := d.Clock.DueAt.AddDate(5, 0, 0)
				in.NewDueAt = &far
				return in
			}, kind: Invalid, code: "validation_failed", field: "new_due_at"},
		{name: "complete the last step without a result", status: StatusProcessing, actor: tOfficerC,
			prep: func(d *Dossier, now time.Time) {
				for range 2 {
					if _, err := d.Apply(TransitionInput{Action: ActionCompleteStep}, tAdmin, now, cal, DefaultDueSoonLead); err != nil {
						panic(err)
					}
				}
			},
			in:   func(*Dossier, time.Time) TransitionInput { return TransitionInput{Action: ActionCompleteStep} },
			kind: Invalid, code: "validation_failed", field: "result"},
		{name: "complete the last step with a made-up result", status: StatusProcessing, actor: tAdmin,
			prep: func(d *Dossier, now time.Time) {
				for range 2 {
					if _, err := d.Apply(TransitionInput{Action: ActionCompleteStep}, tAdmin, now, cal, DefaultDueSoonLead); err != nil {
						panic(err)
					}
				}
			},
			in: func(*Dossier, time.Time) TransitionInput {
				return TransitionInput{Action: ActionCompleteStep, Result: "granted"}
			}, kind: Invalid, code: "validation_failed", field: "result"},
		{name: "a result on a step that is not the last", status: StatusProcessing, actor: tOfficerA,
			in: func(*Dossier, time.Time) TransitionInput {
				return TransitionInput{Action: ActionCompleteStep, Result: ResultApproved}
			}, kind: Invalid, code: "validation_failed", field: "result"},
		{name: "a transition on a returned dossier", status: StatusReturned, actor: tClerk,
			in:   func(d *Dossier, now time.Time) TransitionInput { return tInput(ActionWithdraw, d, now) },
			kind: Conflict, code: "invalid_transition"},
		{name: "a transition on a stopped dossier", status: StatusStopped, actor: tAdmin,
			in:   func(d *Dossier, now time.Time) TransitionInput { return tInput(ActionCompleteStep, d, now) },
			kind: Conflict, code: "invalid_transition"},
		{name: "payment of nothing", status: StatusProcessing, actor: tOfficerA,
			in:   func(*Dossier, time.Time) TransitionInput { return TransitionInput{Action: ActionRequestPayment} },
			kind: Invalid, code: "validation_failed", field: "amount"},
		{name: "payment below zero", status: StatusProcessing, actor: tOfficerA,
			in: func(*Dossier, time.Time) TransitionInput {
				return TransitionInput{Action: ActionRequestPayment, Amount: -5}
			}, kind: Invalid, code: "validation_failed", field: "amount"},
		{name: "supplement without items", status: StatusProcessing, actor: tOfficerA,
			in: func(*Dossier, time.Time) TransitionInput {
				return TransitionInput{Action: ActionRequestSupplement, Reason: "r", Items: []string{}}
			}, kind: Invalid, code: "validation_failed", field: "items"},
		{name: "supplement with a blank item", status: StatusProcessing, actor: tOfficerA,
			in: func(*Dossier, time.Time) TransitionInput {
				return TransitionInput{Action: ActionRequestSupplement, Reason: "r", Items: []string{"a", " "}}
			}, kind: Invalid, code: "validation_failed", field: "items[1]"},
		{name: "supplement with 51 items", status: StatusProcessing, actor: tOfficerA,
			in: func(*Dossier, time.Time) TransitionInput {
				return TransitionInput{Action: ActionRequestSupplement, Reason: "r", Items: slices.Repeat([]string{"a"}, 51)}
			}, kind: Invalid, code: "validation_failed", field: "items"},
		{name: "supplement without a reason", status: StatusProcessing, actor: tOfficerA,
			in: func(*Dossier, time.Time) TransitionInput {
				return TransitionInput{Action: ActionRequestSupplement, Items: []string{"a"}}
			}, kind: Invalid, code: "validation_failed", field: "reason"},
		{name: "return without a method", status: StatusProcessed, actor: tClerk,
			in:   func(*Dossier, time.Time) TransitionInput { return TransitionInput{Action: ActionReturnResult} },
			kind: Invalid, code: "validation_failed", field: "method"},
		{name: "return by pigeon", status: StatusProcessed, actor: tClerk,
			in: func(*Dossier, time.Time) TransitionInput {
				return TransitionInput{Action: ActionReturnResult, Method: "pigeon"}
			}, kind: Invalid, code: "validation_failed", field: "method"},
		{name: "a field of another action", status: StatusProcessing, actor: tClerk,
			in: func(*Dossier, time.Time) TransitionInput {
				return TransitionInput{Action: ActionWithdraw, Reason: "r", Amount: 10}
			}, kind: Invalid, code: "validation_failed", field: "amount"},
		{name: "a supervisor", status: StatusProcessing, actor: tSupervisor,
			in:   func(d *Dossier, now time.Time) TransitionInput { return tInput(ActionWithdraw, d, now) },
			kind: Forbidden, code: "forbidden"},
		{name: "an officer of the next step", status: StatusProcessing, actor: tOfficerB,
			in:   func(d *Dossier, now time.Time) TransitionInput { return tInput(ActionCompleteStep, d, now) },
			kind: Forbidden, code: "forbidden"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, now := tDossierIn(t, c.status, cal)
			if c.prep != nil {
				c.prep(d, now)
			}
			before := cloneDossier(d)
			ch, err := d.Apply(c.in(d, now), c.actor, now, cal, DefaultDueSoonLead)
			e := errorOf(err)
			if e == nil || e.Kind != c.kind || e.Code != c.code {
				t.Fatalf("got %v, want kind %d code %s", err, c.kind, c.code)
			}
			if c.field != "" && (len(e.Fields) == 0 || e.Fields[0].Field != c.field) {
				t.Errorf("fields %+v, want %s", e.Fields, c.field)
			}
			if !reflect.DeepEqual(d, before) {
				t.Errorf("the dossier changed")
			}
			if len(ch.History) != 0 || len(ch.Events) != 0 || len(ch.Handoffs) != 0 {
				t.Errorf("a change came back: %+v", ch)
			}
		})
	}
}

// TestSupplementExpired: a supplement requested Friday 24/4/2026 10:00
// expires after 15 working days, across the Hùng Kings make-up Monday 27/4
// and 30/4-1/5: Wednesday 20/5 10:00, not a minute before.
func TestSupplementExpired(t *testing.T) {
	t.Parallel()
	cal := NewCalendar(DefaultOfficeHours(), nil)
	d, _ := tDossierIn(t, StatusProcessing, cal)
	asked := vnAt(2026, 4, 24, 10, 0)
	if _, err := d.Apply(TransitionInput{Action: ActionRequestSupplement, Reason: "r", Items: []string{"x"}}, tOfficerA, asked, cal, DefaultDueSoonLead); err != nil {
		t.Fatal(err)
	}
	limit := int64(15 * MinutesPerWorkingDay)
	for _, c := range []struct {
		at   time.Time
		want bool
	}{
		{vnAt(2026, 5, 20, 9, 59), false},
		{vnAt(2026, 5, 20, 9, 59).Add(59 * time.Second), false},
		{vnAt(2026, 5, 20, 10, 0), true},
		{vnAt(2026, 5, 21, 8, 0), true},
	} {
		if got := d.SupplementExpired(cal, c.at, limit); got != c.want {
			t.Errorf("at %v: %v, want %v", c.at, got, c.want)
		}
		if got := d.SupplementExpired(cal, c.at, 0); got != c.want {
			t.Errorf("default limit at %v: %v, want %v", c.at, got, c.want)
		}
	}
	system := Actor{Sub: "system", Roles: []Role{RoleAdmin}}
	if _, stopped, err := d.StopUnsupplemented(cal, vnAt(2026, 5, 20, 9, 59), 0, system, DefaultDueSoonLead); stopped || err != nil || d.Status != StatusSupplementRequested {
		t.Fatalf("stopped early: %v %v", stopped, err)
	}
	at := vnAt(2026, 5, 20, 10, 0)
	ch, stopped, err := d.StopUnsupplemented(cal, at, 0, system, DefaultDueSoonLead)
	if !stopped || err != nil || d.Status != StatusStopped || d.Pauses[0].EndedAt == nil || !d.Pauses[0].EndedAt.Equal(at) {
		t.Fatalf("not stopped: %v %v %s", stopped, err, d.Status)
	}
	if ch.History[0].Note != ReasonUnsupplemented || ch.History[0].Actor != "system" || ch.Events[0].Type != EventStopped {
		t.Errorf("change %+v", ch)
	}
	if d.SupplementExpired(cal, at.AddDate(0, 1, 0), 0) {
		t.Errorf("a stopped dossier still expires")
	}
	// Awaiting payment never expires as a supplement.
	p, _ := tDossierIn(t, StatusAwaitingPayment, cal)
	if p.SupplementExpired(cal, vnAt(2027, 1, 1, 10, 0), limit) {
		t.Errorf("a payment pause expired as a supplement")
	}
}

package handlers

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

type applicantDTO struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
	Phone    string `json:"phone,omitempty"`
	Email    string `json:"email,omitempty"`
	Address  string `json:"address,omitempty"`
}

type intakeIn struct {
	ProcedureCode string       `json:"procedure_code"`
	Channel       string       `json:"channel"`
	Applicant     applicantDTO `json:"applicant"`
	Documents     []string     `json:"documents"`
	Delivery      string       `json:"delivery"`
	ReceivedAt    *time.Time   `json:"received_at,omitempty"`
	AgencyCode    string       `json:"agency_code,omitempty"`
	Notify        []string     `json:"notify,omitempty"`
}

// notificationOut is one message to the applicant, the recipient masked.
type notificationOut struct {
	Channel  string     `json:"channel"`
	Event    string     `json:"event"`
	To       string     `json:"to"`
	Status   string     `json:"status"`
	Attempts int        `json:"attempts"`
	SentAt   *time.Time `json:"sent_at"`
}

type stepOut struct {
	Seq                  int        `json:"seq"`
	Name                 string     `json:"name"`
	AgencyCode           string     `json:"agency_code"`
	AllottedWorkingHours float64    `json:"allotted_working_hours"`
	StartedAt            *time.Time `json:"started_at"`
	DueAt                *time.Time `json:"due_at"`
	FinishedAt           *time.Time `json:"finished_at"`
	Verdict              string     `json:"verdict"`
}

type pauseOut struct {
	Kind      string     `json:"kind"`
	Clock     string     `json:"clock,omitempty"`
	Reason    string     `json:"reason"`
	Items     []string   `json:"items,omitempty"`
	Amount    int64      `json:"amount,omitempty"`
	Method    string     `json:"method,omitempty"`
	StartedAt time.Time  `json:"started_at"`
	EndedAt   *time.Time `json:"ended_at"`
}

type extensionOut struct {
	Reason     string    `json:"reason"`
	NewDueAt   time.Time `json:"new_due_at"`
	RecordedAt time.Time `json:"recorded_at"`
	Late       bool      `json:"late"`
}

type historyOut struct {
	At         time.Time  `json:"at"`
	Actor      string     `json:"actor"`
	ActorName  string     `json:"actor_name,omitempty"`
	ActorTitle string     `json:"actor_title,omitempty"`
	Action     string     `json:"action"`
	FromStatus string     `json:"from_status,omitempty"`
	ToStatus   string     `json:"to_status"`
	Note       string     `json:"note,omitempty"`
	DueAt      *time.Time `json:"due_at,omitempty"`
	PromisedAt *time.Time `json:"promised_at,omitempty"`
}

type handoffOut struct {
	StepSeq  int       `json:"step_seq"`
	FromUnit string    `json:"from_unit"`
	ToUnit   string    `json:"to_unit"`
	At       time.Time `json:"at"`
	Verdict  string    `json:"verdict"`
}

type dossierOut struct {
	Code             string        `json:"code"`
	ProcedureCode    string        `json:"procedure_code"`
	ProcedureVersion int           `json:"procedure_version"`
	AgencyCode       string        `json:"agency_code"`
	LeadAgencyCode   string        `json:"lead_agency_code"`
	Channel          string        `json:"channel"`
	Delivery         string        `json:"delivery"`
	Status           string        `json:"status"`
	StatusCode       int           `json:"status_code"`
	Applicant        applicantDTO  `json:"applicant"`
	Documents        []string      `json:"documents"`
	ReceivedAt       time.Time     `json:"received_at"`
	CountingFrom     *time.Time    `json:"counting_from"`
	DueAt            *time.Time    `json:"due_at"`
	OriginalDueAt    *time.Time    `json:"original_due_at"`
	PromisedAt       *time.Time    `json:"promised_at"`
	Late             bool          `json:"late"`
	Result           string        `json:"result,omitempty"`
	Verdict          string        `json:"verdict,omitempty"`
	ProcessedAt      *time.Time    `json:"processed_at"`
	ReturnedAt       *time.Time    `json:"returned_at"`
	ReturnMethod     string        `json:"return_method,omitempty"`
	Version          int           `json:"version"`
	CurrentStep      *int          `json:"current_step"`
	HolderCode       string        `json:"holder_code"`
	Steps            []stepOut     `json:"steps"`
	Pauses           []pauseOut    `json:"pauses"`
	Extension        *extensionOut `json:"extension"`
	Handoffs         []handoffOut  `json:"handoffs"`
	History          []historyOut  `json:"history"`
	LookupPIN        string        `json:"lookup_pin,omitempty"`
	// Notify is the channels the applicant consented to be told by.
	Notify        []string          `json:"notify"`
	Notifications []notificationOut `json:"notifications"`
	// AllowedActions are the actions the caller may take now (for the console).
	AllowedActions []string `json:"allowed_actions"`
	// Portal is the national portal sync's state (GET only; absent elsewhere).
	Portal *portalOut `json:"portal,omitempty"`
}

// portalOut is where the dossier stands with the national portal's copy.
type portalOut struct {
	SyncedAt  *time.Time `json:"synced_at"`
	Pending   bool       `json:"pending"`
	LastError *string    `json:"last_error"`
	Parked    bool       `json:"parked"`
}

func toSteps(d *domain.Dossier) []stepOut {
	out := make([]stepOut, 0, len(d.Steps))
	for _, s := range d.Steps {
		out = append(out, stepOut{Seq: s.Seq, Name: s.Name, AgencyCode: s.AgencyCode, AllottedWorkingHours: domain.WorkingHours(s.Clock.Budget),
			StartedAt: localp(s.StartedAt), DueAt: localp(s.Clock.DueAt), FinishedAt: localp(s.FinishedAt), Verdict: string(s.Verdict)})
	}
	return out
}

func toDossierOut(d *domain.Dossier, now time.Time, actor domain.Actor) dossierOut {
	out := dossierOut{
		Code: d.Code, ProcedureCode: d.ProcedureCode, ProcedureVersion: d.ProcedureVersion, AgencyCode: d.AgencyCode,
		LeadAgencyCode: d.LeadAgencyCode, Channel: string(d.Channel), Delivery: string(d.Delivery),
		Status: d.Status.String(), StatusCode: d.Status.Code(),
		Applicant: applicantDTO{Name: d.Applicant.Name, IDNumber: d.Applicant.IDNumber, Phone: d.Applicant.Phone,
			Email: d.Applicant.Email, Address: d.Applicant.Address},
		Documents: d.Documents, ReceivedAt: local(d.ReceivedAt), CountingFrom: localp(d.CountingFrom),
		DueAt: localp(d.Clock.DueAt), OriginalDueAt: localp(d.OriginalDue), PromisedAt: localp(d.PromisedAt()),
		Late: d.LateAt(now), Result: d.Result, Verdict: string(d.Verdict), ProcessedAt: localp(d.ProcessedAt),
		ReturnedAt: localp(d.ReturnedAt), ReturnMethod: string(d.ReturnMethod), Version: d.Version, HolderCode: d.HolderCode,
		Steps: toSteps(d), Pauses: []pauseOut{}, Handoffs: []handoffOut{}, History: []historyOut{}, AllowedActions: []string{},
	}
	for _, a := range d.AllowedActions(actor) {
		out.AllowedActions = append(out.AllowedActions, string(a))
	}
	if out.Documents == nil {
		out.Documents = []string{}
	}
	out.Notify = []string{}
	for _, ch := range d.Notify {
		out.Notify = append(out.Notify, string(ch))
	}
	out.Notifications = []notificationOut{}
	for _, n := range d.Notifications {
		out.Notifications = append(out.Notifications, notificationOut{Channel: string(n.Channel), Event: string(n.Event), To: n.To,
			Status: string(n.Status), Attempts: n.Attempts, SentAt: localp(n.SentAt)})
	}
	if d.CurrentStep > 0 {
		cs := d.CurrentStep
		out.CurrentStep = &cs
	}
	for _, p := range d.Pauses {
		out.Pauses = append(out.Pauses, pauseOut{Kind: string(p.Kind), Clock: string(p.Clock), Method: string(p.Method), Reason: p.Reason, Items: p.Items,
			Amount: p.Amount, StartedAt: local(p.StartedAt), EndedAt: localp(p.EndedAt)})
	}
	if e := d.Extension; e != nil {
		out.Extension = &extensionOut{Reason: e.Reason, NewDueAt: local(e.NewDueAt), RecordedAt: local(e.RecordedAt), Late: e.Late}
	}
	for _, h := range d.Handoffs {
		out.Handoffs = append(out.Handoffs, handoffOut{StepSeq: h.StepSeq, FromUnit: h.FromUnit, ToUnit: h.ToUnit, At: local(h.At), Verdict: string(h.Verdict)})
	}
	for _, h := range d.History {
		ho := historyOut{At: local(h.At), Actor: h.Actor, ActorName: h.ActorName, ActorTitle: h.ActorTitle, Action: string(h.Action), ToStatus: h.To.String(), Note: h.Note,
			DueAt: localp(h.DueAt), PromisedAt: localp(h.PromisedAt)}
		if h.From != 0 {
			ho.FromStatus = h.From.String()
		}
		out.History = append(out.History, ho)
	}
	return out
}

func (h *api) intake(c echo.Context) error {
	var in intakeIn
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	key := c.Request().Header.Get("Idempotency-Key")
	if len(key) > 200 {
		return &domain.Error{Kind: domain.Invalid, Code: domain.CodeValidationFailed, Detail: "Idempotency-Key is over 200 characters",
			Fields: []domain.FieldError{{Field: "Idempotency-Key", Message: "at most 200 characters"}}}
	}
	canonical, _ := json.Marshal(in)
	sum := sha256.Sum256(canonical)
	res, err := h.svc.Intake(c.Request().Context(), actorOf(c), service.IntakeCmd{
		ProcedureCode: in.ProcedureCode, Channel: in.Channel, Delivery: in.Delivery,
		Applicant: domain.Applicant{Name: in.Applicant.Name, IDNumber: in.Applicant.IDNumber, Phone: in.Applicant.Phone,
			Email: in.Applicant.Email, Address: in.Applicant.Address},
		Documents: in.Documents, ReceivedAt: in.ReceivedAt, AgencyCode: in.AgencyCode, Notify: in.Notify,
		IdempotencyKey: key, RequestHash: hex.EncodeToString(sum[:]),
	})
	if err != nil {
		return err
	}
	out := toDossierOut(res.Dossier, h.svc.Now(), actorOf(c))
	out.LookupPIN = res.PIN
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/dossiers/"+res.Dossier.Code)
	c.Response().Header().Set("Cache-Control", "no-store")
	status := http.StatusCreated
	if res.Replay {
		status = http.StatusOK
	}
	return c.JSON(status, out)
}

func (h *api) getDossier(c echo.Context) error {
	d, err := h.svc.Dossier(c.Request().Context(), actorOf(c), c.Param("code"))
	if err != nil {
		return err
	}
	out := toDossierOut(d, h.svc.Now(), actorOf(c))
	ps, err := h.svc.PortalState(c.Request().Context(), d.Code)
	if err != nil {
		return err
	}
	if ps != nil {
		out.Portal = &portalOut{SyncedAt: localp(ps.SyncedAt), Pending: ps.Pending, Parked: ps.Parked}
		if ps.LastError != "" {
			out.Portal.LastError = &ps.LastError
		}
	}
	return c.JSON(http.StatusOK, out)
}

// setNotifyIn changes the channels the applicant is told by.
type setNotifyIn struct {
	Notify  []string `json:"notify"`
	Version int      `json:"version"`
}

func (h *api) setNotify(c echo.Context) error {
	var in setNotifyIn
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	if in.Notify == nil {
		return &domain.Error{Kind: domain.Invalid, Code: "validation_failed", Detail: "notify is required",
			Fields: []domain.FieldError{{Field: "notify", Message: "give the channels: [], [\"sms\"], [\"email\"] or both"}}}
	}
	d, err := h.svc.SetNotify(c.Request().Context(), actorOf(c), service.SetNotifyCmd{Code: c.Param("code"), Version: in.Version, Notify: in.Notify})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toDossierOut(d, h.svc.Now(), actorOf(c)))
}

// dossierSummary is one row of the staff list.
type dossierSummary struct {
	Code          string     `json:"code"`
	ProcedureCode string     `json:"procedure_code"`
	AgencyCode    string     `json:"agency_code"`
	Channel       string     `json:"channel"`
	Status        string     `json:"status"`
	StatusCode    int        `json:"status_code"`
	ApplicantName string     `json:"applicant_name"`
	ReceivedAt    time.Time  `json:"received_at"`
	DueAt         *time.Time `json:"due_at"`
	PromisedAt    *time.Time `json:"promised_at"`
	Late          bool       `json:"late"`
	HolderCode    string     `json:"holder_code"`
	CurrentStep   *int       `json:"current_step"`
	Version       int        `json:"version"`
}

func (h *api) listDossiers(c echo.Context) error {
	q := service.ListQuery{Status: c.QueryParam("status"), AgencyCode: c.QueryParam("agency_code"),
		ProcedureCode: c.QueryParam("procedure_code"), Cursor: c.QueryParam("cursor")}
	var f domain.Fields
	if v := c.QueryParam("limit"); v != "" {
		n, err := atoiPositive(v)
		if err != nil {
			f.Add("limit", "must be a positive integer")
		}
		q.Limit = n
	}
	switch c.QueryParam("overdue") {
	case "", "false":
	case "true":
		q.Overdue = true
	default:
		f.Add("overdue", "must be true or false")
	}
	for _, p := range []struct {
		name string
		dst  **domain.Date
	}{{"received_from", &q.ReceivedFrom}, {"received_to", &q.ReceivedTo}} {
		if v := c.QueryParam(p.name); v != "" {
			d, err := domain.ParseInputDate(v)
			if err != nil {
				f.Add(p.name, "must be a date YYYY-MM-DD")
				continue
			}
			*p.dst = &d
		}
	}
	q.Late = LateQueryOf(c.QueryParams(), &f)
	if err := f.Err(); err != nil {
		return err
	}
	items, next, err := h.svc.ListDossiers(c.Request().Context(), actorOf(c), q)
	if err != nil {
		return err
	}
	now := h.svc.Now()
	out := make([]dossierSummary, 0, len(items))
	for _, d := range items {
		s := dossierSummary{Code: d.Code, ProcedureCode: d.ProcedureCode, AgencyCode: d.AgencyCode, Channel: string(d.Channel),
			Status: d.Status.String(), StatusCode: d.Status.Code(), ApplicantName: d.Applicant.Name, ReceivedAt: local(d.ReceivedAt),
			DueAt: localp(d.Clock.DueAt), PromisedAt: localp(d.PromisedAt()), Late: d.LateAt(now), HolderCode: d.HolderCode, Version: d.Version}
		if d.CurrentStep > 0 {
			cs := d.CurrentStep
			s.CurrentStep = &cs
		}
		out = append(out, s)
	}
	var nextCursor *string
	if next != "" {
		nextCursor = &next
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out, "next_cursor": nextCursor})
}

package web

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/service"
)

// The staff console: the dossier list, the intake form, the dossier page
// with the actions the signed-in person may take now (the server says
// which: domain AllowedActions), and the receipt.

type option struct {
	Value, Label string
	Selected     bool
}

type listPage struct {
	Items      []listItem
	Next       string // URL of the next page, "" at the end
	Status     []option
	Procedures []option
	Agencies   []option
	Overdue    bool
	From, To   string
	CanIntake  bool
	// Late says which lateness report count the list shows the dossiers
	// of ("" = not such a list).
	Late string
}

type listItem struct {
	Code          string
	Applicant     string
	ProcedureCode string
	Procedure     string
	Status        domain.Status
	ReceivedAt    time.Time
	DueAt         *time.Time
	PromisedAt    *time.Time
	Late          bool
	Holder        string
}

func (p *pages) consoleList(c echo.Context) error {
	ctx := c.Request().Context()
	a := handlers.ActorOf(c)
	d := p.data(c, "Danh sách hồ sơ", "console")
	q := service.ListQuery{Status: c.QueryParam("status"), AgencyCode: c.QueryParam("agency_code"),
		ProcedureCode: c.QueryParam("procedure_code"), Cursor: c.QueryParam("cursor"), Overdue: c.QueryParam("overdue") == "true", Limit: 25}
	lp := listPage{Overdue: q.Overdue, From: clip(c.QueryParam("received_from"), 10), To: clip(c.QueryParam("received_to"), 10),
		CanIntake: a.HasAny(domain.RoleClerk, domain.RoleAdmin)}
	var bad domain.Fields
	for _, f := range []struct {
		name, v string
		dst     **domain.Date
	}{{"received_from", lp.From, &q.ReceivedFrom}, {"received_to", lp.To, &q.ReceivedTo}} {
		if f.v == "" {
			continue
		}
		day, err := parseDayVN(f.v)
		if err != nil {
			bad.Add(f.name, "ngày không hợp lệ: ghi theo dạng ngày/tháng/năm, ví dụ 05/12/2026")
			continue
		}
		*f.dst = &day
	}
	q.Late = handlers.LateQueryOf(c.QueryParams(), &bad)
	procs, names, err := p.catalogue(c)
	if err != nil {
		return err
	}
	lp.Late = lateNote(q.Late, names)
	lp.Status = append(lp.Status, option{"", "Tất cả trạng thái", q.Status == ""})
	for _, s := range domain.AllStatuses() {
		lp.Status = append(lp.Status, option{s.String(), handlers.StatusNameVN(s), q.Status == s.String()})
	}
	lp.Procedures = procedureOptions(procs, q.ProcedureCode, "Tất cả thủ tục")
	agencies, err := p.visibleAgencies(c, a)
	if err != nil {
		return err
	}
	lp.Agencies = agencyOptions(agencies, q.AgencyCode, "Tất cả đơn vị")
	status := http.StatusOK
	if err := bad.Err(); err != nil {
		d.Error, d.Errors, status = "Bộ lọc chưa hợp lệ.", fieldErrors(err, nil), http.StatusUnprocessableEntity
	} else {
		items, next, err := p.svc.ListDossiers(ctx, a, q)
		switch {
		case err == nil:
			now := p.svc.Now()
			procNames := map[string]string{}
			for _, pr := range procs {
				procNames[pr.Code] = pr.Name
			}
			for _, x := range items {
				lp.Items = append(lp.Items, listItem{Code: x.Code, Applicant: x.Applicant.Name, ProcedureCode: x.ProcedureCode,
					Procedure: procNames[x.ProcedureCode], Status: x.Status, ReceivedAt: x.ReceivedAt, DueAt: x.Clock.DueAt,
					PromisedAt: x.PromisedAt(), Late: x.LateAt(now), Holder: lookupName(names, x.HolderCode)})
			}
			if next != "" {
				v := c.QueryParams()
				v.Set("cursor", next)
				lp.Next = "/can-bo?" + v.Encode()
			}
		case domain.KindOf(err) == domain.Invalid:
			d.Error, d.Errors, status = "Bộ lọc chưa hợp lệ.", fieldErrors(err, nil), http.StatusUnprocessableEntity
		case domain.KindOf(err) == domain.Forbidden:
			d.Error, status = "Quý vị không được xem hồ sơ của đơn vị này.", http.StatusForbidden
		default:
			return err
		}
	}
	d.Data = lp
	return p.render(c, status, "list", d)
}

// catalogue returns the current procedures and every agency's name by code.
func (p *pages) catalogue(c echo.Context) ([]domain.Procedure, map[string]string, error) {
	ctx := c.Request().Context()
	procs, err := p.svc.Procedures(ctx)
	if err != nil {
		return nil, nil, err
	}
	agencies, err := p.svc.Agencies(ctx)
	if err != nil {
		return nil, nil, err
	}
	names := make(map[string]string, len(agencies))
	for _, a := range agencies {
		names[a.Code] = a.Name
	}
	return procs, names, nil
}

// visibleAgencies are the agencies a person may filter by: those of their
// dossier scope (an administrator's all, a supervisor's subtree, a clerk's
// or officer's own).
func (p *pages) visibleAgencies(c echo.Context, a domain.Actor) ([]domain.Agency, error) {
	ctx := c.Request().Context()
	all, err := p.svc.Agencies(ctx)
	if err != nil {
		return nil, err
	}
	scope, err := p.svc.DossierScope(ctx, a)
	if err != nil {
		return nil, err
	}
	var out []domain.Agency
	for _, ag := range all {
		if scope.Has(ag.Code) {
			out = append(out, ag)
		}
	}
	return out, nil
}

func procedureOptions(procs []domain.Procedure, selected, all string) []option {
	out := []option{}
	if all != "" {
		out = append(out, option{"", all, selected == ""})
	}
	for _, pr := range procs {
		out = append(out, option{pr.Code, pr.Code + " — " + pr.Name, pr.Code == selected})
	}
	return out
}

func agencyOptions(agencies []domain.Agency, selected, all string) []option {
	out := []option{{"", all, selected == ""}}
	for _, a := range agencies {
		out = append(out, option{a.Code, a.Name + " (" + a.Code + ")", a.Code == selected})
	}
	return out
}

// intakeValues is the intake form as typed.
type intakeValues struct {
	Procedure, Channel, Delivery                string
	Name, IDNumber, Phone, Email, Address, Docs string
	Key                                         string
	// NotifySMS and NotifyEmail are the consent check boxes.
	NotifySMS, NotifyEmail bool
}

type intakePage struct {
	V          intakeValues
	Procedures []option
	Channels   []option
	Deliveries []option
}

func (p *pages) intakeForm(c echo.Context) error {
	return p.renderIntake(c, http.StatusOK, intakeValues{Channel: "counter", Delivery: "counter", Key: randomID(16)}, nil, "")
}

func (p *pages) renderIntake(c echo.Context, status int, v intakeValues, errs map[string]string, msg string) error {
	procs, err := p.svc.Procedures(c.Request().Context())
	if err != nil {
		return err
	}
	d := p.data(c, "Tiếp nhận hồ sơ", "intake")
	if errs != nil {
		d.Errors = errs
	}
	d.Error = msg
	ip := intakePage{V: v, Procedures: procedureOptions(procs, v.Procedure, "")}
	if v.Procedure == "" {
		ip.Procedures = append([]option{{"", "— Chọn thủ tục —", true}}, ip.Procedures...)
	}
	for _, ch := range []domain.Channel{domain.ChannelCounter, domain.ChannelPostal} {
		ip.Channels = append(ip.Channels, option{string(ch), channelNamesVN[string(ch)], string(ch) == v.Channel})
	}
	for _, dl := range []domain.Delivery{domain.DeliveryCounter, domain.DeliveryPostal, domain.DeliveryOnline} {
		ip.Deliveries = append(ip.Deliveries, option{string(dl), deliveryNamesVN[string(dl)], string(dl) == v.Delivery})
	}
	d.Data = ip
	return p.render(c, status, "intake", d)
}

// intakeFieldNames maps the use case's field names to the form's.
var intakeFieldNames = map[string]string{
	"procedure_code": "procedure", "applicant.name": "name", "applicant.id_number": "id_number",
	"applicant.phone": "phone", "applicant.email": "email", "applicant.address": "address",
	"documents": "documents", "channel": "channel", "delivery": "delivery",
	"notify[0]": "notify", "notify[1]": "notify",
}

// lines splits a text area into its non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// intakePost takes a dossier in and answers with its receipt, PIN and QR
// code included: the one moment the PIN is known. The form carries an
// idempotency key, so sending it again (a double click, the back button)
// gives the same dossier and PIN, not a second dossier.
func (p *pages) intakePost(c echo.Context) error {
	v := intakeValues{Procedure: c.FormValue("procedure"), Channel: c.FormValue("channel"), Delivery: c.FormValue("delivery"),
		Name: strings.TrimSpace(c.FormValue("name")), IDNumber: strings.TrimSpace(c.FormValue("id_number")),
		Phone: strings.TrimSpace(c.FormValue("phone")), Email: strings.TrimSpace(c.FormValue("email")),
		Address: strings.TrimSpace(c.FormValue("address")), Docs: c.FormValue("documents"), Key: c.FormValue("key")}
	if !validFormValue(v.Key) {
		v.Key = randomID(16)
	}
	form, _ := c.FormParams()
	var notifyBy []string
	for _, ch := range form["notify"] {
		switch domain.NotifyChannel(ch) {
		case domain.NotifySMS:
			v.NotifySMS = true
		case domain.NotifyEmail:
			v.NotifyEmail = true
		}
		notifyBy = append(notifyBy, ch)
	}
	docs := lines(v.Docs)
	if len(docs) == 0 {
		return p.renderIntake(c, http.StatusUnprocessableEntity, v, map[string]string{"documents": "Ghi ít nhất một giấy tờ đã nhận, mỗi dòng một giấy tờ."},
			"Hồ sơ chưa được tiếp nhận: vui lòng bổ sung các mục được đánh dấu.")
	}
	cmd := service.IntakeCmd{ProcedureCode: v.Procedure, Channel: v.Channel, Delivery: v.Delivery,
		Applicant: domain.Applicant{Name: v.Name, IDNumber: v.IDNumber, Phone: v.Phone, Email: v.Email, Address: v.Address},
		Documents: docs, Notify: notifyBy, IdempotencyKey: "console:" + v.Key}
	canonical, _ := json.Marshal(cmd)
	sum := sha256.Sum256(canonical)
	cmd.RequestHash = hex.EncodeToString(sum[:])
	res, err := p.svc.Intake(c.Request().Context(), handlers.ActorOf(c), cmd)
	switch {
	case err == nil:
	case domain.KindOf(err) == domain.Invalid:
		return p.renderIntake(c, http.StatusUnprocessableEntity, v, fieldErrors(err, intakeFieldNames),
			"Hồ sơ chưa được tiếp nhận: vui lòng sửa các mục được đánh dấu.")
	case domain.CodeOf(err) == domain.CodeIdempotencyKeyReused:
		v.Key = randomID(16)
		return p.renderIntake(c, http.StatusConflict, v, nil,
			"Biểu mẫu này đã được dùng để tiếp nhận một hồ sơ khác. Kiểm tra lại rồi bấm Tiếp nhận và in giấy hẹn để tạo hồ sơ mới.")
	default:
		return err
	}
	view, err := p.svc.Receipt(c.Request().Context(), handlers.ActorOf(c), res.Dossier.Code, res.PIN)
	if domain.CodeOf(err) == domain.CodeValidationFailed && res.Replay {
		// The form was sent again after a new PIN was issued: the PIN
		// remembered with the intake is no longer the dossier's.
		view, err = p.svc.Receipt(c.Request().Context(), handlers.ActorOf(c), res.Dossier.Code, "")
	}
	if err != nil {
		return err
	}
	return p.renderReceipt(c, http.StatusOK, view, "/can-bo/ho-so/"+url.PathEscape(res.Dossier.Code))
}

// dossierPage is everything staff see of a dossier.
type dossierPage struct {
	D              *domain.Dossier
	Procedure      string
	Names          map[string]string
	Late           bool
	Actions        []actionForm
	CanPrint       bool
	ReceiptURL     string
	Code           string
	OpenPause      *domain.Pause
	History        []domain.HistoryEntry // newest first
	MinNewDue      string
	LastStep       bool
	StepsRemaining int
}

// actionForm is one button and the fields its action needs.
type actionForm struct {
	Action, Label string
	Reason        bool // a reason is required
	Note          bool
	Items         bool
	Amount        bool
	NewDue        bool
	Result        bool
	Method        bool
	Danger        bool
}

func formFor(a domain.Action, d *domain.Dossier) actionForm {
	f := actionForm{Action: string(a), Label: a.History().Vietnamese()}
	switch a {
	case domain.ActionRefuse, domain.ActionWithdraw, domain.ActionStop:
		f.Reason, f.Danger = true, true
	case domain.ActionRequestSupplement:
		f.Reason, f.Items = true, true
	case domain.ActionRequestPayment:
		f.Amount, f.Note = true, true
	case domain.ActionExtend:
		f.Reason, f.NewDue = true, true
	case domain.ActionCompleteStep:
		f.Note = true
		f.Result = d.CurrentStep == len(d.Steps)
	case domain.ActionReturnResult:
		f.Method = true
	default:
		f.Note = true
	}
	return f
}

func (p *pages) dossierPage(c echo.Context) error {
	flash := ""
	if ok := c.QueryParam("ok"); ok != "" {
		if name := domain.HistoryAction(ok).Vietnamese(); name != "" {
			flash = "Đã thực hiện: " + name + "."
		}
	}
	return p.renderDossier(c, http.StatusOK, flash, "", nil)
}

// renderDossier shows the dossier as it is now, with a message (a failed
// action's, which changed nothing, or a done one's).
func (p *pages) renderDossier(c echo.Context, status int, flash, msg string, errs map[string]string) error {
	ctx := c.Request().Context()
	a := handlers.ActorOf(c)
	dos, err := p.svc.Dossier(ctx, a, c.Param("code"))
	if err != nil {
		return err
	}
	_, names, err := p.catalogue(c)
	if err != nil {
		return err
	}
	dp := dossierPage{D: dos, Names: names, Late: dos.LateAt(p.svc.Now()), Code: dos.Code, OpenPause: dos.OpenPause(),
		CanPrint:   a.MayPrint(dos),
		ReceiptURL: "/api/v1/dossiers/" + url.PathEscape(dos.Code) + "/receipt",
		LastStep:   dos.CurrentStep > 0 && dos.CurrentStep == len(dos.Steps)}
	if pr, err := p.svc.Procedure(ctx, dos.ProcedureCode, dos.ProcedureVersion); err == nil {
		dp.Procedure = pr.Name
	}
	for _, act := range dos.AllowedActions(a) {
		dp.Actions = append(dp.Actions, formFor(act, dos))
	}
	dp.History = slices.Clone(dos.History)
	slices.Reverse(dp.History)
	if due := dos.Clock.DueAt; due != nil {
		dp.MinNewDue = due.In(domain.Vietnam()).Format("2006-01-02T15:04")
	}
	d := p.data(c, "Hồ sơ "+dos.Code, "console")
	d.Flash, d.Error = flash, msg
	if errs != nil {
		d.Errors = errs
	}
	d.Data = dp
	return p.render(c, status, "dossier", d)
}

// actionPost takes one action on the dossier, naming the version the page
// showed; on success the page is shown again (post, redirect, get), on
// failure the page says why and that nothing changed.
func (p *pages) actionPost(c echo.Context) error {
	action, ok := domain.ParseAction(c.FormValue("action"))
	if !ok {
		return p.actionFailed(c, &domain.Error{Kind: domain.Invalid, Code: domain.CodeValidationFailed, Detail: "unknown action"})
	}
	version, _ := strconv.Atoi(c.FormValue("version"))
	// Browsers send a text area's line breaks as CRLF; the rules take LF.
	crlf := strings.NewReplacer("\r\n", "\n")
	in := domain.TransitionInput{Action: action, Reason: strings.TrimSpace(crlf.Replace(c.FormValue("reason"))), Note: strings.TrimSpace(crlf.Replace(c.FormValue("note"))),
		Result: c.FormValue("result"), Method: domain.Delivery(c.FormValue("method"))}
	var f domain.Fields
	if items := c.FormValue("items"); items != "" {
		in.Items = lines(items)
	}
	if v := strings.TrimSpace(c.FormValue("amount")); v != "" {
		n, err := strconv.ParseInt(strings.NewReplacer(".", "", ",", "", " ", "").Replace(v), 10, 64)
		if err != nil {
			f.Add("amount", "phải là một số tiền (đồng)")
		}
		in.Amount = n
	}
	if v := c.FormValue("new_due_at"); v != "" {
		t, err := time.ParseInLocation("2006-01-02T15:04", v, domain.Vietnam())
		if err != nil {
			f.Add("new_due_at", "phải là ngày giờ hợp lệ")
		}
		in.NewDueAt = &t
	}
	if err := f.Err(); err != nil {
		return p.actionFailed(c, err)
	}
	code := c.Param("code")
	_, err := p.svc.Transition(c.Request().Context(), handlers.ActorOf(c), service.TransitionCmd{Code: code, Version: version, Input: in})
	if err != nil {
		return p.actionFailed(c, err)
	}
	return c.Redirect(http.StatusSeeOther, "/can-bo/ho-so/"+url.PathEscape(code)+"?ok="+string(action))
}

// actionFailed shows the dossier again with what was wrong. Not-found and
// forbidden dossiers get the error page (there is nothing to show).
func (p *pages) actionFailed(c echo.Context, err error) error {
	pr := handlers.ProblemFor(err)
	switch domain.KindOf(err) {
	case domain.Invalid, domain.Conflict:
	default:
		return err
	}
	msg := messageFor(pr)
	if pr.Code == domain.CodeValidationFailed {
		msg = "Thao tác chưa được thực hiện: vui lòng sửa các mục được đánh dấu."
		if len(pr.Errors) == 0 {
			msg = "Thao tác chưa được thực hiện: " + pr.Detail
		}
	} else if pr.Code != "version_conflict" && pr.Code != "invalid_transition" {
		msg = "Thao tác chưa được thực hiện: " + pr.Detail
	}
	return p.renderDossier(c, pr.Status, "", msg, fieldErrors(err, nil))
}

// reissuePost issues a new look-up PIN (the old one stops working) and
// shows the reprinted receipt with it.
func (p *pages) reissuePost(c echo.Context) error {
	version, _ := strconv.Atoi(c.FormValue("version"))
	view, err := p.svc.ReissuePIN(c.Request().Context(), handlers.ActorOf(c), c.Param("code"), version)
	if err != nil {
		return p.actionFailed(c, err)
	}
	return p.renderReceipt(c, http.StatusOK, view, "/can-bo/ho-so/"+url.PathEscape(view.Dossier.Code))
}

// parseDayVN reads a date as people in Vietnam write it, dd/mm/yyyy (d/m
// too), and also as YYYY-MM-DD (links made before, machines).
func parseDayVN(v string) (domain.Date, error) {
	if t, err := time.Parse("2/1/2006", strings.TrimSpace(v)); err == nil {
		return domain.ParseInputDate(t.Format("2006-01-02"))
	}
	return domain.ParseInputDate(v)
}

// lateNote says which dossiers a list behind a lateness count shows.
func lateNote(l *service.LateQuery, names map[string]string) string {
	if l == nil || l.From == nil || l.To == nil {
		return ""
	}
	who := lookupName(names, l.Unit)
	switch {
	case l.Officer != "" && l.Unit != "":
		who = "cán bộ " + l.Officer + " (" + who + ")"
	case l.Officer != "":
		who = "cán bộ " + l.Officer
	}
	what := "Hồ sơ có bước xử lý trễ hạn của "
	if l.First {
		what = "Hồ sơ giải quyết quá hạn, chậm lần đầu ở bước của "
	}
	return what + who + ", từ ngày " + dateVN(*l.From) + " đến ngày " + dateVN(*l.To) + "."
}

func dateVN(d domain.Date) string { return fmt.Sprintf("%02d/%02d/%04d", d.Day, d.Month, d.Year) }

// lateLink is the console list of the dossiers behind a count of the
// lateness table: the unit's (and officer's) late steps in the period,
// or with first its dossiers finished late whose first late step it was.
func lateLink(period domain.Period, unit, sub string, first bool) string {
	v := url.Values{"late_unit": {unit}, "from": {period.From.String()}, "to": {period.To.String()}}
	if sub != "" {
		v.Set("late_officer", sub)
	}
	if first {
		v.Set("late_first", "true")
	}
	return "/can-bo?" + v.Encode()
}

package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// The citizen's look-up: a form for the dossier code and PIN, and the answer
// rendered on the server. It goes through service.Lookup, so the PIN
// lock-out is the API's, and the routes share the API's rate limiter. An
// unknown code, a wrong PIN and a locked look-up give the same page. The PIN
// is never logged: the access log writes the path without the query, and
// the typed form is posted in the body.

// lookupForm is what the look-up form shows again.
type lookupForm struct {
	Code     string
	NotFound bool
}

// lookupResult is the citizen's view of a dossier.
type lookupResult struct {
	Code          string
	PIN           string // for the rating form only (hidden field, page not cached)
	ProcedureCode string
	ProcedureName string
	AgencyName    string
	Status        domain.Status
	ReceivedAt    time.Time
	DueAt         *time.Time
	PromisedAt    *time.Time
	Extension     *domain.Extension
	Supplement    *domain.Pause
	Payment       *domain.Pause
	Late          bool
	Result        string
	ProcessedAt   *time.Time
	ReturnedAt    *time.Time
	Steps         []publicStep
	CanRate       bool
	Rated         bool
	Rating        int
	// Timeliness says how a finished dossier was processed (trước hạn, đúng
	// hạn, quá hạn); "" while it is open.
	Timeliness string
}

type publicStep struct {
	Seq        int
	Name       string
	Unit       string
	StartedAt  *time.Time
	DueAt      *time.Time
	FinishedAt *time.Time
	Verdict    string
	Current    bool
}

// Longest values the look-up reads; longer ones are answered "not found"
// like any other wrong input, without reaching storage.
const (
	maxCodeInput = 64
	maxPINInput  = 16
)

func (p *pages) lookupGet(c echo.Context) error {
	code, pin := c.QueryParam("ma"), c.QueryParam("pin")
	if code == "" && pin == "" {
		d := p.data(c, "Tra cứu hồ sơ thủ tục hành chính", "lookup")
		d.Data = lookupForm{}
		return p.render(c, http.StatusOK, "lookup", d)
	}
	return p.lookup(c, code, pin, "", 0)
}

func (p *pages) lookupPost(c echo.Context) error {
	if !p.sess.anonymousCSRFOK(c) {
		return errCSRF
	}
	return p.lookup(c, c.FormValue("ma"), c.FormValue("pin"), "", 0)
}

// normalise trims what a citizen typed and upper-cases the code (agency
// codes are upper case; phones often start a field in lower case).
func normalise(code, pin string) (string, string) {
	code = strings.ToUpper(strings.TrimSpace(code))
	pin = strings.Join(strings.Fields(pin), "")
	return code, pin
}

// lookup answers with the dossier, or with the form and the one "not
// found" message. flash and status are for the rating's answer.
func (p *pages) lookup(c echo.Context, code, pin, flash string, status int) error {
	code, pin = normalise(code, pin)
	var view service.PublicView
	var err error = domain.NotFoundf("not found")
	if len(code) <= maxCodeInput && len(pin) <= maxPINInput {
		view, err = p.svc.Lookup(c.Request().Context(), code, pin, c.RealIP())
	}
	if domain.KindOf(err) == domain.NotFound {
		return p.notFound(c, code)
	} else if err != nil {
		return err
	}
	res := p.publicResult(c, view, pin)
	d := p.data(c, "Hồ sơ "+res.Code, "lookup")
	d.Flash = flash
	d.Data = res
	if status == 0 {
		status = http.StatusOK
	}
	if status >= 400 {
		d.Error, d.Flash = flash, ""
	}
	return p.render(c, status, "result", d)
}

// notFound is the one answer to an unknown code, a wrong PIN and a locked
// look-up: the form again, with the code as typed (escaped, clipped).
func (p *pages) notFound(c echo.Context, code string) error {
	d := p.data(c, "Không tìm thấy hồ sơ", "lookup")
	d.Error = "Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu đã nhập. Vui lòng kiểm tra lại hai mã trên giấy tiếp nhận. " +
		"Sau nhiều lần nhập sai, việc tra cứu hồ sơ bị tạm khóa (thường là một giờ)."
	d.Data = lookupForm{Code: clip(code, maxCodeInput), NotFound: true}
	return p.render(c, http.StatusNotFound, "lookup", d)
}

func (p *pages) publicResult(c echo.Context, view service.PublicView, pin string) lookupResult {
	d := view.Dossier
	now := p.svc.Now()
	r := lookupResult{Code: d.Code, PIN: pin, ProcedureCode: d.ProcedureCode, ProcedureName: p.procedureName(c, d.ProcedureCode),
		AgencyName: lookupName(view.AgencyNames, d.AgencyCode), Status: d.Status, ReceivedAt: d.ReceivedAt,
		DueAt: d.Clock.DueAt, PromisedAt: d.PromisedAt(), Extension: d.Extension, Late: d.LateAt(now), Result: d.Result,
		ProcessedAt: d.ProcessedAt, ReturnedAt: d.ReturnedAt,
		CanRate: d.Status == domain.StatusReturned && d.RatedAt == nil, Rated: d.RatedAt != nil, Rating: d.Rating}
	if d.ProcessedAt != nil {
		r.Timeliness = verdictNamesVN[string(d.Verdict)]
		// The apology and the new appointment matter while the dossier is
		// open or when it was late; a result in time needs neither.
		if d.Verdict != domain.VerdictLate {
			r.Extension, r.PromisedAt = nil, nil
		}
	}
	if op := d.OpenPause(); op != nil {
		if op.Kind == domain.PauseSupplement {
			r.Supplement = op
		} else {
			r.Payment = op
		}
	}
	for _, s := range d.Steps {
		r.Steps = append(r.Steps, publicStep{Seq: s.Seq, Name: s.Name, Unit: lookupName(view.AgencyNames, s.AgencyCode),
			StartedAt: s.StartedAt, DueAt: s.Clock.DueAt, FinishedAt: s.FinishedAt, Verdict: string(s.Verdict),
			Current: s.Seq == d.CurrentStep})
	}
	return r
}

// procedureName is the procedure's current name, cached by the service per
// catalogue version (so a renamed procedure shows at once on every instance).
func (p *pages) procedureName(c echo.Context, code string) string {
	name, err := p.svc.ProcedureName(c.Request().Context(), code)
	if err != nil {
		return ""
	}
	return name
}

// ratePost records the citizen's rating (1-5) after the result was
// returned, and shows the dossier again with a thank-you or what was wrong.
func (p *pages) ratePost(c echo.Context) error {
	if !p.sess.anonymousCSRFOK(c) {
		return errCSRF
	}
	code, pin := normalise(c.FormValue("ma"), c.FormValue("pin"))
	raw := c.FormValue("diem")
	rating, err := strconv.Atoi(raw)
	if err != nil || len(raw) > 3 {
		rating = 0 // out of range: refused by the use case before anything is read
	}
	comment := strings.TrimSpace(strings.ReplaceAll(c.FormValue("y-kien"), "\r\n", "\n"))
	if len(code) > maxCodeInput || len(pin) > maxPINInput {
		return p.notFound(c, code)
	}
	err = p.svc.Feedback(c.Request().Context(), service.FeedbackCmd{Code: code, PIN: pin, Client: c.RealIP(), Rating: rating, Comment: comment})
	switch {
	case err == nil:
		return p.lookup(c, code, pin, "Cảm ơn quý vị đã đánh giá mức độ hài lòng. Ý kiến của quý vị đã được ghi nhận.", 0)
	case domain.KindOf(err) == domain.NotFound:
		return p.notFound(c, code) // the wrong PIN was counted once, by Feedback
	case domain.CodeOf(err) == domain.CodeValidationFailed:
		msg := "Vui lòng chọn một mức đánh giá từ 1 đến 5."
		if _, bad := fieldErrors(err, nil)["comment"]; bad {
			msg = "Ý kiến góp ý dài quá 2.000 ký tự."
			if len(comment) <= 2000 {
				msg = "Ý kiến góp ý có ký tự điều khiển không được phép."
			}
		}
		return p.lookup(c, code, pin, msg+" Đánh giá chưa được ghi nhận.", http.StatusUnprocessableEntity)
	case domain.CodeOf(err) == domain.CodeAlreadyRated:
		return p.lookup(c, code, pin, "Hồ sơ này đã được đánh giá; mỗi hồ sơ được đánh giá một lần.", http.StatusConflict)
	case domain.CodeOf(err) == domain.CodeNotReturned:
		return p.lookup(c, code, pin, "Quý vị có thể đánh giá sau khi nhận kết quả.", http.StatusConflict)
	}
	return err
}

package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

type publicStepOut struct {
	Name       string     `json:"name"`
	AgencyCode string     `json:"agency_code"`
	AgencyName string     `json:"agency_name"`
	StartedAt  *time.Time `json:"started_at"`
	DueAt      *time.Time `json:"due_at"`
	FinishedAt *time.Time `json:"finished_at"`
	Verdict    string     `json:"verdict"`
}

type publicSupplementOut struct {
	Items  []string `json:"items"`
	Reason string   `json:"reason"`
}

type publicExtensionOut struct {
	Reason   string    `json:"reason"`
	NewDueAt time.Time `json:"new_due_at"`
}

// publicDossierOut is the citizen's view: codes, statuses, times and unit
// names; no applicant data and no staff names.
type publicDossierOut struct {
	Code          string               `json:"code"`
	ProcedureCode string               `json:"procedure_code"`
	AgencyCode    string               `json:"agency_code"`
	AgencyName    string               `json:"agency_name"`
	Status        string               `json:"status"`
	StatusCode    int                  `json:"status_code"`
	ReceivedAt    time.Time            `json:"received_at"`
	DueAt         *time.Time           `json:"due_at"`
	PromisedAt    *time.Time           `json:"promised_at"`
	Extension     *publicExtensionOut  `json:"extension"`
	Supplement    *publicSupplementOut `json:"supplement"`
	Late          bool                 `json:"late"`
	Result        string               `json:"result,omitempty"`
	ReturnedAt    *time.Time           `json:"returned_at"`
	Steps         []publicStepOut      `json:"steps"`
	CanRate       bool                 `json:"can_rate"`
}

func (h *api) publicDossier(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-store")
	view, err := h.svc.Lookup(c.Request().Context(), c.Param("code"), c.QueryParam("pin"), c.RealIP())
	if err != nil {
		return err
	}
	d := view.Dossier
	out := publicDossierOut{Code: d.Code, ProcedureCode: d.ProcedureCode, AgencyCode: d.AgencyCode, AgencyName: view.AgencyNames[d.AgencyCode],
		Status: d.Status.String(), StatusCode: d.Status.Code(), ReceivedAt: local(d.ReceivedAt), DueAt: localp(d.Clock.DueAt),
		PromisedAt: localp(d.PromisedAt()), Late: d.LateAt(h.svc.Now()), Result: d.Result, ReturnedAt: localp(d.ReturnedAt),
		Steps: []publicStepOut{}, CanRate: d.Status == domain.StatusReturned && d.RatedAt == nil}
	if e := d.Extension; e != nil {
		out.Extension = &publicExtensionOut{Reason: e.Reason, NewDueAt: local(e.NewDueAt)}
	}
	if p := d.OpenPause(); p != nil && p.Kind == domain.PauseSupplement {
		out.Supplement = &publicSupplementOut{Items: p.Items, Reason: p.Reason}
	}
	for _, s := range d.Steps {
		out.Steps = append(out.Steps, publicStepOut{Name: s.Name, AgencyCode: s.AgencyCode, AgencyName: view.AgencyNames[s.AgencyCode],
			StartedAt: localp(s.StartedAt), DueAt: localp(s.Clock.DueAt), FinishedAt: localp(s.FinishedAt), Verdict: string(s.Verdict)})
	}
	return c.JSON(http.StatusOK, out)
}

type feedbackIn struct {
	PIN     string `json:"pin"`
	Rating  int    `json:"rating"`
	Comment string `json:"comment"`
}

func (h *api) feedback(c echo.Context) error {
	var in feedbackIn
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	err := h.svc.Feedback(c.Request().Context(), service.FeedbackCmd{Code: c.Param("code"), PIN: in.PIN, Client: c.RealIP(), Rating: in.Rating, Comment: in.Comment})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"code": c.Param("code"), "rating": in.Rating})
}

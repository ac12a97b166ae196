package handlers

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

type api struct {
	svc *service.Service
	log interface {
		Info(msg string, args ...any)
	}
}

type agencyIn struct {
	Name        string              `json:"name"`
	ParentCode  string              `json:"parent_code"`
	OfficeHours map[string][]string `json:"office_hours"`
}

type agencyOut struct {
	Code        string              `json:"code"`
	Name        string              `json:"name"`
	ParentCode  string              `json:"parent_code,omitempty"`
	OfficeHours map[string][]string `json:"office_hours"`
	CreatedAt   time.Time           `json:"created_at"`
	UpdatedAt   time.Time           `json:"updated_at"`
}

func toAgencyOut(a domain.Agency) agencyOut {
	return agencyOut{Code: a.Code, Name: a.Name, ParentCode: a.ParentCode, OfficeHours: a.OfficeHours().Format(),
		CreatedAt: local(a.CreatedAt), UpdatedAt: local(a.UpdatedAt)}
}

func (h *api) putAgency(c echo.Context) error {
	var in agencyIn
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	a := domain.Agency{Code: c.Param("code"), Name: in.Name, ParentCode: in.ParentCode}
	if in.OfficeHours != nil {
		hours, err := domain.ParseOfficeHours(in.OfficeHours)
		if err != nil {
			return &domain.Error{Kind: domain.Invalid, Code: domain.CodeValidationFailed, Detail: err.Error(),
				Fields: []domain.FieldError{{Field: "office_hours", Message: err.Error()}}}
		}
		a.Hours = &hours
	}
	saved, err := h.svc.PutAgency(c.Request().Context(), actorOf(c), a)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if saved.CreatedAt.Equal(saved.UpdatedAt) {
		status = http.StatusCreated
	}
	return c.JSON(status, toAgencyOut(saved))
}

func (h *api) getAgency(c echo.Context) error {
	a, err := h.svc.Agency(c.Request().Context(), c.Param("code"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toAgencyOut(a))
}

func (h *api) listAgencies(c echo.Context) error {
	list, err := h.svc.Agencies(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]agencyOut, 0, len(list))
	for _, a := range list {
		out = append(out, toAgencyOut(a))
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

type durationDTO struct {
	WorkingDays  *float64 `json:"working_days,omitempty"`
	WorkingHours *float64 `json:"working_hours,omitempty"`
}

type stepDTO struct {
	Name         string  `json:"name"`
	AgencyCode   string  `json:"agency_code"`
	WorkingHours float64 `json:"working_hours"`
}

type procedureIn struct {
	Name            string      `json:"name"`
	AgencyCode      string      `json:"agency_code"`
	Duration        durationDTO `json:"duration"`
	SupplementClock string      `json:"supplement_clock"`
	Online          string      `json:"online"`
	Steps           []stepDTO   `json:"steps"`
}

type procedureOut struct {
	Code                 string      `json:"code"`
	Version              int         `json:"version"`
	Name                 string      `json:"name"`
	AgencyCode           string      `json:"agency_code"`
	Duration             durationDTO `json:"duration"`
	DurationWorkingHours float64     `json:"duration_working_hours"`
	SupplementClock      string      `json:"supplement_clock"`
	Online               string      `json:"online"`
	Steps                []stepDTO   `json:"steps"`
	CreatedAt            time.Time   `json:"created_at"`
}

func toProcedureOut(p domain.Procedure) procedureOut {
	out := procedureOut{Code: p.Code, Version: p.Version, Name: p.Name, AgencyCode: p.AgencyCode,
		DurationWorkingHours: domain.WorkingHours(p.Minutes), SupplementClock: string(p.SupplementClock),
		Online: string(p.Online), Steps: []stepDTO{}, CreatedAt: local(p.CreatedAt)}
	amount := p.Amount
	if p.Unit == domain.UnitWorkingDays {
		out.Duration.WorkingDays = &amount
	} else {
		out.Duration.WorkingHours = &amount
	}
	for _, s := range p.Steps {
		out.Steps = append(out.Steps, stepDTO{Name: s.Name, AgencyCode: s.AgencyCode, WorkingHours: domain.WorkingHours(s.Minutes)})
	}
	return out
}

func (h *api) putProcedure(c echo.Context) error {
	var in procedureIn
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	p := domain.Procedure{Code: c.Param("code"), Name: in.Name, AgencyCode: in.AgencyCode,
		SupplementClock: domain.SupplementClock(in.SupplementClock), Online: domain.Online(in.Online)}
	var f domain.Fields
	switch {
	case in.Duration.WorkingDays != nil && in.Duration.WorkingHours != nil:
		f.Add("duration", "give working_days or working_hours, not both")
	case in.Duration.WorkingDays != nil:
		p.Unit, p.Amount = domain.UnitWorkingDays, *in.Duration.WorkingDays
	case in.Duration.WorkingHours != nil:
		p.Unit, p.Amount = domain.UnitWorkingHours, *in.Duration.WorkingHours
	default:
		f.Add("duration", "is required: {\"working_days\": N} or {\"working_hours\": N}")
	}
	if p.Unit != "" {
		m, err := domain.DurationMinutes(p.Unit, p.Amount)
		if err != nil {
			f.Add("duration", "%s", err.(*domain.Error).Detail)
		}
		p.Minutes = m
	}
	for i, s := range in.Steps {
		m, err := domain.DurationMinutes(domain.UnitWorkingHours, s.WorkingHours)
		if err != nil {
			f.Add("steps["+itoa(i)+"].working_hours", "%s", err.(*domain.Error).Detail)
		}
		p.Steps = append(p.Steps, domain.StepDef{Name: s.Name, AgencyCode: s.AgencyCode, Minutes: m})
	}
	if err := f.Err(); err != nil {
		return err
	}
	saved, created, err := h.svc.PutProcedure(c.Request().Context(), actorOf(c), p)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, toProcedureOut(saved))
}

func (h *api) getProcedure(c echo.Context) error {
	version := 0
	if v := c.QueryParam("version"); v != "" {
		n, err := atoiPositive(v)
		if err != nil {
			return queryError("version", "must be a positive integer")
		}
		version = n
	}
	p, err := h.svc.Procedure(c.Request().Context(), c.Param("code"), version)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toProcedureOut(p))
}

func (h *api) listProcedures(c echo.Context) error {
	list, err := h.svc.Procedures(c.Request().Context())
	if err != nil {
		return err
	}
	out := make([]procedureOut, 0, len(list))
	for _, p := range list {
		out = append(out, toProcedureOut(p))
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

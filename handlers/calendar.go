package handlers

import (
	"net/http"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

func (h *api) deadline(c echo.Context) error {
	var f domain.Fields
	from, _ := queryTime(&f, "from", c.QueryParam("from"))
	var err error
	q := service.DeadlineQuery{From: from, AgencyCode: c.QueryParam("agency")}
	days, hours := c.QueryParam("working_days"), c.QueryParam("working_hours")
	switch {
	case days != "" && hours != "":
		f.Add("working_days", "give working_days or working_hours, not both")
	case days != "":
		q.Unit = domain.UnitWorkingDays
		q.Amount, err = strconv.ParseFloat(days, 64)
		if err != nil {
			f.Add("working_days", "must be a number")
		}
	case hours != "":
		q.Unit = domain.UnitWorkingHours
		q.Amount, err = strconv.ParseFloat(hours, 64)
		if err != nil {
			f.Add("working_hours", "must be a number")
		}
	default:
		f.Add("working_days", "give working_days or working_hours")
	}
	if err := f.Err(); err != nil {
		return err
	}
	starts, due, err := h.svc.Deadline(c.Request().Context(), q)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]time.Time{"from": local(from), "starts_at": local(starts), "due_at": local(due)})
}

type dayIn struct {
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	AgencyCode string `json:"agency_code"`
}

type dayOut struct {
	Date       string `json:"date"`
	Kind       string `json:"kind"`
	Name       string `json:"name"`
	AgencyCode string `json:"agency_code,omitempty"`
	Source     string `json:"source"`
}

func parseDay(c echo.Context) (domain.Date, error) {
	d, err := domain.ParseInputDate(c.Param("date"))
	if err != nil {
		return domain.Date{}, queryError("date", "must be a date that exists, as YYYY-MM-DD")
	}
	return d, nil
}

func (h *api) putDay(c echo.Context) error {
	date, err := parseDay(c)
	if err != nil {
		return err
	}
	var in dayIn
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	job, err := h.svc.PutDay(c.Request().Context(), actorOf(c), service.DayCmd{Date: date, Kind: domain.DayKind(in.Kind), Name: in.Name, AgencyCode: in.AgencyCode})
	if err != nil {
		return err
	}
	status := http.StatusOK
	if !job.Done() {
		status = http.StatusAccepted
		c.Response().Header().Set(echo.HeaderLocation, recomputePath(job.ID))
	}
	return c.JSON(status, map[string]any{"date": date.String(), "kind": in.Kind, "name": in.Name, "agency_code": in.AgencyCode,
		"dossiers_moved": job.Moved, "recompute": toRecomputeOut(job)})
}

func (h *api) deleteDay(c echo.Context) error {
	date, err := parseDay(c)
	if err != nil {
		return err
	}
	job, err := h.svc.DeleteDay(c.Request().Context(), actorOf(c), date, c.QueryParam("agency_code"))
	if err != nil {
		return err
	}
	if job.Done() {
		return c.NoContent(http.StatusNoContent)
	}
	c.Response().Header().Set(echo.HeaderLocation, recomputePath(job.ID))
	return c.JSON(http.StatusAccepted, map[string]any{"recompute": toRecomputeOut(job)})
}

// recomputeOut is a calendar recompute job as the API shows it.
type recomputeOut struct {
	ID            int64      `json:"id"`
	Date          string     `json:"date"`
	AgencyCode    string     `json:"agency_code"`
	Action        string     `json:"action"`
	Status        string     `json:"status"`
	DossiersSeen  int64      `json:"dossiers_seen"`
	DossiersMoved int64      `json:"dossiers_moved"`
	Batches       int        `json:"batches"`
	AfterID       int64      `json:"after_id"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`
	FinishedAt    *time.Time `json:"finished_at"`
}

func toRecomputeOut(j service.Recompute) recomputeOut {
	status := "pending"
	switch {
	case j.Done():
		status = "done"
	case j.Batches > 0:
		status = "running"
	}
	return recomputeOut{ID: j.ID, Date: j.Date.String(), AgencyCode: j.AgencyCode, Action: j.Action, Status: status,
		DossiersSeen: j.Seen, DossiersMoved: j.Moved, Batches: j.Batches, AfterID: j.AfterID,
		CreatedAt: local(j.CreatedAt), UpdatedAt: local(j.UpdatedAt), FinishedAt: localp(j.FinishedAt)}
}

func recomputePath(id int64) string {
	return "/api/v1/calendar/recomputes/" + strconv.FormatInt(id, 10)
}

func (h *api) listRecomputes(c echo.Context) error {
	jobs, err := h.svc.Recomputes(c.Request().Context(), actorOf(c))
	if err != nil {
		return err
	}
	out := make([]recomputeOut, 0, len(jobs))
	for _, j := range jobs {
		out = append(out, toRecomputeOut(j))
	}
	return c.JSON(http.StatusOK, map[string]any{"items": out})
}

func (h *api) getRecompute(c echo.Context) error {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil || id <= 0 {
		return domain.NotFoundf("no recompute %q", c.Param("id"))
	}
	j, err := h.svc.RecomputeJob(c.Request().Context(), actorOf(c), id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toRecomputeOut(j))
}

func (h *api) listDays(c echo.Context) error {
	year, err := strconv.Atoi(c.QueryParam("year"))
	if err != nil {
		return queryError("year", "is required, e.g. year=2026")
	}
	if year < domain.MinTime.Year() || year >= domain.MaxTime.Year() {
		return queryError("year", domain.TimeBoundsMessage)
	}
	days, err := h.svc.Days(c.Request().Context(), year, c.QueryParam("agency"))
	if err != nil {
		return err
	}
	out := make([]dayOut, 0, len(days))
	for _, d := range days {
		out = append(out, dayOut{Date: d.Date.String(), Kind: string(d.Kind), Name: d.Name, AgencyCode: d.AgencyCode, Source: d.Source})
	}
	return c.JSON(http.StatusOK, map[string]any{"year": year, "items": out})
}

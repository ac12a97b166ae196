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
	moved, err := h.svc.PutDay(c.Request().Context(), actorOf(c), service.DayCmd{Date: date, Kind: domain.DayKind(in.Kind), Name: in.Name, AgencyCode: in.AgencyCode})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"date": date.String(), "kind": in.Kind, "name": in.Name, "agency_code": in.AgencyCode, "dossiers_moved": moved})
}

func (h *api) deleteDay(c echo.Context) error {
	date, err := parseDay(c)
	if err != nil {
		return err
	}
	if _, err := h.svc.DeleteDay(c.Request().Context(), actorOf(c), date, c.QueryParam("agency_code")); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
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

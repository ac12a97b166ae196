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
	from, err := time.Parse(time.RFC3339, c.QueryParam("from"))
	if err != nil {
		f.Add("from", "must be an RFC 3339 time with offset, e.g. 2026-03-16T08:00:00+07:00")
	}
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

package handlers

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// endSessions ends every console session of a person (admin).
func (h *api) endSessions(c echo.Context) error {
	sub := c.QueryParam("sub")
	n, err := h.svc.EndSessionsOf(c.Request().Context(), actorOf(c), sub)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"sub": strings.TrimSpace(sub), "ended": n})
}

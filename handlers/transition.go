package handlers

import (
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// transitionIn is the body of POST /dossiers/{code}/transitions: the action,
// the version read, and the fields the action needs.
type transitionIn struct {
	Action   string     `json:"action"`
	Version  int        `json:"version"`
	Reason   string     `json:"reason,omitempty"`
	Items    []string   `json:"items,omitempty"`
	Result   string     `json:"result,omitempty"`
	Amount   int64      `json:"amount,omitempty"`
	Note     string     `json:"note,omitempty"`
	NewDueAt *time.Time `json:"new_due_at,omitempty"`
	Method   string     `json:"method,omitempty"`
}

func (h *api) transition(c echo.Context) error {
	var in transitionIn
	if err := bindJSON(c, &in); err != nil {
		return err
	}
	action, ok := domain.ParseAction(in.Action)
	if !ok {
		return &domain.Error{Kind: domain.Invalid, Code: domain.CodeValidationFailed, Detail: "unknown action " + quote(in.Action),
			Fields: []domain.FieldError{{Field: "action", Message: "must be one of the contract's transition actions"}}}
	}
	d, err := h.svc.Transition(c.Request().Context(), actorOf(c), service.TransitionCmd{
		Code: c.Param("code"), Version: in.Version,
		Input: domain.TransitionInput{Action: action, Reason: in.Reason, Items: in.Items, Result: in.Result, Amount: in.Amount,
			Note: in.Note, NewDueAt: in.NewDueAt, Method: domain.Delivery(in.Method)},
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toDossierOut(d, h.svc.Now(), actorOf(c)))
}

func quote(s string) string {
	if len(s) > 40 {
		s = strings.ToValidUTF8(s[:40], "") + "…" // never half a character
	}
	return "\"" + s + "\""
}

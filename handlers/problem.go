package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
)

// ProblemTypeBase prefixes the stable problem type URIs (README lists them).
const ProblemTypeBase = "https://motcua.gov.vn/problems/"

// Problem is an RFC 9457 problem document with the contract's extensions.
type Problem struct {
	Type      string         `json:"type"`
	Title     string         `json:"title"`
	Status    int            `json:"status"`
	Detail    string         `json:"detail,omitempty"`
	Instance  string         `json:"instance,omitempty"`
	Code      string         `json:"code"`
	RequestID string         `json:"request_id,omitempty"`
	Errors    []ProblemField `json:"errors,omitempty"`
	// Allowed lists the actions allowed now, on invalid_transition only
	// (empty for a final status).
	Allowed *[]string `json:"allowed_actions,omitempty"`
}

// ProblemField is one bad input field.
type ProblemField struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

var kindStatus = map[domain.Kind]int{
	domain.Invalid:      http.StatusUnprocessableEntity,
	domain.NotFound:     http.StatusNotFound,
	domain.Conflict:     http.StatusConflict,
	domain.Forbidden:    http.StatusForbidden,
	domain.Unauthorized: http.StatusUnauthorized,
	domain.TooMany:      http.StatusTooManyRequests,
	domain.Unavailable:  http.StatusServiceUnavailable,
}

var statusCodes = map[int]string{
	http.StatusBadRequest:            domain.CodeBadRequest,
	http.StatusUnauthorized:          domain.CodeUnauthorized,
	http.StatusForbidden:             domain.CodeForbidden,
	http.StatusNotFound:              domain.CodeNotFound,
	http.StatusMethodNotAllowed:      domain.CodeMethodNotAllowed,
	http.StatusRequestEntityTooLarge: domain.CodePayloadTooLarge,
	http.StatusUnsupportedMediaType:  domain.CodeUnsupportedMediaType,
	http.StatusTooManyRequests:       domain.CodeTooManyRequests,
	http.StatusServiceUnavailable:    domain.CodeUnavailable,
}

// retryAfterSeconds is the Retry-After of a 503: about what a PostgreSQL
// switch-over takes (docs/operations.md).
const retryAfterSeconds = "5"

// problemFor maps any error to its problem document, once for the whole API
// and the pages, in Vietnamese (messages_vi.go).
func problemFor(err error) Problem {
	p := problemOf(err)
	viProblem(&p)
	return p
}

func problemOf(err error) Problem {
	var de *domain.Error
	if errors.As(err, &de) {
		status, ok := kindStatus[de.Kind]
		if !ok {
			status = http.StatusInternalServerError
		}
		p := Problem{Status: status, Code: de.Code, Detail: de.Detail}
		if de.Code == domain.CodeInvalidTransition {
			allowed := append([]string{}, de.Allowed...)
			p.Allowed = &allowed
		}
		for _, f := range de.Fields {
			p.Errors = append(p.Errors, ProblemField{Field: f.Field, Message: f.Message})
		}
		return p
	}
	var he *echo.HTTPError
	if errors.As(err, &he) {
		code, ok := statusCodes[he.Code]
		if !ok {
			code = domain.CodeInternal
		}
		detail := http.StatusText(he.Code)
		if m, ok := he.Message.(string); ok && he.Code < 500 {
			detail = m
		}
		return Problem{Status: he.Code, Code: code, Detail: detail}
	}
	return Problem{Status: http.StatusInternalServerError, Code: domain.CodeInternal, Detail: "Đã có lỗi hệ thống; vui lòng thử lại sau."}
}

// StatusClientClosedRequest is what proxies (nginx) write for a request
// whose client went away before the answer: no server error.
const StatusClientClosedRequest = 499

// clientGone says whether err comes from the client having gone away: the
// request's context was canceled (the connection closed) and the error is
// that cancellation, or a server error it caused. Such a request is counted
// as 499 and logged at debug level, so 5xx figures and alerts stay true.
func clientGone(c echo.Context, err error) bool {
	if !errors.Is(c.Request().Context().Err(), context.Canceled) {
		return false
	}
	return errors.Is(err, context.Canceled) || problemFor(err).Status >= 500
}

// closedByClient records a request whose client went away: status 499 for
// the metrics and the access log, nothing to send, a debug line.
func closedByClient(log *slog.Logger, c echo.Context, err error) {
	log.Debug("client went away", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
		"method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	c.Response().WriteHeader(StatusClientClosedRequest)
}

// errorHandler is echo's HTTPErrorHandler: every error leaves as a problem
// document; internal errors are logged with the request id, never shown.
func errorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		if clientGone(c, err) {
			closedByClient(log, c, err)
			return
		}
		p := problemFor(err)
		p.Type = ProblemTypeBase + p.Code
		if t, ok := domain.Titles[p.Code]; ok {
			p.Title = t
		} else {
			p.Title = http.StatusText(p.Status)
		}
		p.Instance = c.Request().URL.Path
		p.RequestID = c.Response().Header().Get(echo.HeaderXRequestID)
		if p.Status >= 500 {
			log.Error("request failed", "request_id", p.RequestID, "method", c.Request().Method, "path", p.Instance, "err", err)
		}
		if p.Status == http.StatusServiceUnavailable {
			// The database or NATS is out of reach (a switch-over takes a
			// few seconds): clients and balancers try again.
			c.Response().Header().Set("Retry-After", retryAfterSeconds)
		}
		if p.Status == http.StatusUnauthorized {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="motcua"`)
		}
		writeProblem(c, p)
	}
}

func writeProblem(c echo.Context, p Problem) {
	b, _ := json.Marshal(p)
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	_, _ = c.Response().Write(b)
}

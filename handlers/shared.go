package handlers

import (
	"log/slog"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// What the pages (package web) share with the API, so each rule is written
// once: the mapping of errors to problems and their Vietnamese, the bearer
// check and the actor it leaves on the request, the check of parameters,
// and the report handlers the supervisor's exports serve. web imports
// handlers; handlers never imports web.

// ProblemFor maps any error to its problem document, in Vietnamese.
func ProblemFor(err error) Problem { return problemFor(err) }

// Vietnamese returns the Vietnamese of a message written in English
// (messages_vi.go), or the message as it is.
func Vietnamese(msg string) string { return vi(msg) }

// ClientGone says whether err comes from the client having gone away; then
// ClosedByClient records it (499, a debug line) instead of an error.
func ClientGone(c echo.Context, err error) bool { return clientGone(c, err) }

// ClosedByClient records a request whose client went away.
func ClosedByClient(log *slog.Logger, c echo.Context, err error) { closedByClient(log, c, err) }

// QueryError is the 422 of a bad query parameter.
func QueryError(field, msg string) error { return queryError(field, msg) }

// Authenticate requires a valid bearer token and one of the roles (any
// staff role when none is given), as the API does.
func Authenticate(v Verifier, roles ...domain.Role) echo.MiddlewareFunc {
	if len(roles) == 0 {
		roles = staffRoles
	}
	return authenticate(v, roles...)
}

// StaffRoles are the roles of the staff: everyone but the public.
func StaffRoles() []domain.Role { return append([]domain.Role(nil), staffRoles...) }

// JoinRoles names roles for a message.
func JoinRoles(roles []domain.Role) string { return joinRoles(roles) }

// ActorOf is who the request was authenticated as.
func ActorOf(c echo.Context) domain.Actor { return actorOf(c) }

// SetActor records who a request is from (a page's session), for the
// handlers that read ActorOf.
func SetActor(c echo.Context, a domain.Actor) { c.Set(actorKey, a) }

// GuardParams refuses path and query parameters with characters no field
// may hold (domain.TextProblem); the router runs it on the API, the pages in
// their own chain, so the refusal is a page.
func GuardParams(next echo.HandlerFunc) echo.HandlerFunc { return guardPageParams(next) }

// Reports are the API's report handlers; the supervisor's pages serve their
// CSV and XLSX files with the session (SetActor) instead of a bearer token:
// the same handlers, the same files.
type Reports struct {
	Compliance, Overdue, Scorecard, Lateness echo.HandlerFunc
}

// NewReports returns the report handlers on svc.
func NewReports(svc *service.Service, log *slog.Logger) Reports {
	if log == nil {
		log = slog.Default()
	}
	h := &api{svc: svc, log: log}
	return Reports{Compliance: h.complianceReport, Overdue: h.overdueReport, Scorecard: h.scorecardReport, Lateness: h.latenessReport}
}

package handlers

import (
	"context"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
)

// Verifier checks a bearer token and returns who sent it.
type Verifier interface {
	Verify(ctx context.Context, token string) (domain.Actor, error)
}

const actorKey = "motcua.actor"

// authenticate requires a valid bearer token (401 otherwise) and one of the
// roles (403 otherwise). Agency checks belong to the use case, which knows
// the dossier.
func authenticate(v Verifier, roles ...domain.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Request().Header.Get(echo.HeaderAuthorization)
			token, ok := strings.CutPrefix(h, "Bearer ")
			if !ok || strings.TrimSpace(token) == "" {
				return &domain.Error{Kind: domain.Unauthorized, Code: domain.CodeUnauthorized, Detail: "a bearer token is required"}
			}
			actor, err := v.Verify(c.Request().Context(), strings.TrimSpace(token))
			if err != nil {
				return &domain.Error{Kind: domain.Unauthorized, Code: domain.CodeUnauthorized, Detail: "the token is not valid: " + err.Error()}
			}
			if len(roles) > 0 && !actor.HasAny(roles...) {
				return domain.Forbiddenf("this needs one of the roles %s", joinRoles(roles))
			}
			c.Set(actorKey, actor)
			return next(c)
		}
	}
}

func joinRoles(roles []domain.Role) string {
	s := make([]string, len(roles))
	for i, r := range roles {
		s[i] = string(r)
	}
	return strings.Join(s, ", ")
}

func actorOf(c echo.Context) domain.Actor {
	a, _ := c.Get(actorKey).(domain.Actor)
	return a
}

var staffRoles = []domain.Role{domain.RoleClerk, domain.RoleOfficer, domain.RoleSupervisor, domain.RoleAdmin}

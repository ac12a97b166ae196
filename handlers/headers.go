package handlers

import (
	"strings"

	"github.com/labstack/echo/v4"
)

// personalPrefixes are the API paths whose answers may carry personal data
// (applicants, PINs, staff names, exports): no cache, shared or private,
// may keep them, whatever the status.
var personalPrefixes = []string{"/api/v1/dossiers", "/api/v1/reports/", "/api/v1/public/", "/api/v1/sessions"}

// securityHeaders sets, before the handler runs, Cache-Control: no-store on
// the answers of personalPrefixes, and HSTS on every answer when the site
// is served over HTTPS (PUBLIC_URL https://), so a browser that met the
// site once never speaks plain HTTP to it again.
func securityHeaders(publicURL string) echo.MiddlewareFunc {
	hsts := strings.HasPrefix(strings.ToLower(publicURL), "https://")
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			h := c.Response().Header()
			if hsts {
				h.Set("Strict-Transport-Security", "max-age=31536000")
			}
			p := c.Request().URL.Path
			for _, prefix := range personalPrefixes {
				if strings.HasPrefix(p, prefix) {
					h.Set("Cache-Control", "no-store")
					break
				}
			}
			return next(c)
		}
	}
}

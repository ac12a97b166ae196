package handlers_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
	"github.com/motcua/motcua/web"
)

// TestPersonalDataIsNeverCached: every answer that can carry personal data
// (dossiers, intake, transitions, reports and exports, the citizen's
// look-up, errors included) has Cache-Control: no-store.
func TestPersonalDataIsNeverCached(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		d := e.intake(intakeBody("1.001612", "counter"))
		clerk, sup := e.token(domain.RoleClerk, center), e.token(domain.RoleSupervisor, root)
		tests := []struct {
			method, path, token string
			body                any
		}{
			{http.MethodPost, "/api/v1/dossiers", clerk, intakeBody("1.001612", "counter")},
			{http.MethodGet, "/api/v1/dossiers", sup, nil},
			{http.MethodGet, "/api/v1/dossiers?status=received&limit=5", clerk, nil},
			{http.MethodGet, "/api/v1/dossiers/" + d.Code, sup, nil},
			{http.MethodGet, "/api/v1/dossiers/" + d.Code, "", nil},
			{http.MethodPost, "/api/v1/dossiers/" + d.Code + "/transitions", clerk, map[string]any{"action": "transfer", "version": d.Version}},
			{http.MethodGet, "/api/v1/dossiers/" + d.Code + "/receipt", clerk, nil},
			{http.MethodGet, "/api/v1/reports/overdue", sup, nil},
			{http.MethodGet, "/api/v1/reports/overdue?format=csv", sup, nil},
			{http.MethodGet, "/api/v1/reports/compliance?period=2026-Q1", sup, nil},
			{http.MethodGet, "/api/v1/reports/compliance?period=2026-Q1&format=xlsx", sup, nil},
			{http.MethodGet, "/api/v1/public/dossiers/" + d.Code + "?" + url.Values{"pin": {d.LookupPIN}}.Encode(), "", nil},
			{http.MethodGet, "/api/v1/public/dossiers/" + d.Code + "?pin=00000000", "", nil},
		}
		for _, tt := range tests {
			res := e.do(tt.method, tt.path, tt.token, tt.body)
			if got := res.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("%s %s (%d): Cache-Control %q, want no-store", tt.method, tt.path, res.Status, got)
			}
			if res.Header.Get("Strict-Transport-Security") != "" {
				t.Errorf("%s %s: HSTS without an https PUBLIC_URL", tt.method, tt.path)
			}
		}
	})
}

// TestHSTSWithHTTPSPublicURL: with PUBLIC_URL https://, every answer
// (API, pages, health) tells browsers to use HTTPS only.
func TestHSTSWithHTTPSPublicURL(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	v, err := auth.NewHS256([]byte(testSecret), auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	router := handlers.New(handlers.Config{Service: e.svc, Verifier: v, Logger: storetest.Quiet(), Registry: prometheus.NewRegistry(),
		Ready: map[string]func(context.Context) error{"database": e.st.Ping}, PublicURL: "https://motcua.example.gov.vn",
		Pages: pages(t, web.Config{Service: e.svc, Verifier: v, Logger: storetest.Quiet(), PublicURL: "https://motcua.example.gov.vn"})})
	for _, path := range []string{"/healthz", "/", "/dang-nhap", "/api/v1/calendar/days?year=2026", "/api/v1/dossiers", "/nothing-here"} {
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if got := rec.Header().Get("Strict-Transport-Security"); got != "max-age=31536000" {
			t.Errorf("%s (%d): Strict-Transport-Security %q", path, rec.Code, got)
		}
	}
}

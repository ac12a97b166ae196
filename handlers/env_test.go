package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
	"github.com/motcua/motcua/web"
)

// testClock is a settable clock.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t.UTC()
	c.mu.Unlock()
}

var vn = domain.Vietnam()

// at builds a local Vietnam time.
func at(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, vn) }

type env struct {
	t      *testing.T
	st     *store.Store
	svc    *service.Service
	e      *echo.Echo
	clock  *testClock
	secret []byte
}

const testSecret = "test-secret-test-secret-test-secret-0123456789"

// pages builds the pages (package web) to mount beside the API, as main
// does: the receipt is an API endpoint the pages' package serves.
func pages(t testing.TB, cfg web.Config) func(*echo.Echo, echo.MiddlewareFunc) {
	t.Helper()
	site, err := web.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return site.Mount
}

// newEnv builds the real router on a real store with a fixed clock.
func newEnv(t *testing.T, st *store.Store) *env {
	t.Helper()
	clock := &testClock{}
	clock.Set(at(2026, 3, 16, 9, 0)) // a Monday
	svc := service.New(st, clock, nil, service.Options{Logger: storetest.Quiet()})
	// Right PINs' give-backs still being applied finish before the store closes.
	t.Cleanup(func() { _ = svc.Close(context.Background()) })
	v, err := auth.NewHS256([]byte(testSecret), auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := handlers.New(handlers.Config{Service: svc, Verifier: v, Logger: storetest.Quiet(), Registry: prometheus.NewRegistry(),
		Ready: map[string]func(context.Context) error{"database": st.Ping}, Pages: pages(t, web.Config{Service: svc, Verifier: v, Logger: storetest.Quiet()})})
	return &env{t: t, st: st, svc: svc, e: e, clock: clock, secret: []byte(testSecret)}
}

func (e *env) token(role domain.Role, agency string) string {
	e.t.Helper()
	tok, err := auth.Issue(e.secret, domain.Actor{Sub: string(role) + "@" + agency, Roles: []domain.Role{role}, Agency: agency}, time.Hour, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

func (r response) problem(t *testing.T) handlers.Problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("content type %q, want application/problem+json (status %d, body %s)", ct, r.Status, r.Body)
	}
	var p handlers.Problem
	r.json(t, &p)
	return p
}

// raw sends a request with a raw body and checks it against the OpenAPI document.
func (e *env) raw(method, path, token, contentType string, body []byte, hdr ...string) response {
	e.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.e.ServeHTTP(rec, req)
	res := response{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	check := httptest.NewRequest(method, path, bytes.NewReader(body))
	check.Header = req.Header.Clone()
	checkContract(e.t, check, body, res.Status, res.Header, res.Body)
	return res
}

// do sends v as JSON (nil = no body).
func (e *env) do(method, path, token string, v any, hdr ...string) response {
	e.t.Helper()
	if v == nil {
		return e.raw(method, path, token, "", nil, hdr...)
	}
	b, err := json.Marshal(v)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.raw(method, path, token, "application/json", b, hdr...)
}

func (e *env) must(res response, status int) response {
	e.t.Helper()
	if res.Status != status {
		e.t.Fatalf("status %d, want %d: %s", res.Status, status, res.Body)
	}
	return res
}

// count counts rows of a table.
func (e *env) count(table string) int64 {
	e.t.Helper()
	var n int64
	if err := e.st.DB().Table(table).Count(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

// rows counts what a command may write, to prove bad input wrote nothing.
func (e *env) rows() map[string]int64 {
	out := map[string]int64{}
	for _, tb := range []string{"agencies", "procedures", "procedure_versions", "dossiers", "dossier_steps", "dossier_history", "outbox", "idempotency_keys"} {
		out[tb] = e.count(tb)
	}
	return out
}

const (
	root    = "000.00.00.H29"
	dept    = "000.00.07.H29"
	office  = "000.07.01.H29"
	center  = "000.00.10.H29"
	foreign = "000.00.00.H38"
)

// catalogue loads a small province: a root, a department with an office, the
// one-stop centre, and a foreign root; and two procedures.
func (e *env) catalogue() {
	e.t.Helper()
	admin := e.token(domain.RoleAdmin, root)
	for _, a := range []struct{ code, name, parent string }{
		{root, "UBND Thành phố", ""}, {dept, "Sở Kế hoạch và Đầu tư", root}, {office, "Phòng Đăng ký kinh doanh", dept},
		{center, "Trung tâm Phục vụ hành chính công", root}, {foreign, "UBND tỉnh khác", ""},
	} {
		body := map[string]any{"name": a.name}
		if a.parent != "" {
			body["parent_code"] = a.parent
		}
		e.must(e.do(http.MethodPut, "/api/v1/agencies/"+a.code, admin, body), http.StatusCreated)
	}
	e.must(e.do(http.MethodPut, "/api/v1/procedures/1.001612", admin, map[string]any{
		"name": "Đăng ký thành lập hộ kinh doanh", "agency_code": dept, "duration": map[string]any{"working_days": 3},
		"supplement_clock": "restart", "online": "full",
		"steps": []map[string]any{{"name": "Thẩm định", "agency_code": office, "working_hours": 16}, {"name": "Phê duyệt", "agency_code": dept, "working_hours": 8}},
	}), http.StatusCreated)
	e.must(e.do(http.MethodPut, "/api/v1/procedures/2.000635", admin, map[string]any{
		"name": "Cấp bản sao trích lục hộ tịch", "agency_code": dept, "duration": map[string]any{"working_hours": 4},
		"supplement_clock": "pause", "online": "none",
	}), http.StatusCreated)
}

func intakeBody(proc, channel string) map[string]any {
	return map[string]any{"procedure_code": proc, "channel": channel, "delivery": "counter",
		"applicant": map[string]any{"name": "Nguyễn Văn An", "id_number": "001090001234", "phone": "0912345678"},
		"documents": []string{"Giấy đề nghị", "Bản sao CCCD"}}
}

type dossierDoc struct {
	Code             string     `json:"code"`
	Status           string     `json:"status"`
	StatusCode       int        `json:"status_code"`
	ProcedureVersion int        `json:"procedure_version"`
	ReceivedAt       time.Time  `json:"received_at"`
	DueAt            *time.Time `json:"due_at"`
	Version          int        `json:"version"`
	LookupPIN        string     `json:"lookup_pin"`
	HolderCode       string     `json:"holder_code"`
	Applicant        struct {
		Name string `json:"name"`
	} `json:"applicant"`
	Steps []struct {
		Name       string `json:"name"`
		AgencyCode string `json:"agency_code"`
	} `json:"steps"`
	History []struct {
		Action string `json:"action"`
	} `json:"history"`
}

func (e *env) intake(body map[string]any) dossierDoc {
	e.t.Helper()
	var d dossierDoc
	e.must(e.do(http.MethodPost, "/api/v1/dossiers", e.token(domain.RoleClerk, center), body), http.StatusCreated).json(e.t, &d)
	return d
}

func readAll(t *testing.T, r io.Reader) string {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

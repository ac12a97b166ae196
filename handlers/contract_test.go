package handlers_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/web"
)

// The contract as the tests check it: handlers.OpenAPIYAML, loaded and
// validated once, with two changes made to this copy only:
//
//   - servers are dropped, so routes match on the path alone whatever the host
//     (httptest.NewRequest gives a bare path, a client request a full URL);
//   - every object schema that lists properties and says nothing about
//     additionalProperties is closed (additionalProperties: false), so a
//     response field the document does not describe fails the test. The
//     served document stays open, as the contract lets fields be added; the
//     tests make sure each one is added to the document too.
var contract struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func loadContract() (*openapi3.T, routers.Router, error) {
	contract.once.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(handlers.OpenAPIYAML)
		if err != nil {
			contract.err = fmt.Errorf("openapi.yaml does not load: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			contract.err = fmt.Errorf("openapi.yaml is not valid: %w", err)
			return
		}
		doc.Servers = nil
		closeObjects(doc)
		r, err := legacy.NewRouter(doc)
		if err != nil {
			contract.err = fmt.Errorf("openapi.yaml: no router: %w", err)
			return
		}
		contract.doc, contract.router = doc, r
	})
	return contract.doc, contract.router, contract.err
}

// closeObjects closes every object schema reachable from the document (see
// above). Members of an allOf with more than one member are left open, since
// they describe parts of one object.
func closeObjects(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef, close bool)
	walk = func(ref *openapi3.SchemaRef, close bool) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		s := ref.Value
		seen[s] = true
		if close && len(s.Properties) > 0 && s.AdditionalProperties.Has == nil && s.AdditionalProperties.Schema == nil {
			no := false
			s.AdditionalProperties.Has = &no
		}
		for _, p := range s.Properties {
			walk(p, true)
		}
		walk(s.Items, true)
		walk(s.AdditionalProperties.Schema, true)
		walk(s.Not, true)
		for _, m := range s.AllOf {
			walk(m, len(s.AllOf) == 1)
		}
		for _, m := range s.AnyOf {
			walk(m, true)
		}
		for _, m := range s.OneOf {
			walk(m, true)
		}
	}
	content := func(c openapi3.Content) {
		for _, mt := range c {
			walk(mt.Schema, true)
		}
	}
	params := func(ps openapi3.Parameters) {
		for _, p := range ps {
			if p.Value != nil {
				walk(p.Value.Schema, true)
				content(p.Value.Content)
			}
		}
	}
	response := func(r *openapi3.ResponseRef) {
		if r == nil || r.Value == nil {
			return
		}
		content(r.Value.Content)
		for _, h := range r.Value.Headers {
			if h.Value != nil {
				walk(h.Value.Schema, true)
			}
		}
	}
	if c := doc.Components; c != nil {
		for _, s := range c.Schemas {
			walk(s, true)
		}
		for _, r := range c.Responses {
			response(r)
		}
		for _, rb := range c.RequestBodies {
			if rb.Value != nil {
				content(rb.Value.Content)
			}
		}
	}
	for _, item := range doc.Paths.Map() {
		params(item.Parameters)
		for _, op := range item.Operations() {
			params(op.Parameters)
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				content(op.RequestBody.Value.Content)
			}
			if op.Responses != nil {
				for _, r := range op.Responses.Map() {
					response(r)
				}
			}
		}
	}
}

// validate checks one exchange against the contract and says what is wrong,
// or nil:
//
//   - the method and path must be an operation of the document;
//   - the status must be documented for that operation (no default response
//     is used), and the headers and body must match what it documents, with
//     the Content-Type it documents (problem documents as
//     application/problem+json);
//   - the request (path, query, headers, body) must match the document when
//     the status is below 400: a request the document calls invalid must not
//     succeed. A 4xx answer to such a request is what the error tests want,
//     so the request is not checked then.
//
// Security requirements are not checked (NoopAuthenticationFunc): the
// handler tests check tokens and roles themselves. req is not changed; its
// body is read from reqBody, since the handler has consumed req.Body.
func validate(req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) error {
	_, router, err := loadContract()
	if err != nil {
		return err
	}
	ctx := context.Background()
	r := req.Clone(ctx)
	setBody(r, reqBody)
	route, params, err := router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("%s %s is not an operation of openapi.yaml: %w", r.Method, r.URL.Path, err)
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
		// The schema and the value make a message of hundreds of lines;
		// checkContract prints the body instead.
		SchemaValidationOptions: []openapi3.SchemaValidationOption{openapi3.DisableSchemaErrorDetails()},
	}
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route, Options: opts}
	var errs []error
	if status < 400 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			errs = append(errs, fmt.Errorf("the request does not match openapi.yaml, yet got %d: %w", status, err))
		}
		setBody(r, reqBody) // ValidateRequest consumes it
	}
	if header == nil {
		header = http.Header{}
	}
	if err := openapi3filter.ValidateResponse(ctx, &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(respBody)),
		Options:                opts,
	}); err != nil {
		errs = append(errs, fmt.Errorf("the %d response does not match openapi.yaml: %w", status, err))
	}
	return errors.Join(errs...)
}

func setBody(r *http.Request, body []byte) {
	r.Body = io.NopCloser(bytes.NewReader(body))
	r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	r.ContentLength = int64(len(body))
}

// checkContract fails the test when an exchange breaks the OpenAPI document
// (see validate). Use it on every response a handler test gets:
//
//	req := httptest.NewRequest(http.MethodPut, "/api/v1/agencies/000.00.07.H29", bytes.NewReader(body))
//	req.Header.Set("Content-Type", "application/json")
//	rec := httptest.NewRecorder()
//	router.ServeHTTP(rec, req)
//	checkContract(t, req, body, rec.Code, rec.Header(), rec.Body.Bytes())
//
// With a real client, pass resp.Request (or the request sent), the body sent,
// resp.StatusCode, resp.Header and the body read.
func checkContract(t testing.TB, req *http.Request, reqBody []byte, status int, header http.Header, respBody []byte) {
	t.Helper()
	if err := validate(req, reqBody, status, header, respBody); err != nil {
		body := string(respBody)
		if len(body) > 2000 {
			body = body[:2000] + "..."
		}
		t.Errorf("contract: %s %s -> %d:\n%v\nresponse body: %s", req.Method, req.URL.RequestURI(), status, err, body)
	}
}

func TestOpenAPIDocumentIsValid(t *testing.T) {
	ctx := context.Background()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(handlers.OpenAPIYAML)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi: %q, want 3.0.3", doc.OpenAPI)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("validate: %v", err)
	}
	if _, _, err := loadContract(); err != nil {
		t.Fatal(err)
	}

	// Conventions the later additions must keep: staff operations carry the
	// bearer scheme, their roles in x-roles and the 401 and 403 answers;
	// public API operations carry no security and the 429 of the rate limit;
	// every error answer is a problem document.
	var roles []string
	for _, v := range doc.Components.Schemas["Role"].Value.Enum {
		roles = append(roles, v.(string))
	}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			secured := op.Security != nil && len(*op.Security) > 0
			xr, hasRoles := op.Extensions["x-roles"].([]any)
			switch {
			case secured && !hasRoles:
				t.Errorf("%s: secured but no x-roles", name)
			case !secured && hasRoles:
				t.Errorf("%s: x-roles but no security", name)
			}
			for _, r := range xr {
				if s, _ := r.(string); !slices.Contains(roles, s) {
					t.Errorf("%s: x-roles has %v, not a Role", name, r)
				}
			}
			if secured {
				for _, s := range []int{401, 403} {
					if op.Responses.Status(s) == nil {
						t.Errorf("%s: secured but no %d response", name, s)
					}
				}
			} else if strings.HasPrefix(path, "/api/") && op.Responses.Status(429) == nil {
				t.Errorf("%s: public but no 429 response", name)
			}
			if op.RequestBody != nil {
				for _, s := range []int{400, 413, 415} {
					if op.Responses.Status(s) == nil {
						t.Errorf("%s: takes a body but has no %d response", name, s)
					}
				}
			}
			for code, r := range op.Responses.Map() {
				if code >= "400" && !(path == "/readyz" && code == "503") {
					if r.Value.Content.Get("application/problem+json") == nil || len(r.Value.Content) != 1 {
						t.Errorf("%s: %s is not (only) application/problem+json", name, code)
					}
				}
			}
		}
	}
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// opsPaths are the operations endpoints, documented like the API.
var opsPaths = map[string]bool{"/healthz": true, "/readyz": true, "/metrics": true, "/openapi.json": true, "/asyncapi.json": true}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	// AsyncAPI is set so that the conditional /asyncapi.json route is there too.
	e := handlers.New(handlers.Config{AsyncAPI: []byte(`{}`), Logger: slog.New(slog.DiscardHandler),
		Pages: pages(t, web.Config{Logger: slog.New(slog.DiscardHandler)})})
	registered := map[string]bool{}
	for _, r := range e.Routes() {
		// HTML pages (README.md, Pages) are named "page:..." and are not part of the
		// API contract; anything under /api/ and the operations endpoints
		// must still be documented, whatever its name.
		if strings.HasPrefix(r.Name, "page:") && !strings.HasPrefix(r.Path, "/api/") && !opsPaths[r.Path] {
			continue
		}
		if strings.Contains(r.Path, "*") {
			t.Errorf("route %s %s: wildcard routes cannot be described; name the paths", r.Method, r.Path)
			continue
		}
		registered[r.Method+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	if len(registered) == 0 {
		t.Fatal("the router has no routes")
	}
	doc, _, err := loadContract()
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			documented[method+" "+path] = true
		}
	}
	var missing, extra []string
	for k := range registered {
		if !documented[k] {
			missing = append(missing, k)
		}
	}
	for k := range documented {
		if !registered[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	for _, k := range missing {
		t.Errorf("route %s is not in openapi.yaml", k)
	}
	for _, k := range extra {
		t.Errorf("openapi.yaml describes %s, which the router does not serve", k)
	}
}

// TestContractOnServedResponses runs checkContract on the answers the router
// gives without a service: operations endpoints and a missing token.
func TestContractOnServedResponses(t *testing.T) {
	failing := func(context.Context) error { return errors.New("down") }
	passing := func(context.Context) error { return nil }
	cases := []struct {
		name   string
		cfg    handlers.Config
		method string
		target string
		status int
	}{
		{"healthz", handlers.Config{}, http.MethodGet, "/healthz", 200},
		{"readyz ok", handlers.Config{Ready: map[string]func(context.Context) error{"database": passing}}, http.MethodGet, "/readyz", 200},
		{"readyz down", handlers.Config{Ready: map[string]func(context.Context) error{"database": passing, "nats": failing}}, http.MethodGet, "/readyz", 503},
		{"metrics", handlers.Config{}, http.MethodGet, "/metrics", 200},
		{"openapi.json", handlers.Config{}, http.MethodGet, "/openapi.json", 200},
		{"asyncapi.json", handlers.Config{AsyncAPI: []byte(`{"asyncapi":"3.0.0"}`)}, http.MethodGet, "/asyncapi.json", 200},
		{"no token", handlers.Config{}, http.MethodGet, "/api/v1/agencies", 401},
		{"no token, dossier", handlers.Config{}, http.MethodGet, "/api/v1/dossiers/000.00.07.H29-260316-0001", 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.cfg.Logger = slog.New(slog.DiscardHandler)
			e := handlers.New(c.cfg)
			req := httptest.NewRequest(c.method, c.target, nil)
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			checkContract(t, req, nil, rec.Code, rec.Header(), rec.Body.Bytes())
		})
	}
}

// roleVerifier takes any token as an actor with the role named by the token.
type roleVerifier struct{}

func (roleVerifier) Verify(_ context.Context, token string) (domain.Actor, error) {
	return domain.Actor{Sub: token, Roles: []domain.Role{domain.Role(token)}, Agency: "000.00.07.H29"}, nil
}

// TestContractOnServedProblems runs checkContract on problem documents the
// router gives before any use case runs: bad bodies, roles, dates, the rate limit.
func TestContractOnServedProblems(t *testing.T) {
	e := handlers.New(handlers.Config{Verifier: roleVerifier{}, PublicRateLimit: 1, Logger: slog.New(slog.DiscardHandler)})
	big := bytes.Repeat([]byte(" "), 2<<20)
	cases := []struct {
		name, method, target, token, ct string
		body                            []byte
		status                          int
	}{
		{"not JSON", http.MethodPut, "/api/v1/agencies/000.00.07.H29", "admin", "text/plain", []byte(`{"name":"X"}`), 415},
		{"malformed JSON", http.MethodPut, "/api/v1/agencies/000.00.07.H29", "admin", "application/json", []byte(`{"name":`), 400},
		{"unknown field", http.MethodPut, "/api/v1/procedures/1.001445", "admin", "application/json", []byte(`{"nom":"X"}`), 400},
		{"too large", http.MethodPost, "/api/v1/dossiers", "clerk", "application/json", big, 413},
		{"wrong role", http.MethodPut, "/api/v1/agencies/000.00.07.H29", "clerk", "application/json", []byte(`{"name":"X"}`), 403},
		{"no token", http.MethodGet, "/api/v1/procedures", "", "", nil, 401},
		{"no such date", http.MethodPut, "/api/v1/calendar/days/2026-02-30", "admin", "application/json", []byte(`{"kind":"holiday"}`), 422},
		{"bad procedure version", http.MethodGet, "/api/v1/procedures/1.001445?version=0", "officer", "", nil, 422},
		{"deadline without from", http.MethodGet, "/api/v1/calendar/deadline?working_days=1", "", "", nil, 422},
		{"days without year", http.MethodGet, "/api/v1/calendar/days", "", "", nil, 422},
		// PublicRateLimit 1 gives a burst of 2: the two requests above used it.
		{"rate limited", http.MethodGet, "/api/v1/calendar/deadline?working_days=1", "", "", nil, 429},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(c.method, c.target, bytes.NewReader(c.body))
			if c.ct != "" {
				req.Header.Set("Content-Type", c.ct)
			}
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			rec := httptest.NewRecorder()
			e.ServeHTTP(rec, req)
			if rec.Code != c.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, c.status, rec.Body)
			}
			checkContract(t, req, c.body, rec.Code, rec.Header(), rec.Body.Bytes())
		})
	}
}

// TestContractCheckFails makes sure validate catches what it is meant to.
func TestContractCheckFails(t *testing.T) {
	agency := `{"code":"000.00.07.H29","name":"Sở Tư pháp","office_hours":{"mon":["08:00-12:00"]},` +
		`"created_at":"2026-03-16T08:00:00+07:00","updated_at":"2026-03-16T08:00:00+07:00"}`
	problem := `{"type":"https://motcua.gov.vn/problems/not_found","title":"Không tìm thấy","status":404,"code":"not_found"}`
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	problemCT := http.Header{"Content-Type": {"application/problem+json"}}
	get := func(target string) *http.Request { return httptest.NewRequest(http.MethodGet, target, nil) }
	put := func(target, ct string) *http.Request {
		r := httptest.NewRequest(http.MethodPut, target, nil)
		r.Header.Set("Content-Type", ct)
		return r
	}
	cases := []struct {
		name    string
		req     *http.Request
		reqBody string
		status  int
		header  http.Header
		body    string
		wantErr string // "" for a valid exchange
	}{
		{"valid agency", get("/api/v1/agencies/000.00.07.H29"), "", 200, jsonCT, agency, ""},
		{"agency without code", get("/api/v1/agencies/000.00.07.H29"), "",
			200, jsonCT, strings.Replace(agency, `"code":"000.00.07.H29",`, "", 1), "code"},
		{"agency with an undocumented field", get("/api/v1/agencies/000.00.07.H29"), "",
			200, jsonCT, strings.Replace(agency, `{`, `{"secret":1,`, 1), "secret"},
		{"agency with a bad time", get("/api/v1/agencies/000.00.07.H29"), "",
			200, jsonCT, strings.Replace(agency, `2026-03-16T08:00:00+07:00`, `16/03/2026`, 1), "created_at"},
		{"undocumented status", get("/api/v1/agencies/000.00.07.H29"), "", 418, problemCT, problem, "status is not supported"},
		{"problem", get("/api/v1/agencies/000.00.07.H29"), "", 404, problemCT, problem, ""},
		{"problem as application/json", get("/api/v1/agencies/000.00.07.H29"), "", 404, jsonCT, problem, "Content-Type"},
		{"problem without code", get("/api/v1/agencies/000.00.07.H29"), "",
			404, problemCT, strings.Replace(problem, `,"code":"not_found"`, "", 1), "code"},
		{"unknown route", get("/api/v1/nothing"), "", 200, jsonCT, `{}`, "not an operation"},
		{"unknown method", httptest.NewRequest(http.MethodDelete, "/api/v1/agencies/000.00.07.H29", nil), "",
			200, jsonCT, agency, "not an operation"},
		{"bad request accepted", put("/api/v1/agencies/000.00.07.H29", "application/json"), `{"name":"X","extra":1}`,
			200, jsonCT, agency, "request does not match"},
		{"bad request refused", put("/api/v1/agencies/000.00.07.H29", "application/json"), `{"name":"X","extra":1}`,
			400, problemCT, strings.NewReplacer("not_found", "bad_request", "404", "400").Replace(problem), ""},
		{"good request accepted", put("/api/v1/agencies/000.00.07.H29", "application/json"), `{"name":"X"}`,
			201, jsonCT, agency, ""},
		{"401 without WWW-Authenticate", get("/api/v1/agencies"), "",
			401, problemCT, strings.NewReplacer("not_found", "unauthorized", "404", "401").Replace(problem), "WWW-Authenticate"},
		{"missing pin accepted", get("/api/v1/public/dossiers/000.00.07.H29-260316-0001"), "",
			404, problemCT, problem, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := validate(c.req, []byte(c.reqBody), c.status, c.header, []byte(c.body))
			switch {
			case c.wantErr == "" && err != nil:
				t.Errorf("want valid, got %v", err)
			case c.wantErr != "" && err == nil:
				t.Errorf("want an error about %q, got none", c.wantErr)
			case c.wantErr != "" && !strings.Contains(err.Error(), c.wantErr):
				t.Errorf("want an error about %q, got %v", c.wantErr, err)
			}
		})
	}
}

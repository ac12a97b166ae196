package handlers_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// serve sends a request through the router without the contract check (a
// 503 can answer any operation).
func (e *env) serve(method, path, token, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.e.ServeHTTP(rec, req)
	return rec
}

func wantUnavailable(t *testing.T, rec *httptest.ResponseRecorder, what string) {
	t.Helper()
	var p handlers.Problem
	_ = json.Unmarshal(rec.Body.Bytes(), &p)
	if rec.Code != http.StatusServiceUnavailable || p.Code != "unavailable" || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("%s: %d %q Retry-After %q: %s", what, rec.Code, p.Code, rec.Header().Get("Retry-After"), rec.Body)
	}
}

// requestsWhileDown are a read, an intake, a transition and a public look-up.
func requestsWhileDown(t *testing.T, e *env, d dossierDoc) {
	t.Helper()
	clerk := e.token(domain.RoleClerk, center)
	body, _ := json.Marshal(intakeBody("2.000635", "counter"))
	wantUnavailable(t, e.serve(http.MethodGet, "/api/v1/dossiers/"+d.Code, clerk, ""), "read")
	wantUnavailable(t, e.serve(http.MethodGet, "/api/v1/dossiers", clerk, ""), "list")
	wantUnavailable(t, e.serve(http.MethodPost, "/api/v1/dossiers", clerk, string(body)), "intake")
	wantUnavailable(t, e.serve(http.MethodPost, "/api/v1/dossiers/"+d.Code+"/transitions", clerk, `{"action":"transfer","version":1}`), "transition")
	wantUnavailable(t, e.serve(http.MethodGet, "/api/v1/public/dossiers/"+d.Code+"?pin="+d.LookupPIN, "", ""), "look-up")
	rec := e.serve(http.MethodGet, "/readyz", "", "")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("readyz: %d %v", rec.Code, rec.Header())
	}
}

// TestDatabaseClosed: with the store closed every request is a 503
// unavailable with Retry-After, not a 500.
func TestDatabaseClosed(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		d := e.intake(intakeBody("2.000635", "counter"))
		if err := st.Close(); err != nil {
			t.Fatal(err)
		}
		requestsWhileDown(t, e, d)
	})
}

// proxy forwards TCP to target until it is stopped, then refuses and cuts
// every connection: a database server that went away.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() { _, _ = io.Copy(c, s); c.Close() }()
		}
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) stop() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestPostgresGone: PostgreSQL reached through a connection that dies (the
// server stopped, a switch-over) answers 503 unavailable, not 500.
func TestPostgresGone(t *testing.T) {
	dsn := storetest.PostgresURL(t)
	if dsn == "" {
		t.Skip("TEST_DATABASE_URL is not set: PostgreSQL tests skipped")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	u.Host = p.ln.Addr().String()
	ctx := context.Background()
	st, err := store.Open(ctx, store.Options{DatabaseURL: u.String(), MaxConns: 4, Logger: storetest.Quiet()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, st)
	e.catalogue()
	d := e.intake(intakeBody("2.000635", "counter"))
	p.stop()
	requestsWhileDown(t, e, d)
}

// TestUnavailableErrors: PostgreSQL's connection and switch-over errors are
// "unavailable", a statement's own errors are not.
func TestUnavailableErrors(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{pgError("08006"), true}, {pgError("08001"), true}, {pgError("57P01"), true}, {pgError("57P03"), true},
		{pgError("25006"), true}, {pgError("53300"), true},
		{pgError("23505"), false}, {pgError("22P05"), false}, {io.ErrUnexpectedEOF, true},
		{&net.OpError{Op: "dial", Net: "tcp", Err: io.EOF}, true}, {context.Canceled, false},
	} {
		if got := store.Unavailable(tc.err); got != tc.want {
			t.Errorf("Unavailable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func pgError(code string) error {
	return &pgconn.PgError{Severity: "FATAL", Code: code, Message: "test"}
}

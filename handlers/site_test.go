package handlers_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/web"
)

// The API's tests that meet the pages too (the refusals, the sign-in's
// redirect, a client gone on a page) drive the whole site as a browser
// does; the pages' own tests are in package web.

// logBuffer collects what the router logs, to prove a PIN never reaches it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// site is the real router served over HTTP, as a browser meets it.
type site struct {
	*env
	srv  *httptest.Server
	logs *logBuffer
}

// newSite builds the router as main does (pages included, with a session
// key and a public URL) on a real store with the test clock.
func newSite(t *testing.T, st *store.Store, cfg func(*handlers.Config)) *site {
	t.Helper()
	e := newEnv(t, st)
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	v, err := auth.NewHS256([]byte(testSecret), auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(nil)
	publicURL := "http://" + srv.Listener.Addr().String()
	c := handlers.Config{Service: e.svc, Verifier: v, Logger: log, Registry: prometheus.NewRegistry(),
		Ready: map[string]func(context.Context) error{"database": st.Ping}, PublicURL: publicURL,
		Pages: pages(t, web.Config{Service: e.svc, Verifier: v, Logger: log, PublicURL: publicURL,
			SessionKey: []byte("pages-test-session-key-0123456789abcdef")})}
	if cfg != nil {
		cfg(&c)
	}
	srv.Config.Handler = handlers.New(c)
	srv.Start()
	t.Cleanup(srv.Close)
	return &site{env: e, srv: srv, logs: logs}
}

// browser is an HTTP client with cookies that does not follow redirects.
type browser struct {
	t    *testing.T
	s    *site
	http *http.Client
}

func (s *site) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: s.t, s: s, http: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	Status int
	Header http.Header
	Body   string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	res, err := b.http.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return page{Status: res.StatusCode, Header: res.Header, Body: string(body)}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.s.srv.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.s.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token of the first form of a page.
func (b *browser) csrf(p page) string {
	b.t.Helper()
	m := csrfRe.FindStringSubmatch(p.Body)
	if m == nil {
		b.t.Fatalf("no CSRF token on the page:\n%s", p.Body)
	}
	return m[1]
}

// signIn signs in with a token, as a person pastes it into the sign-in page.
func (b *browser) signIn(role domain.Role, agency string) {
	b.t.Helper()
	form := b.get("/dang-nhap")
	res := b.post("/dang-nhap", url.Values{"csrf": {b.csrf(form)}, "token": {b.s.token(role, agency)}})
	if res.Status != http.StatusSeeOther {
		b.t.Fatalf("sign-in: %d\n%s", res.Status, res.Body)
	}
}

func (p page) must(t *testing.T, status int, contains ...string) page {
	t.Helper()
	if p.Status != status {
		t.Fatalf("status %d, want %d:\n%s", p.Status, status, p.Body)
	}
	for _, s := range contains {
		if !strings.Contains(p.Body, s) {
			t.Fatalf("page lacks %q:\n%s", s, p.Body)
		}
	}
	return p
}

func (p page) lacks(t *testing.T, s ...string) page {
	t.Helper()
	for _, x := range s {
		if strings.Contains(p.Body, x) {
			t.Fatalf("page shows %q:\n%s", x, p.Body)
		}
	}
	return p
}

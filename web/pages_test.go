package web_test

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
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
	"github.com/motcua/motcua/web"
)

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
func newSite(t *testing.T, st *store.Store, cfg func(*handlers.Config, *web.Config)) *site {
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
		Ready: map[string]func(context.Context) error{"database": st.Ping}, PublicURL: publicURL}
	wc := web.Config{Service: e.svc, Verifier: v, Logger: log, PublicURL: publicURL,
		SessionKey: []byte("pages-test-session-key-0123456789abcdef")}
	if cfg != nil {
		cfg(&c, &wc)
	}
	c.Pages = pages(t, wc)
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

// walkToReturned takes a dossier of 1.001612 (two steps) to returned.
func (e *env) walkToReturned(code string) {
	e.t.Helper()
	clerk := e.token(domain.RoleClerk, center)
	e.must(e.act(code, clerk, at(2026, 3, 16, 10, 0), map[string]any{"action": "transfer"}), 200)
	e.must(e.act(code, e.token(domain.RoleOfficer, office), at(2026, 3, 17, 10, 0), map[string]any{"action": "complete_step"}), 200)
	e.must(e.act(code, e.token(domain.RoleOfficer, dept), at(2026, 3, 18, 10, 0), map[string]any{"action": "complete_step", "result": "approved"}), 200)
	e.must(e.act(code, clerk, at(2026, 3, 18, 14, 0), map[string]any{"action": "return_result", "method": "counter"}), 200)
}

func TestLookupPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSite(t, st, nil)
		s.catalogue()
		d := s.intake(intakeBody("1.001612", "counter"))
		b := s.browser()

		home := b.get("/").must(t, 200, "Mã hồ sơ", "Mã tra cứu", `<label for="ma">`, `<label for="pin">`)
		for k, want := range map[string]string{"Content-Type": "text/html; charset=UTF-8", "Cache-Control": "no-store",
			"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff"} {
			if got := home.Header.Get(k); got != want {
				t.Errorf("%s: %q, want %q", k, got, want)
			}
		}
		if csp := home.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("CSP %q", csp)
		}

		// The receipt's QR link: status, times and the steps, no personal data.
		res := b.get("/tra-cuu?"+url.Values{"ma": {d.Code}, "pin": {d.LookupPIN}}.Encode()).
			must(t, 200, d.Code, "Đã tiếp nhận", "Thẩm định", "Phê duyệt", "Phòng Đăng ký kinh doanh", "Đăng ký thành lập hộ kinh doanh",
				"09:00 16/03/2026", "Hẹn trả kết quả").
			lacks(t, "Nguyễn Văn An", "001090001234", "0912345678", "clerk@")
		_ = res

		// Typed in the form (POST, CSRF token from the form page).
		b.post("/tra-cuu", url.Values{"csrf": {b.csrf(home)}, "ma": {strings.ToLower(d.Code)}, "pin": {d.LookupPIN[:4] + " " + d.LookupPIN[4:]}}).
			must(t, 200, d.Code, "Thẩm định")
		// Without the token nothing is looked up.
		b.post("/tra-cuu", url.Values{"ma": {d.Code}, "pin": {d.LookupPIN}}).must(t, 403, "Biểu mẫu").lacks(t, "Thẩm định")
		other := s.browser()
		other.post("/tra-cuu", url.Values{"csrf": {b.csrf(home)}, "ma": {d.Code}, "pin": {d.LookupPIN}}).must(t, 403).lacks(t, "Thẩm định")

		// An unknown code and a wrong PIN give the same page.
		unknown := strings.Replace(d.Code, "-0001", "-0999", 1)
		wrongPIN := b.get("/tra-cuu?"+url.Values{"ma": {d.Code}, "pin": {"00000000"}}.Encode()).must(t, 404, "Không tìm thấy hồ sơ")
		noCode := b.get("/tra-cuu?"+url.Values{"ma": {unknown}, "pin": {d.LookupPIN}}.Encode()).must(t, 404)
		typed := func(p page, code string) string {
			return strings.Replace(p.Body, `value="`+code+`"`, `value="X"`, 1)
		}
		if typed(wrongPIN, d.Code) != typed(noCode, unknown) {
			t.Errorf("a wrong PIN and an unknown code look different:\n%s\n---\n%s", wrongPIN.Body, noCode.Body)
		}

		// Absurd lengths and markup: the same page, escaped and clipped.
		evil := `<script>alert("x")</script>` + strings.Repeat("A", 5000)
		for _, q := range []url.Values{{"ma": {evil}, "pin": {d.LookupPIN}}, {"ma": {d.Code}, "pin": {evil}},
			{"ma": {`"><img src=x onerror=alert(1)>`}, "pin": {"1"}}} {
			p := b.get("/tra-cuu?"+q.Encode()).must(t, 404, "Không tìm thấy hồ sơ").lacks(t, "<script>alert", "<img src=x", strings.Repeat("A", 100))
			if len(p.Body) > 100_000 {
				t.Errorf("page of %d bytes", len(p.Body))
			}
		}
		b.post("/tra-cuu", url.Values{"csrf": {b.csrf(home)}, "ma": {evil}, "pin": {evil}}).must(t, 404).lacks(t, "<script>alert")

		// The PIN never reaches a log line, the code's path does.
		if logs := s.logs.String(); strings.Contains(logs, d.LookupPIN) || !strings.Contains(logs, `"path":"/tra-cuu"`) {
			t.Errorf("logs:\n%s", logs)
		}
	})
}

func TestLookupPageLockOut(t *testing.T) {
	s := newSite(t, storetest.SQLite(t), nil)
	s.catalogue()
	d := s.intake(intakeBody("2.000635", "counter"))
	b := s.browser()
	right := "/tra-cuu?" + url.Values{"ma": {d.Code}, "pin": {d.LookupPIN}}.Encode()
	b.get(right).must(t, 200)
	var wrong page
	for i := 0; i < 5; i++ {
		wrong = b.get("/tra-cuu?"+url.Values{"ma": {d.Code}, "pin": {"12345678"}}.Encode()).must(t, 404)
	}
	// Locked: the right PIN now gets exactly the page of a wrong one.
	if locked := b.get(right).must(t, 404); locked.Body != wrong.Body {
		t.Errorf("the lock-out is told apart:\n%s\n---\n%s", locked.Body, wrong.Body)
	}
	s.clock.Set(s.clock.Now().Add(61 * time.Minute))
	b.get(right).must(t, 200)
}

func TestLookupPageRateLimit(t *testing.T) {
	s := newSite(t, storetest.SQLite(t), func(c *handlers.Config, _ *web.Config) { c.PublicRateLimit = 1 })
	b := s.browser()
	var last page
	for i := 0; i < 5; i++ {
		last = b.get("/tra-cuu?ma=X&pin=1")
	}
	last.must(t, 429, "quá nhiều yêu cầu")
	if last.Header.Get("Retry-After") == "" || !strings.HasPrefix(last.Header.Get("Content-Type"), "text/html") {
		t.Errorf("headers %v", last.Header)
	}
	// The API and the pages share one budget per client.
	res, err := http.Get(s.srv.URL + "/api/v1/public/dossiers/X-260316-0001?pin=12345678")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusTooManyRequests {
		t.Errorf("API after the pages used the budget: %d", res.StatusCode)
	}
}

func TestRatingPage(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSite(t, st, nil)
		s.catalogue()
		d := s.intake(intakeBody("1.001612", "counter"))
		b := s.browser()
		link := "/tra-cuu?" + url.Values{"ma": {d.Code}, "pin": {d.LookupPIN}}.Encode()
		b.get(link).must(t, 200).lacks(t, "Đánh giá mức độ hài lòng")
		s.walkToReturned(d.Code)
		res := b.get(link).must(t, 200, "Đã trả kết quả", "Đánh giá mức độ hài lòng", `name="diem"`)
		token := b.csrf(res)
		before := s.rows()
		for _, bad := range []string{"0", "6", "-1", "abc", "", "99999999999999"} {
			b.post("/tra-cuu/danh-gia", url.Values{"csrf": {token}, "ma": {d.Code}, "pin": {d.LookupPIN}, "diem": {bad}}).
				must(t, 422, "từ 1 đến 5", "chưa được ghi nhận")
		}
		b.post("/tra-cuu/danh-gia", url.Values{"csrf": {"forged"}, "ma": {d.Code}, "pin": {d.LookupPIN}, "diem": {"5"}}).must(t, 403)
		b.post("/tra-cuu/danh-gia", url.Values{"ma": {d.Code}, "pin": {d.LookupPIN}, "diem": {"5"}}).must(t, 403)
		b.post("/tra-cuu/danh-gia", url.Values{"csrf": {token}, "ma": {d.Code}, "pin": {"11111111"}, "diem": {"5"}}).must(t, 404, "Không tìm thấy")
		if after := s.rows(); !equalRows(before, after) {
			t.Fatalf("bad ratings changed rows: %v -> %v", before, after)
		}
		b.post("/tra-cuu/danh-gia", url.Values{"csrf": {token}, "ma": {d.Code}, "pin": {d.LookupPIN}, "diem": {"4"}, "y-kien": {"<b>Tốt</b>"}}).
			must(t, 200, "Cảm ơn", "4/5").lacks(t, `name="diem"`)
		b.post("/tra-cuu/danh-gia", url.Values{"csrf": {token}, "ma": {d.Code}, "pin": {d.LookupPIN}, "diem": {"5"}}).must(t, 409, "đã được đánh giá")
	})
}

func equalRows(a, b map[string]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

var _ = service.HistoryReissuePIN

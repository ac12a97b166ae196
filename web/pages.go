package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/service"
)

// The templates and assets of the pages, embedded in the binary (no CDN, no
// build step, no JavaScript needed).
//
//go:embed templates assets
var webFS embed.FS

// pageRoute marks the routes of HTML pages; the OpenAPI coverage test skips
// them (the API and the operations endpoints stay strict).
const pageRoute = "page:"

// Config wires the pages.
type Config struct {
	Service  *service.Service
	Verifier handlers.Verifier
	Logger   *slog.Logger
	// TrustedProxies may tell, with PublicURL unset, the site's address
	// (X-Forwarded-Proto, X-Forwarded-Host and Host).
	TrustedProxies []*net.IPNet
	// PublicURL is the site's address as citizens reach it (the receipt's
	// QR link, the OIDC redirect); empty = the address each request was
	// sent to. An https URL makes the pages' cookies Secure.
	PublicURL string
	// SessionKey seals the pages' session cookies (32+ bytes; every instance
	// needs the same); empty = a random key per process.
	SessionKey []byte
	// SessionTTL is how long a staff session lasts; 0 = DefaultSessionTTL.
	SessionTTL time.Duration
	// OIDC turns on signing in to the pages with an OpenID Connect provider.
	OIDC OIDCConfig
}

// Site is the pages, built once and mounted on the API's router.
type Site struct{ p *pages }

// New builds the pages: templates parsed, assets hashed, sessions keyed.
func New(cfg Config) (*Site, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	p, err := newPages(cfg)
	if err != nil {
		return nil, fmt.Errorf("web: pages: %w", err)
	}
	return &Site{p: p}, nil
}

// pages holds what the page handlers share.
type pages struct {
	svc      *service.Service
	reports  handlers.Reports
	cfg      Config
	sess     *sessions
	oidc     *oidcClient // nil: sign in with a token from `motcua token`
	verifier handlers.Verifier
	tmpl     map[string]*template.Template
	receipt  *template.Template
	assets   map[string]asset
	css, js  string // asset URLs with a content hash
}

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// Mount adds the pages and the receipt endpoint to the API's router
// (handlers.Config.Pages). The citizen's pages share the API's public rate
// limiter (one budget per client for both).
func (s *Site) Mount(e *echo.Echo, public echo.MiddlewareFunc) {
	p := s.p
	public = p.shareLimit(public)
	page := func(method, path string, fn echo.HandlerFunc, m ...echo.MiddlewareFunc) {
		m = append([]echo.MiddlewareFunc{p.pageErrors, p.headers, handlers.GuardParams}, m...)
		r := e.Add(method, path, fn, m...)
		r.Name = pageRoute + method + " " + path
	}
	page(http.MethodGet, "/assets/:name", p.asset)
	page(http.MethodGet, "/favicon.ico", serveFavicon)
	page(http.MethodGet, "/", p.lookupGet, public)
	page(http.MethodGet, "/tra-cuu", p.lookupGet, public)
	page(http.MethodPost, "/tra-cuu", p.lookupPost, public)
	page(http.MethodPost, "/tra-cuu/danh-gia", p.ratePost, public)

	page(http.MethodGet, "/dang-nhap", p.signInPage)
	page(http.MethodPost, "/dang-nhap", p.signInToken, public)
	page(http.MethodGet, "/dang-nhap/oidc", p.oidcStart, public)
	page(http.MethodGet, "/dang-nhap/oidc/callback", p.oidcCallback, public)
	page(http.MethodPost, "/dang-xuat", p.signOut, p.staff())

	page(http.MethodGet, "/can-bo", p.consoleList, p.staff())
	page(http.MethodGet, "/can-bo/tiep-nhan", p.intakeForm, p.staff(domain.RoleClerk, domain.RoleAdmin))
	page(http.MethodPost, "/can-bo/tiep-nhan", p.intakePost, p.staff(domain.RoleClerk, domain.RoleAdmin))
	page(http.MethodGet, "/can-bo/ho-so/:code", p.dossierPage, p.staff())
	page(http.MethodPost, "/can-bo/ho-so/:code/thao-tac", p.actionPost, p.staff(domain.RoleClerk, domain.RoleOfficer, domain.RoleAdmin))
	page(http.MethodPost, "/can-bo/ho-so/:code/cap-lai-ma", p.reissuePost, p.staff(domain.RoleClerk, domain.RoleAdmin))
	page(http.MethodPost, "/can-bo/ho-so/:code/thong-bao", p.notifyPost, p.staff(domain.RoleClerk, domain.RoleAdmin))

	page(http.MethodGet, "/giam-sat", p.dashboard, p.staff(domain.RoleSupervisor, domain.RoleAdmin))
	page(http.MethodGet, "/giam-sat/xuat/bao-cao", p.exportCompliance, p.staff(domain.RoleSupervisor, domain.RoleAdmin))
	page(http.MethodGet, "/giam-sat/xuat/qua-han", p.exportOverdue, p.staff(domain.RoleSupervisor, domain.RoleAdmin))
	page(http.MethodGet, "/giam-sat/xuat/bo-chi-so", p.exportScorecard, p.staff(domain.RoleSupervisor, domain.RoleAdmin))
	page(http.MethodGet, "/giam-sat/xuat/cham-muon", p.exportLateness, p.staff(domain.RoleSupervisor, domain.RoleAdmin))

	// The receipt is part of the API (a counter application prints it
	// after intake) and is in openapi.yaml; the console opens it with the
	// session cookie.
	e.GET("/api/v1/dossiers/:code/receipt", p.receiptAPI, p.headers,
		p.bearerOrSession(domain.RoleClerk, domain.RoleAdmin))
}

func newPages(cfg Config) (*pages, error) {
	secure := strings.HasPrefix(cfg.PublicURL, "https://")
	sess, err := newSessions(cfg.SessionKey, cfg.SessionTTL, secure, func() time.Time { return cfg.Service.Now() })
	if err != nil {
		return nil, err
	}
	if cfg.Service != nil {
		sess.book = cfg.Service
	}
	p := &pages{svc: cfg.Service, reports: handlers.NewReports(cfg.Service, cfg.Logger), cfg: cfg, sess: sess, verifier: cfg.Verifier, tmpl: map[string]*template.Template{},
		assets: map[string]asset{}}
	if cfg.OIDC.Issuer != "" {
		p.oidc = newOIDCClient(cfg.OIDC)
	}
	for _, name := range []string{"app.css", "app.js"} {
		b, err := webFS.ReadFile("assets/" + name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(name))
		if strings.HasSuffix(name, ".js") {
			ct = "text/javascript; charset=utf-8"
		}
		p.assets[name] = asset{body: b, ctype: ct, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
	}
	p.css = "/assets/app.css?v=" + strings.Trim(p.assets["app.css"].etag, `"`)
	p.js = "/assets/app.js?v=" + strings.Trim(p.assets["app.js"].etag, `"`)

	base, err := template.New("").Funcs(templateFuncs).ParseFS(webFS, "templates/layout.html", "templates/parts.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(webFS, "templates/page_*.html")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		t, err := template.Must(base.Clone()).ParseFS(webFS, f)
		if err != nil {
			return nil, err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(path.Base(f), "page_"), ".html")
		p.tmpl[name] = t
	}
	if p.receipt, err = template.New("").Funcs(templateFuncs).ParseFS(webFS, "templates/receipt.html"); err != nil {
		return nil, err
	}
	return p, nil
}

// pageData is what every page template gets.
type pageData struct {
	Title   string
	Section string // lookup, signin, console, intake, dashboard
	Staff   *domain.Actor
	CSRF    string
	CSS, JS string
	Flash   string
	Error   string
	// Errors are per-field messages, by form field name.
	Errors map[string]string
	Data   any
}

func (p *pages) data(c echo.Context, title, section string) *pageData {
	d := &pageData{Title: title, Section: section, CSS: p.css, JS: p.js, Errors: map[string]string{}}
	if ss, ok := c.Get(sessionKey).(session); ok {
		a := ss.actor()
		d.Staff = &a
		d.CSRF = p.sess.csrfFor("session:" + ss.ID)
	} else {
		d.CSRF = p.sess.csrfFor(p.sess.formBinding(c))
	}
	return d
}

// render writes a page; it is built in a buffer first, so a template error
// is a clean 500, never half a page.
func (p *pages) render(c echo.Context, status int, name string, d *pageData) error {
	t, ok := p.tmpl[name]
	if !ok {
		return errors.New("web: no page template " + name)
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", d); err != nil {
		return err
	}
	return c.HTMLBlob(status, buf.Bytes())
}

// headers are the security headers of every page: no framing, no sniffing,
// no referrer (a look-up URL may carry a PIN), scripts and styles from this
// site only, and no caching of pages that show personal data or PINs.
func (p *pages) headers(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "+
			"form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		if !strings.HasPrefix(c.Path(), "/assets/") {
			h.Set("Cache-Control", "no-store")
		}
		return next(c)
	}
}

// pageErrors turns an error of a page or its middleware (the rate limit, a
// use case) into an HTML page with the problem's status: a person reads it,
// not a program. Internal errors are logged with the request id, never shown.
func (p *pages) pageErrors(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		err := next(c)
		if err == nil || c.Response().Committed {
			return err
		}
		return p.fail(c, err)
	}
}

// fail renders the error page for err.
func (p *pages) fail(c echo.Context, err error) error {
	if handlers.ClientGone(c, err) {
		handlers.ClosedByClient(p.cfg.Logger, c, err)
		return nil
	}
	pr := handlers.ProblemFor(err)
	if pr.Status >= 500 {
		p.cfg.Logger.Error("page failed", "request_id", c.Response().Header().Get(echo.HeaderXRequestID),
			"method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
	}
	if pr.Status == http.StatusTooManyRequests {
		c.Response().Header().Set("Retry-After", "1")
	}
	d := p.data(c, titleFor(pr), "error")
	d.Error = messageFor(pr)
	d.Data = errorPage{Status: pr.Status, Code: pr.Code, RequestID: c.Response().Header().Get(echo.HeaderXRequestID),
		SignIn: pr.Status == http.StatusUnauthorized}
	return p.render(c, pr.Status, "error", d)
}

type errorPage struct {
	Status    int
	Code      string
	RequestID string
	SignIn    bool
}

func titleFor(pr handlers.Problem) string {
	if t, ok := domain.Titles[pr.Code]; ok {
		return t
	}
	return http.StatusText(pr.Status)
}

// messageFor says in Vietnamese what went wrong and that nothing changed.
func messageFor(pr handlers.Problem) string {
	switch pr.Code {
	case "too_many_requests":
		return "Quý vị gửi quá nhiều yêu cầu trong thời gian ngắn. Vui lòng đợi vài giây rồi thử lại."
	case "not_found":
		return "Không tìm thấy trang hoặc hồ sơ được yêu cầu."
	case "forbidden":
		return "Tài khoản của quý vị không có quyền thực hiện việc này. Không có thay đổi nào được ghi nhận."
	case "unauthorized":
		return "Phiên làm việc không hợp lệ hoặc đã hết hạn. Thao tác chưa được thực hiện; vui lòng đăng nhập lại."
	case "csrf":
		return "Biểu mẫu đã hết hạn hoặc không hợp lệ. Thao tác chưa được thực hiện; vui lòng tải lại trang và thử lại."
	case "internal":
		return "Đã có lỗi hệ thống. Thao tác chưa được thực hiện; vui lòng thử lại sau."
	case "payload_too_large":
		return "Nội dung gửi lên quá lớn."
	case "version_conflict":
		return "Hồ sơ vừa được người khác cập nhật. Thao tác chưa được thực hiện; vui lòng xem lại hồ sơ rồi thử lại."
	case "invalid_transition":
		return "Thao tác không được phép ở trạng thái hiện tại của hồ sơ. Không có thay đổi nào được ghi nhận."
	}
	if pr.Detail != "" {
		return pr.Detail
	}
	return http.StatusText(pr.Status)
}

// errCSRF is a form posted without this site's token for it.
var errCSRF = &domain.Error{Kind: domain.Forbidden, Code: domain.CodeCSRF, Detail: "the form's CSRF token is missing or wrong"}

func (p *pages) asset(c echo.Context) error {
	a, ok := p.assets[c.Param("name")]
	if !ok {
		return echo.NewHTTPError(http.StatusNotFound, "no such asset")
	}
	h := c.Response().Header()
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	if c.Request().Header.Get("If-None-Match") == a.etag {
		return c.NoContent(http.StatusNotModified)
	}
	return c.Blob(http.StatusOK, a.ctype, a.body)
}

const sessionKey = "motcua.session"

// staff requires a signed-in person with one of the roles (any staff role
// when none is given). Without a usable session a GET goes to the sign-in
// page and comes back after it; a POST is refused with a page saying that
// nothing was done. Every POST must carry the session's CSRF token.
func (p *pages) staff(roles ...domain.Role) echo.MiddlewareFunc {
	if len(roles) == 0 {
		roles = handlers.StaffRoles()
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ss, state, err := p.sess.current(c)
			if err != nil {
				return err
			}
			if state != sessionOK {
				if state != sessionNone {
					p.sess.end(c)
				}
				if c.Request().Method == http.MethodGet {
					q := url.Values{"next": {c.Request().URL.RequestURI()}}
					if state == sessionExpired {
						q.Set("ly-do", "het-han")
					}
					return c.Redirect(http.StatusSeeOther, "/dang-nhap?"+q.Encode())
				}
				return &domain.Error{Kind: domain.Unauthorized, Code: domain.CodeUnauthorized, Detail: "no valid session"}
			}
			c.Set(sessionKey, ss)
			if c.Request().Method == http.MethodPost && !p.sess.checkCSRF("session:"+ss.ID, c.FormValue(csrfField)) {
				return errCSRF
			}
			a := ss.actor()
			if !a.HasAny(roles...) {
				return domain.Forbiddenf("this page needs one of the roles %s", handlers.JoinRoles(roles))
			}
			handlers.SetActor(c, a)
			return next(c)
		}
	}
}

// bearerOrSession authenticates an API GET by its bearer token, or else by
// the console's session cookie (a GET changes nothing, so it needs no CSRF
// token).
func (p *pages) bearerOrSession(roles ...domain.Role) echo.MiddlewareFunc {
	bearer := handlers.Authenticate(p.verifier, roles...)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		withBearer := bearer(next)
		return func(c echo.Context) error {
			if c.Request().Header.Get(echo.HeaderAuthorization) != "" {
				return withBearer(c)
			}
			ss, state, err := p.sess.current(c)
			if err != nil {
				return err
			}
			if state != sessionOK {
				return &domain.Error{Kind: domain.Unauthorized, Code: domain.CodeUnauthorized, Detail: "a bearer token or a signed-in session is required"}
			}
			a := ss.actor()
			if !a.HasAny(roles...) {
				return domain.Forbiddenf("this needs one of the roles %s", handlers.JoinRoles(roles))
			}
			handlers.SetActor(c, a)
			return next(c)
		}
	}
}

// shareLimit runs the API's rate limiter for a page, so both draw on one
// budget per client, but answers a refusal with a page: echo's limiter
// writes its refusal through the router's problem+json handler, so that
// answer is caught and dropped here and the refusal goes to pageErrors.
func (p *pages) shareLimit(public echo.MiddlewareFunc) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			res := c.Response()
			w := res.Writer
			res.Writer = discardWriter{h: http.Header{}}
			allowed := false
			err := public(func(echo.Context) error { allowed = true; return nil })(c)
			res.Writer, res.Status, res.Size, res.Committed = w, http.StatusOK, 0, false
			switch {
			case err != nil:
				return err
			case !allowed:
				return &domain.Error{Kind: domain.TooMany, Code: domain.CodeTooManyRequests, Detail: "too many requests"}
			}
			return next(c)
		}
	}
}

type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}

// baseURL is PUBLIC_URL, or what a trusted proxy says the request was sent
// to (requestBase).
func (p *pages) baseURL(c echo.Context) string {
	if p.cfg.PublicURL != "" {
		return strings.TrimRight(p.cfg.PublicURL, "/")
	}
	return requestBase(c.Request(), p.cfg.TrustedProxies)
}

// home is where a signed-in person starts.
func home(a domain.Actor) string {
	if a.Has(domain.RoleSupervisor) && !a.HasAny(domain.RoleClerk, domain.RoleOfficer) {
		return "/giam-sat"
	}
	return "/can-bo"
}

// fieldErrors lists a validation error's fields by form field name.
func fieldErrors(err error, rename map[string]string) map[string]string {
	out := map[string]string{}
	var de *domain.Error
	if errors.As(err, &de) {
		for _, f := range de.Fields {
			name := f.Field
			if r, ok := rename[name]; ok {
				name = r
			}
			if _, dup := out[name]; !dup {
				out[name] = handlers.Vietnamese(f.Message)
			}
		}
	}
	return out
}

// clip shortens what a person typed before it is shown back (escaped by the
// template in any case).
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	return string(r)
}

package web_test

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/store/storetest"
	"github.com/motcua/motcua/web"
)

// The pages' OpenID Connect sign-in is tested against a real provider:
// zitadel/oidc's OpenID Provider (its example server, with the library's
// op package doing the protocol: discovery, authorization with PKCE, token
// and UserInfo endpoints, signed ID tokens), started in the test. Only the
// users and their motcua claims (roles, agency) are ours.

// opUsers is the provider's user directory.
type opUsers map[string]*storage.User

func (u opUsers) GetUserByID(id string) *storage.User { return u[id] }
func (u opUsers) GetUserByUsername(name string) *storage.User {
	for _, x := range u {
		if x.Username == name {
			return x
		}
	}
	return nil
}
func (u opUsers) ExampleClientID() string { return "service" }

// opStorage is the example storage with the motcua claims of each user
// added to the ID token and the UserInfo answer.
type opStorage struct {
	*storage.Storage
	claims map[string]map[string]any
}

func (s *opStorage) SetUserinfoFromRequest(ctx context.Context, ui *oidc.UserInfo, req op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, ui, req, scopes); err != nil {
		return err
	}
	for k, v := range s.claims[req.GetSubject()] {
		ui.AppendClaims(k, v)
	}
	return nil
}

func (s *opStorage) SetUserinfoFromToken(ctx context.Context, ui *oidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, ui, tokenID, subject, origin); err != nil {
		return err
	}
	for k, v := range s.claims[subject] {
		ui.AppendClaims(k, v)
	}
	return nil
}

// startOP starts the provider with one client whose redirect is the site's
// callback.
func startOP(t *testing.T, redirect string) string {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	issuer := "http://" + srv.Listener.Addr().String()
	users := opUsers{
		"u-clerk": {ID: "u-clerk", Username: "an.clerk", Password: "mat-khau-1", FirstName: "Lê Thị", LastName: "Mai"},
		"u-none":  {ID: "u-none", Username: "khach", Password: "mat-khau-2", FirstName: "Khách", LastName: "Lạ"},
		"u-sup":   {ID: "u-sup", Username: "giam.sat", Password: "mat-khau-3", FirstName: "Phạm", LastName: "Giám Sát"},
	}
	st := &opStorage{
		Storage: storage.NewStorageWithClients(users, map[string]*storage.Client{
			"motcua": storage.WebClient("motcua", "client-secret", redirect),
		}),
		claims: map[string]map[string]any{
			"u-clerk": {"roles": []string{"clerk", "other-app:viewer"}, "agency": center},
			"u-none":  {"roles": []string{"other-app:viewer"}},
			"u-sup":   {"roles": "supervisor", "agency": root},
		},
	}
	srv.Config.Handler = exampleop.SetupServer(issuer, st, nil, false)
	srv.Start()
	t.Cleanup(srv.Close)
	return issuer
}

var opLoginIDRe = regexp.MustCompile(`name="id" value="([^"]+)"`)

// oidcSignIn goes through the provider's login page as a person does.
func oidcSignIn(t *testing.T, b *browser, issuer, user, password, next string) page {
	t.Helper()
	follow := *b.http
	follow.CheckRedirect = nil
	res, err := follow.Get(b.s.srv.URL + "/dang-nhap/oidc?" + url.Values{"next": {next}}.Encode())
	if err != nil {
		t.Fatal(err)
	}
	login := readAll(t, res.Body)
	res.Body.Close()
	m := opLoginIDRe.FindStringSubmatch(login)
	if m == nil {
		t.Fatalf("no login form at %s:\n%s", res.Request.URL, login)
	}
	res, err = follow.PostForm(issuer+"/login/username", url.Values{"id": {m[1]}, "username": {user}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	return page{Status: res.StatusCode, Header: res.Header, Body: readAll(t, res.Body)}
}

func TestOIDCSignIn(t *testing.T) {
	st := storetest.SQLite(t)
	var issuer string
	s := newSite(t, st, func(c *handlers.Config, w *web.Config) {
		issuer = startOP(t, c.PublicURL+"/dang-nhap/oidc/callback")
		w.OIDC = web.OIDCConfig{Issuer: issuer, ClientID: "motcua", ClientSecret: "client-secret"}
	})
	s.catalogue()

	b := s.browser()
	b.get("/dang-nhap").must(t, 200, "Đăng nhập bằng tài khoản một lần").lacks(t, `name="token"`)
	// A token is no way in once OIDC is configured.
	b.post("/dang-nhap", url.Values{"csrf": {b.csrf(b.get("/"))}, "token": {s.token(domain.RoleAdmin, root)}}).must(t, 400)

	// The redirect to the provider carries the PKCE challenge (S256), a state and a nonce.
	res := b.get("/dang-nhap/oidc")
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.Status != http.StatusFound || !strings.HasPrefix(loc.String(), issuer) {
		t.Fatalf("start: %d %s", res.Status, loc)
	}
	q := loc.Query()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) < 43 || q.Get("state") == "" || q.Get("nonce") == "" ||
		q.Get("client_id") != "motcua" || q.Get("redirect_uri") != s.srv.URL+"/dang-nhap/oidc/callback" {
		t.Fatalf("authorization request %v", q)
	}

	// A clerk signs in at the provider and lands on the page asked for.
	b = s.browser()
	oidcSignIn(t, b, issuer, "an.clerk", "mat-khau-1", "/can-bo/tiep-nhan").must(t, 200, "Tiếp nhận hồ sơ", "Lê Thị Mai", center)
	b.get("/can-bo").must(t, 200, "Lê Thị Mai")
	b.get("/giam-sat").must(t, 403)

	// A supervisor (roles as a string) goes to the dashboard.
	sup := s.browser()
	oidcSignIn(t, sup, issuer, "giam.sat", "mat-khau-3", "").must(t, 200, "Phạm Giám Sát", "Giám sát giải quyết hồ sơ")

	// A person without a motcua role gets no session.
	n := s.browser()
	oidcSignIn(t, n, issuer, "khach", "mat-khau-2", "").must(t, 401, "chưa được cấp vai trò")
	if r := n.get("/can-bo"); r.Status != http.StatusSeeOther {
		t.Errorf("no role but a session: %d", r.Status)
	}

	// A callback that does not belong to a sign-in started here.
	x := s.browser()
	x.get("/dang-nhap/oidc/callback?code=abc&state=def").must(t, 400)
	x.get("/dang-nhap/oidc") // sets the state cookie
	x.get("/dang-nhap/oidc/callback?code=abc&state=not-the-state").must(t, 400)
	x.get("/dang-nhap/oidc")
	x.get("/dang-nhap/oidc/callback?error=access_denied&state=whatever").must(t, 401)
	y := s.browser()
	r := y.get("/dang-nhap/oidc")
	state, _ := url.Parse(r.Header.Get("Location"))
	y.get("/dang-nhap/oidc/callback?code=forged-code&state="+state.Query().Get("state")).must(t, 401)
	if logs := s.logs.String(); strings.Contains(logs, "forged-code") || strings.Contains(logs, "client-secret") {
		t.Errorf("secrets in the log:\n%s", logs)
	}
}

func TestOIDCProviderDown(t *testing.T) {
	s := newSite(t, storetest.SQLite(t), func(c *handlers.Config, w *web.Config) {
		w.OIDC = web.OIDCConfig{Issuer: "http://127.0.0.1:1", ClientID: "motcua", ClientSecret: "x",
			HTTPClient: &http.Client{Timeout: 2 * time.Second}}
	})
	jar, _ := cookiejar.New(nil)
	b := &browser{t: t, s: s, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	b.get("/dang-nhap/oidc").must(t, 503, "Không kết nối được")
}

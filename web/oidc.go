package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/labstack/echo/v4"
	"golang.org/x/oauth2"

	"github.com/motcua/motcua/domain"
)

// OIDCConfig turns on signing in to the pages with an OpenID Connect
// provider (authorization-code flow with PKCE); empty Issuer is off.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// Scopes asked for besides openid; default profile.
	Scopes []string
	// HTTPClient talks to the provider; nil is http.DefaultClient.
	HTTPClient *http.Client
}

// oidcClient finds the provider on first use (so the service starts while
// the provider is down) and again after a failure.
type oidcClient struct {
	cfg      OIDCConfig
	mu       sync.Mutex
	provider *oidc.Provider
}

func newOIDCClient(cfg OIDCConfig) *oidcClient { return &oidcClient{cfg: cfg} }

func (o *oidcClient) ctx(ctx context.Context) context.Context {
	ctx = context.WithoutCancel(ctx)
	if o.cfg.HTTPClient != nil {
		ctx = oidc.ClientContext(ctx, o.cfg.HTTPClient)
	}
	return ctx
}

func (o *oidcClient) get(ctx context.Context) (*oidc.Provider, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.provider != nil {
		return o.provider, nil
	}
	dctx, cancel := context.WithTimeout(o.ctx(ctx), 10*time.Second)
	defer cancel()
	p, err := oidc.NewProvider(oidc.ClientContext(dctx, o.httpClient()), o.cfg.Issuer)
	if err != nil {
		return nil, err
	}
	o.provider = p
	return p, nil
}

func (o *oidcClient) httpClient() *http.Client {
	if o.cfg.HTTPClient != nil {
		return o.cfg.HTTPClient
	}
	return &http.Client{Timeout: 15 * time.Second}
}

func (o *oidcClient) oauth(p *oidc.Provider, redirect string) *oauth2.Config {
	scopes := o.cfg.Scopes
	if len(scopes) == 0 {
		scopes = []string{"profile"}
	}
	return &oauth2.Config{ClientID: o.cfg.ClientID, ClientSecret: o.cfg.ClientSecret, Endpoint: p.Endpoint(),
		RedirectURL: redirect, Scopes: append([]string{oidc.ScopeOpenID}, scopes...)}
}

// oidcState is kept in a sealed cookie between the redirect to the provider
// and the way back: the state, the nonce and the PKCE verifier.
type oidcState struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"next,omitempty"`
	Expires  int64  `json:"exp"`
}

const oidcStateTTL = 10 * time.Minute

func (p *pages) callbackURL(c echo.Context) string { return p.baseURL(c) + "/dang-nhap/oidc/callback" }

func (p *pages) oidcStart(c echo.Context) error {
	if p.oidc == nil {
		return echo.NewHTTPError(http.StatusNotFound, "OpenID Connect is not configured")
	}
	prov, err := p.oidc.get(c.Request().Context())
	if err != nil {
		p.cfg.Logger.Warn("OIDC provider unavailable", "err", err)
		return p.oidcFailed(c, http.StatusServiceUnavailable, "Không kết nối được với hệ thống đăng nhập một lần. Vui lòng thử lại sau ít phút.")
	}
	st := oidcState{State: randomID(16), Nonce: randomID(16), Verifier: oauth2.GenerateVerifier(),
		Next: safeNext(c.QueryParam("next")), Expires: time.Now().Add(oidcStateTTL).Unix()}
	v, err := p.sess.seal(oidcCookie, st)
	if err != nil {
		return err
	}
	c.SetCookie(p.sess.cookie(oidcCookie, v, "/dang-nhap/oidc", int(oidcStateTTL/time.Second)))
	u := p.oidc.oauth(prov, p.callbackURL(c)).AuthCodeURL(st.State, oauth2.S256ChallengeOption(st.Verifier), oidc.Nonce(st.Nonce))
	return c.Redirect(http.StatusFound, u)
}

func (p *pages) oidcFailed(c echo.Context, status int, msg string) error {
	d := p.data(c, "Đăng nhập không thành công", "signin")
	d.Error = msg
	d.Data = signInForm{OIDC: p.oidc != nil}
	return p.render(c, status, "signin", d)
}

func (p *pages) oidcCallback(c echo.Context) error {
	if p.oidc == nil {
		return echo.NewHTTPError(http.StatusNotFound, "OpenID Connect is not configured")
	}
	var st oidcState
	ck, err := c.Cookie(oidcCookie)
	c.SetCookie(p.sess.cookie(oidcCookie, "", "/dang-nhap/oidc", -1))
	if err != nil || p.sess.open(oidcCookie, ck.Value, &st) != nil || time.Now().Unix() > st.Expires {
		return p.oidcFailed(c, http.StatusBadRequest, "Phiên đăng nhập đã hết hạn hoặc không hợp lệ. Vui lòng đăng nhập lại.")
	}
	if c.QueryParam("error") != "" {
		return p.oidcFailed(c, http.StatusUnauthorized, "Nhà cung cấp định danh từ chối đăng nhập.")
	}
	if q := c.QueryParam("state"); q == "" || q != st.State {
		return p.oidcFailed(c, http.StatusBadRequest, "Phiên đăng nhập không hợp lệ. Vui lòng đăng nhập lại.")
	}
	code := c.QueryParam("code")
	if code == "" || len(code) > 2048 {
		return p.oidcFailed(c, http.StatusBadRequest, "Phiên đăng nhập không hợp lệ. Vui lòng đăng nhập lại.")
	}
	a, exp, err := p.oidcActor(c, code, st)
	if err != nil {
		p.cfg.Logger.Warn("OIDC sign-in refused", "request_id", c.Response().Header().Get(echo.HeaderXRequestID), "reason", err.Error())
		return p.oidcFailed(c, http.StatusUnauthorized,
			"Không đăng nhập được: tài khoản chưa được cấp vai trò và cơ quan trong hệ thống một cửa, hoặc phiên đăng nhập không hợp lệ.")
	}
	if _, err := p.sess.start(c, a, "oidc", exp); err != nil {
		return err
	}
	next := st.Next
	if next == "" {
		next = home(a)
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// oidcClaims are the claims the API's tokens carry too: sub, name, roles,
// agency.
type oidcClaims struct {
	Subject string          `json:"sub"`
	Name    string          `json:"name"`
	Roles   json.RawMessage `json:"roles"`
	Agency  string          `json:"agency"`
}

// oidcActor redeems the code (with the PKCE verifier), verifies the ID
// token (issuer, audience, expiry, signature, nonce) and reads the person
// from its claims, completed from the UserInfo endpoint when the provider
// keeps roles or agency there. Errors say why, for the log only (they never
// quote the tokens).
func (p *pages) oidcActor(c echo.Context, code string, st oidcState) (domain.Actor, time.Time, error) {
	ctx := p.oidc.ctx(c.Request().Context())
	ctx = oidc.ClientContext(ctx, p.oidc.httpClient())
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	prov, err := p.oidc.get(ctx)
	if err != nil {
		return domain.Actor{}, time.Time{}, errors.New("provider unavailable")
	}
	tok, err := p.oidc.oauth(prov, p.callbackURL(c)).Exchange(ctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return domain.Actor{}, time.Time{}, errors.New("code exchange failed")
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return domain.Actor{}, time.Time{}, errors.New("no id_token in the token response")
	}
	idt, err := prov.Verifier(&oidc.Config{ClientID: p.oidc.cfg.ClientID}).Verify(ctx, raw)
	if err != nil {
		return domain.Actor{}, time.Time{}, errors.New("id_token not valid")
	}
	if idt.Nonce != st.Nonce {
		return domain.Actor{}, time.Time{}, errors.New("nonce mismatch")
	}
	var cl oidcClaims
	if err := idt.Claims(&cl); err != nil {
		return domain.Actor{}, time.Time{}, errors.New("id_token claims unreadable")
	}
	if len(cl.Roles) == 0 || cl.Agency == "" || cl.Name == "" {
		if ui, err := prov.UserInfo(ctx, oauth2.StaticTokenSource(tok)); err == nil && ui.Subject == idt.Subject {
			var more oidcClaims
			if err := ui.Claims(&more); err == nil {
				if len(cl.Roles) == 0 {
					cl.Roles = more.Roles
				}
				if cl.Agency == "" {
					cl.Agency = more.Agency
				}
				if cl.Name == "" {
					cl.Name = more.Name
				}
			}
		}
	}
	cl.Subject = idt.Subject
	a, err := cl.actor()
	// The session never outlives the ID token it was opened with.
	return a, idt.Expiry, err
}

// actor applies the API's rules to the claims: known roles, at least one,
// an agency code unless the person is only an administrator.
func (cl oidcClaims) actor() (domain.Actor, error) {
	var names []string
	if len(cl.Roles) > 0 {
		if err := json.Unmarshal(cl.Roles, &names); err != nil {
			var one string
			if err := json.Unmarshal(cl.Roles, &one); err != nil {
				return domain.Actor{}, errors.New("roles claim is neither a list nor a string")
			}
			names = strings.Fields(strings.ReplaceAll(one, ",", " "))
		}
	}
	a := domain.Actor{Sub: cl.Subject, Name: clip(cl.Name, 200), Agency: cl.Agency}
	onlyAdmin := true
	for _, n := range names {
		r, ok := domain.ParseRole(n)
		if !ok {
			continue // roles of other applications
		}
		if !slices.Contains(a.Roles, r) {
			a.Roles = append(a.Roles, r)
		}
		onlyAdmin = onlyAdmin && r == domain.RoleAdmin
	}
	switch {
	case a.Sub == "":
		return domain.Actor{}, errors.New("no sub")
	case len(a.Roles) == 0:
		return domain.Actor{}, errors.New("no motcua role")
	case a.Agency == "" && !onlyAdmin:
		return domain.Actor{}, errors.New("no agency")
	case a.Agency != "" && !domain.ValidAgencyCode(a.Agency):
		return domain.Actor{}, errors.New("bad agency code")
	}
	return a, nil
}

package web

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// signInForm is what the sign-in page shows.
type signInForm struct {
	OIDC bool
	Next string
}

func (p *pages) signInPage(c echo.Context) error {
	d := p.data(c, "Đăng nhập dành cho cán bộ", "signin")
	if c.QueryParam("ly-do") == "het-han" {
		d.Error = "Phiên làm việc đã hết hạn. Vui lòng đăng nhập lại."
	}
	if ss, st, _ := p.sess.current(c); st == sessionOK {
		d.Flash = "Quý vị đang đăng nhập với tài khoản " + ss.Sub + "."
	}
	d.Data = signInForm{OIDC: p.oidc != nil, Next: safeNext(c.QueryParam("next"))}
	return p.render(c, http.StatusOK, "signin", d)
}

// signInToken signs in with a token from `motcua token` (local use; with
// OIDC configured the provider is the only way in). The token is checked
// by the API's verifier, so roles and agency come from the same claims.
func (p *pages) signInToken(c echo.Context) error {
	if !p.sess.anonymousCSRFOK(c) {
		return errCSRF
	}
	next := safeNext(c.FormValue("next"))
	fail := func(status int, msg string) error {
		d := p.data(c, "Đăng nhập dành cho cán bộ", "signin")
		d.Error = msg
		d.Errors["token"] = msg
		d.Data = signInForm{OIDC: p.oidc != nil, Next: next}
		return p.render(c, status, "signin", d)
	}
	if p.oidc != nil {
		return fail(http.StatusBadRequest, "Hệ thống dùng đăng nhập một lần (OpenID Connect); vui lòng đăng nhập qua nhà cung cấp định danh.")
	}
	tok := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(c.FormValue("token")), "Bearer "))
	if tok == "" {
		return fail(http.StatusUnprocessableEntity, "Vui lòng dán mã đăng nhập (token) do quản trị viên cấp.")
	}
	if p.verifier == nil {
		return fail(http.StatusServiceUnavailable, "Chưa cấu hình xác thực.")
	}
	a, err := p.verifier.Verify(c.Request().Context(), tok)
	if err != nil {
		return fail(http.StatusUnauthorized, "Mã đăng nhập không hợp lệ hoặc đã hết hạn.")
	}
	if _, err := p.sess.start(c, a, "token", a.Expires); err != nil {
		return err
	}
	if next == "" {
		next = home(a)
	}
	return c.Redirect(http.StatusSeeOther, next)
}

// signOut ends the session on the server, so a copy of the cookie is
// worthless too, then clears the cookie.
func (p *pages) signOut(c echo.Context) error {
	if err := p.sess.signOut(c); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/dang-nhap")
}

package web_test

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// twoStores opens one database twice, as two instances of the service do:
// SQLite in one folder, or one PostgreSQL database.

func sessionCookieOf(t *testing.T, b *browser) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(b.s.srv.URL)
	for _, c := range b.http.Jar.Cookies(u) {
		if c.Name == "motcua_session" {
			return c
		}
	}
	t.Fatal("no session cookie")
	return nil
}

// withCookie is another browser (another person's machine) holding a copy
// of a session cookie, on site s.
func withCookie(s *site, c *http.Cookie) *browser {
	b := s.browser()
	u, _ := url.Parse(s.srv.URL)
	b.http.Jar.SetCookies(u, []*http.Cookie{{Name: c.Name, Value: c.Value, Path: "/"}})
	return b
}

func signedIn(t *testing.T, b *browser) bool {
	t.Helper()
	res := b.get("/can-bo")
	switch res.Status {
	case http.StatusOK:
		return true
	case http.StatusSeeOther:
		return false
	}
	t.Fatalf("/can-bo: %d %s", res.Status, res.Body)
	return false
}

// TestSessionsEndEverywhere: two instances on one database. Signing out on
// one ends the session on the other, copies of the cookie included; an
// administrator ends all of a person's sessions through either.
func TestSessionsEndEverywhere(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			stA, stB := storetest.Pair(t, dialect)
			a, b := newSite(t, stA, nil), newSite(t, stB, nil)
			a.catalogue()

			// Sign-out on A ends the session on B, for a copied cookie too.
			clerk := a.browser()
			clerk.signIn(domain.RoleClerk, center)
			stolen := withCookie(b, sessionCookieOf(t, clerk))
			if !signedIn(t, clerk) || !signedIn(t, stolen) {
				t.Fatal("the session does not work on both instances")
			}
			list := clerk.get("/can-bo").must(t, 200)
			if r := clerk.post("/dang-xuat", url.Values{"csrf": {clerk.csrf(list)}}); r.Status != http.StatusSeeOther {
				t.Fatalf("sign out: %d", r.Status)
			}
			if signedIn(t, stolen) {
				t.Fatal("a copied cookie still works on the other instance after signing out")
			}
			form := stolen.get("/can-bo/tiep-nhan")
			if form.Status != http.StatusSeeOther {
				t.Fatalf("intake form after sign-out: %d", form.Status)
			}
			before := a.rows()
			stolen.post("/can-bo/tiep-nhan", intakeForm("x", "0123456789abcdef0123456789abcdef")).must(t, 401)
			if !equalRows(before, a.rows()) {
				t.Fatal("an ended session changed something")
			}

			// An administrator ends every session of a person, on A and B.
			one, two, other := a.browser(), b.browser(), b.browser()
			one.signIn(domain.RoleClerk, center)
			two.signIn(domain.RoleClerk, center)
			other.signIn(domain.RoleOfficer, office)
			copied := withCookie(a, sessionCookieOf(t, two))
			admin := b.token(domain.RoleAdmin, root)
			b.must(b.do(http.MethodDelete, "/api/v1/sessions?sub="+url.QueryEscape("clerk@"+center), b.token(domain.RoleClerk, center), nil), 403)
			b.must(b.do(http.MethodDelete, "/api/v1/sessions", admin, nil), 422)
			var ended struct {
				Sub   string `json:"sub"`
				Ended int    `json:"ended"`
			}
			b.must(b.do(http.MethodDelete, "/api/v1/sessions?sub="+url.QueryEscape("clerk@"+center), admin, nil), 200).json(t, &ended)
			if ended.Sub != "clerk@"+center || ended.Ended != 2 {
				t.Errorf("ended %+v, want the clerk's 2 live sessions", ended)
			}
			for name, br := range map[string]*browser{"on A": one, "on B": two, "copied": copied} {
				if signedIn(t, br) {
					t.Errorf("the clerk's session %s still works", name)
				}
			}
			if !signedIn(t, other) {
				t.Error("another person's session was ended")
			}
			// Signing in again works.
			one.signIn(domain.RoleClerk, center)
			if !signedIn(t, one) {
				t.Error("no new session after the old ones were ended")
			}
		})
	}
}

// TestSessionNeverOutlivesItsToken: a session opened with a token that
// expires in 20 minutes ends then, not after the usual 9 hours.
func TestSessionNeverOutlivesItsToken(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSite(t, st, nil)
		now := time.Now().UTC().Truncate(time.Second)
		s.clock.Set(now)
		tok, err := auth.Issue(s.secret, domain.Actor{Sub: "short@" + center, Roles: []domain.Role{domain.RoleClerk}, Agency: center}, 20*time.Minute, now)
		if err != nil {
			t.Fatal(err)
		}
		b := s.browser()
		form := b.get("/dang-nhap")
		res := b.post("/dang-nhap", url.Values{"csrf": {b.csrf(form)}, "token": {tok}})
		if res.Status != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", res.Status)
		}
		var maxAge int
		for _, c := range (&http.Response{Header: res.Header}).Cookies() {
			if c.Name == "motcua_session" {
				maxAge = c.MaxAge
			}
		}
		if maxAge <= 0 || maxAge > 20*60 {
			t.Errorf("cookie Max-Age %d, want at most the token's 1200 s", maxAge)
		}
		cookie := sessionCookieOf(t, b)
		s.clock.Set(now.Add(19 * time.Minute))
		if !signedIn(t, b) {
			t.Fatal("session ended before its token")
		}
		s.clock.Set(now.Add(21 * time.Minute))
		// The browser may keep the cookie past Max-Age (a copy does): the
		// server refuses it.
		if signedIn(t, withCookie(s, cookie)) {
			t.Fatal("the session outlived its token (" + strconv.Itoa(maxAge) + " s)")
		}
	})
}

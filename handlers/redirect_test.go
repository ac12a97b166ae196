package handlers_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store/storetest"
)

// TestSignInNextStaysLocal: after signing in, the browser goes to next only
// when it is a path of this site; anything a browser could turn into
// another host (tabs and newlines it drops, backslashes it reads as
// slashes, "//host") sends it home instead.
func TestSignInNextStaysLocal(t *testing.T) {
	s := newSite(t, storetest.SQLite(t), nil)
	tests := []struct {
		next string
		want string // Location after sign-in
	}{
		{"/can-bo?status=received", "/can-bo?status=received"},
		{"/can-bo/ho-so/000.00.10.H29-260316-0001", "/can-bo/ho-so/000.00.10.H29-260316-0001"},
		{"/giam-sat?period=2026-Q1&x=%2F%2F", "/giam-sat?period=2026-Q1&x=%2F%2F"},
		{"", "/can-bo"},
		{"/\t/evil.example/phish", "/can-bo"}, // next=/%09/evil.example/phish
		{"/\n/evil.example", "/can-bo"},
		{"/\r\n/evil.example", "/can-bo"},
		{"/ /evil.example", "/can-bo"},
		{"\t//evil.example", "/can-bo"},
		{"//evil.example", "/can-bo"},
		{"//evil", "/can-bo"},
		{"///evil.example", "/can-bo"},
		{"/\\evil.example", "/can-bo"},
		{"/\\/evil.example", "/can-bo"},
		{"\\\\evil.example", "/can-bo"},
		{"/%2F%2Fevil.example", "/can-bo"},
		{"/%5Cevil.example", "/can-bo"},
		{"https://evil.example/", "/can-bo"},
		{"javascript:alert(1)", "/can-bo"},
		{"evil.example", "/can-bo"},
		{"/\x00/evil.example", "/can-bo"},
		{"/\u00a0/evil.example", "/can-bo"},
		{"/\u3002evil.example", "/can-bo"},
		{"/\x7f/evil.example", "/can-bo"},
	}
	for _, tt := range tests {
		t.Run(url.QueryEscape(tt.next), func(t *testing.T) {
			b := s.browser()
			// The form's page with next in its query may be refused for a
			// control character (422, before any sign-in); what matters
			// is where the sign-in itself sends the browser.
			form := b.get("/dang-nhap")
			res := b.post("/dang-nhap", url.Values{"csrf": {b.csrf(form)}, "token": {s.token(domain.RoleClerk, center)}, "next": {tt.next}})
			if res.Status != http.StatusSeeOther {
				t.Fatalf("sign-in: %d %s", res.Status, res.Body)
			}
			if got := res.Header.Get("Location"); got != tt.want {
				t.Errorf("next %q: Location %q, want %q", tt.next, got, tt.want)
			}
		})
	}
}

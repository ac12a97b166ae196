package web_test

import (
	"html"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

var lateLinkRe = regexp.MustCompile(`href="(/can-bo\?[^"]*late_unit=[^"]*)">(\d+)</a>`)

// TestDashboardLateLinks: each late count of the dashboard's lateness
// tables links to the console's list of the dossiers behind it, which
// holds that many and says which count it shows.
func TestDashboardLateLinks(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSite(t, st, nil)
		s.catalogue()
		late := s.intake(intakeBody("1.001612", "counter"))
		s.must(s.act(late.Code, s.token(domain.RoleClerk, center), at(2026, 3, 16, 10, 0), map[string]any{"action": "transfer"}), 200)
		// The office's 16 working hours end on the 18th at 10:00.
		s.must(s.act(late.Code, s.token(domain.RoleOfficer, office), at(2026, 3, 20, 10, 0), map[string]any{"action": "complete_step"}), 200)
		s.clock.Set(at(2026, 3, 16, 9, 0))
		other := s.intake(intakeBody("1.001612", "counter"))

		b := s.browser()
		b.signIn(domain.RoleSupervisor, root)
		dash := b.get("/giam-sat?period=2026-03").must(t, 200)
		links := lateLinkRe.FindAllStringSubmatch(dash.Body, -1)
		if len(links) == 0 {
			t.Fatalf("no link from a late count:\n%s", dash.Body)
		}
		for _, m := range links {
			href := html.UnescapeString(m[1])
			if !strings.Contains(href, "from=2026-03-01") || !strings.Contains(href, "to=2026-03-31") {
				t.Errorf("link %s: not the period", href)
			}
			list := b.get(href).must(t, 200, "trễ hạn", late.Code).lacks(t, other.Code)
			if n := strings.Count(list.Body, `href="/can-bo/ho-so/`); strconv.Itoa(n) != m[2] {
				t.Errorf("link %s: count %s, the list has %d", href, m[2], n)
			}
		}
		b.get("/can-bo?late_unit=nope&from=2026-03-01&to=2026-03-31").must(t, http.StatusUnprocessableEntity)
	})
}

package handlers_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// officerToken is an officer of the unit with a sub of its own, so two
// officers of one unit are told apart in the lateness report.
func (e *env) officerToken(sub, unit string) string {
	e.t.Helper()
	tok, err := auth.Issue(e.secret, domain.Actor{Sub: sub, Name: sub, Roles: []domain.Role{domain.RoleOfficer}, Agency: unit}, time.Hour, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

type lateCounts struct {
	Rows []struct {
		UnitCode     string  `json:"unit_code"`
		Sub          *string `json:"sub"`
		Late         int64   `json:"late"`
		DossiersLate int64   `json:"dossiers_late"`
	} `json:"rows"`
}

// countList counts the dossiers of the staff list for a query, page by page.
func (e *env) countList(token string, q url.Values) int64 {
	e.t.Helper()
	var n int64
	q.Set("limit", "2") // more than one page, so the cursor carries the filter
	for {
		var page struct {
			Items      []struct{ Code string } `json:"items"`
			NextCursor *string                 `json:"next_cursor"`
		}
		e.must(e.do(http.MethodGet, "/api/v1/dossiers?"+q.Encode(), token, nil), http.StatusOK).json(e.t, &page)
		n += int64(len(page.Items))
		if page.NextCursor == nil {
			return n
		}
		q.Set("cursor", *page.NextCursor)
	}
}

// TestLateListMatchesLatenessReport: each late and dossiers_late count of
// the lateness report, per unit and per officer, links to a list of exactly
// that many dossiers (docs/reports.md, Lateness; docs/api.md, the dossier
// list's lateness filter).
func TestLateListMatchesLatenessReport(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		clerk := e.token(domain.RoleClerk, center)
		lan, minh := e.officerToken("lan@"+office, office), e.officerToken("minh@"+office, office)
		chi := e.officerToken("chi@"+dept, dept)
		// Each dossier of 1.001612, received on Monday 16 March at 09:00
		// (due three working days later, on the 19th at 09:00): the
		// office's step (16 working hours from the 16th at 10:00, due on the
		// 18th at 10:00) finished at 10:00 of the given day, then the
		// department's (8 working hours) at 09:00 of its day (0 = open).
		walk := []struct {
			officeBy string
			officeOn int
			deptOn   int
		}{
			{lan, 20, 23},  // the office late; the dossier late, first at the office (lan)
			{lan, 17, 27},  // the department late; first late at the department
			{minh, 20, 30}, // both late; first at the office (minh)
			{minh, 23, 0},  // the office late, the dossier still open
			{lan, 17, 18},  // nothing late
			{minh, 18, 19}, // on time
		}
		for _, w := range walk {
			e.clock.Set(at(2026, 3, 16, 9, 0))
			d := e.intake(intakeBody("1.001612", "counter"))
			e.must(e.act(d.Code, clerk, at(2026, 3, 16, 10, 0), map[string]any{"action": "transfer"}), 200)
			e.must(e.act(d.Code, w.officeBy, at(2026, 3, w.officeOn, 10, 0), map[string]any{"action": "complete_step"}), 200)
			if w.deptOn > 0 {
				e.must(e.act(d.Code, chi, at(2026, 3, w.deptOn, 9, 0), map[string]any{"action": "complete_step", "result": "approved"}), 200)
			}
		}
		// A late step in April is outside the period.
		e.clock.Set(at(2026, 3, 31, 9, 0))
		d := e.intake(intakeBody("1.001612", "counter"))
		e.must(e.act(d.Code, clerk, at(2026, 4, 1, 10, 0), map[string]any{"action": "transfer"}), 200)
		e.must(e.act(d.Code, lan, at(2026, 4, 8, 10, 0), map[string]any{"action": "complete_step"}), 200)

		sup := e.token(domain.RoleSupervisor, root)
		var sawLate, sawFirst, sawDiffer bool
		for _, groupBy := range []string{"unit", "officer"} {
			var rep lateCounts
			e.must(e.do(http.MethodGet, "/api/v1/reports/lateness?from=2026-03-01&to=2026-03-31&group_by="+groupBy, sup, nil), 200).json(t, &rep)
			if len(rep.Rows) == 0 {
				t.Fatalf("group_by=%s: no rows", groupBy)
			}
			for _, r := range rep.Rows {
				q := url.Values{"late_unit": {r.UnitCode}, "from": {"2026-03-01"}, "to": {"2026-03-31"}}
				name := r.UnitCode
				if r.Sub != nil {
					q.Set("late_officer", *r.Sub)
					name += " " + *r.Sub
				}
				if got := e.countList(sup, q); got != r.Late {
					t.Errorf("%s: late %d, the list has %d", name, r.Late, got)
				}
				q.Set("late_first", "true")
				q.Del("cursor")
				if got := e.countList(sup, q); got != r.DossiersLate {
					t.Errorf("%s: dossiers_late %d, the list has %d", name, r.DossiersLate, got)
				}
				sawLate = sawLate || r.Late > 0
				sawFirst = sawFirst || r.DossiersLate > 0
				sawDiffer = sawDiffer || r.Late != r.DossiersLate
			}
		}
		if !sawLate || !sawFirst || !sawDiffer {
			t.Errorf("the data set does not test the filter: late %v, dossiers_late %v, differing %v", sawLate, sawFirst, sawDiffer)
		}
		// Whole-table figures as built above (the office: 3 late steps in
		// March, 2 dossiers first late there; the department: 2 and 1).
		want := map[string][2]int64{office: {3, 2}, dept: {2, 1}}
		var rep lateCounts
		e.must(e.do(http.MethodGet, "/api/v1/reports/lateness?from=2026-03-01&to=2026-03-31&group_by=unit", sup, nil), 200).json(t, &rep)
		for _, r := range rep.Rows {
			if w, ok := want[r.UnitCode]; ok && (r.Late != w[0] || r.DossiersLate != w[1]) {
				t.Errorf("%s: late %d, dossiers_late %d; want %v", r.UnitCode, r.Late, r.DossiersLate, w)
			}
		}
	})
}

// TestLateListRefusals: the filter's bad values are 422 problems naming
// the field; a unit outside the supervisor's subtree is 403.
func TestLateListRefusals(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		sup := e.token(domain.RoleSupervisor, dept)
		for _, c := range []struct {
			query, field string
		}{
			{"late_unit=nope&from=2026-03-01&to=2026-03-31", "late_unit"},
			{"late_unit=" + office + "&from=2026-03-01", "to"},
			{"late_unit=" + office + "&to=2026-03-31", "from"},
			{"late_unit=" + office + "&from=2026-3-1&to=2026-03-31", "from"},
			{"late_unit=" + office + "&from=2026-04-01&to=2026-03-31", "from"},
			{"late_unit=" + office + "&from=2026-03-01&to=2026-03-31&late_first=yes", "late_first"},
			{"from=2026-03-01&to=2026-03-31", "late_unit"},
			{"late_first=true", "late_unit"},
		} {
			p := e.must(e.do(http.MethodGet, "/api/v1/dossiers?"+c.query, sup, nil), http.StatusUnprocessableEntity).problem(t)
			found := false
			for _, f := range p.Errors {
				found = found || f.Field == c.field
			}
			if !found {
				t.Errorf("%s: errors %+v, want one for %s", c.query, p.Errors, c.field)
			}
		}
		e.must(e.do(http.MethodGet, "/api/v1/dossiers?late_unit="+center+"&from=2026-03-01&to=2026-03-31", sup, nil), http.StatusForbidden)
		e.must(e.do(http.MethodGet, "/api/v1/dossiers?late_unit="+office+"&from=2026-03-01&to=2026-03-31", sup, nil), http.StatusOK)
		e.must(e.do(http.MethodGet, "/api/v1/dossiers?late_unit="+office+"&from=2026-03-01&to=2026-03-31", "", nil), http.StatusUnauthorized)
	})
}

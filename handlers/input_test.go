package handlers_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// wantField checks a 422 that names the field.
func wantField(t *testing.T, res response, field string) {
	t.Helper()
	if res.Status != http.StatusUnprocessableEntity {
		t.Fatalf("status %d, want 422 naming %s: %s", res.Status, field, res.Body)
	}
	p := res.problem(t)
	for _, f := range p.Errors {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("422 without field %s: %+v", field, p.Errors)
}

// TestControlCharacters: NUL, other control characters and bidirectional
// overrides in any text are a 422 naming the field, on both databases,
// before anything is written or a dossier number taken.
func TestControlCharacters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		admin := e.token(domain.RoleAdmin, root)
		clerk := e.token(domain.RoleClerk, center)
		d := e.intake(intakeBody("2.000635", "counter"))
		before := e.rows()
		for _, bad := range []string{"An\u0000", "An\x1b[2J", "An\r", "\u202eAn", "An\u2066x\u2069", "An\u0085"} {
			b := intakeBody("2.000635", "counter")
			b["applicant"].(map[string]any)["name"] = bad
			wantField(t, e.do(http.MethodPost, "/api/v1/dossiers", clerk, b), "applicant.name")
			b = intakeBody("2.000635", "counter")
			b["documents"] = []string{"Tờ khai", bad}
			wantField(t, e.do(http.MethodPost, "/api/v1/dossiers", clerk, b), "documents[1]")
			wantField(t, e.do(http.MethodPut, "/api/v1/agencies/"+center, admin, map[string]any{"name": bad, "parent_code": root}), "name")
			wantField(t, e.act(d.Code, clerk, e.clock.Now(), map[string]any{"action": "withdraw", "reason": bad}), "reason")
			wantField(t, e.do(http.MethodPost, "/api/v1/public/dossiers/"+d.Code+"/feedback", "", map[string]any{"pin": d.LookupPIN, "rating": 5, "comment": bad}), "comment")
		}
		after := e.rows()
		for k, v := range before {
			if after[k] != v {
				t.Errorf("%s: %d rows before, %d after refused input", k, v, after[k])
			}
		}
		// No number was used up: the next dossier is 0002.
		if next := e.intake(intakeBody("2.000635", "counter")); !strings.HasSuffix(next.Code, "-0002") {
			t.Fatalf("next code %s, want ...-0002", next.Code)
		}
		// Tab and newline stay allowed.
		b := intakeBody("2.000635", "counter")
		b["applicant"].(map[string]any)["address"] = "Số 1\nphố Huế\tHà Nội"
		e.must(e.do(http.MethodPost, "/api/v1/dossiers", clerk, b), http.StatusCreated)
	})
}

// TestTimeBounds: times and dates out of 1900..2199 are a 422, not a 500.
func TestTimeBounds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		admin := e.token(domain.RoleAdmin, root)
		sup := e.token(domain.RoleSupervisor, root)
		d := e.intake(intakeBody("2.000635", "counter"))
		for _, tc := range []struct {
			path, token, field string
		}{
			{"/api/v1/calendar/deadline?from=9999-06-01T08:00:00Z&working_days=1", "", "from"},
			{"/api/v1/calendar/deadline?from=0001-01-01T08:00:00Z&working_days=1", "", "from"},
			{"/api/v1/calendar/days?year=99999", "", "year"},
			{"/api/v1/reports/overdue?as_of=9999-12-31T23:59:59Z", sup, "as_of"},
			{"/api/v1/reports/overdue?as_of=1000-12-31T23:59:59Z&format=csv", sup, "as_of"},
			{"/api/v1/dossiers?received_from=9999-01-01", admin, "received_from"},
		} {
			wantField(t, e.do(http.MethodGet, tc.path, tc.token, nil), tc.field)
		}
		for _, path := range []string{
			"/api/v1/reports/compliance?from=9999-01-01&to=9999-02-01",
			"/api/v1/reports/compliance?period=9999-03",
			"/api/v1/reports/compliance?period=stat:9999",
		} {
			if res := e.do(http.MethodGet, path, sup, nil); res.Status != http.StatusUnprocessableEntity {
				t.Errorf("%s: %d %s", path, res.Status, res.Body)
			}
		}
		b := intakeBody("2.000635", "counter")
		b["received_at"] = "0001-01-01T00:00:00Z"
		wantField(t, e.do(http.MethodPost, "/api/v1/dossiers", e.token(domain.RoleAdmin, center), b), "received_at")
		e.must(e.act(d.Code, e.token(domain.RoleClerk, center), e.clock.Now(), map[string]any{"action": "transfer"}), http.StatusOK)
		wantField(t, e.act(d.Code, e.token(domain.RoleOfficer, dept), e.clock.Now(),
			map[string]any{"action": "extend", "reason": "Chậm", "new_due_at": "9999-04-01T17:00:00+07:00"}), "new_due_at")
		e.must(e.do(http.MethodPut, "/api/v1/calendar/days/9999-01-01", admin, map[string]any{"kind": "day_off", "name": "X"}), http.StatusUnprocessableEntity)
	})
}

// TestAmountBounds: a payment amount is within 1..2^53-1.
func TestAmountBounds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		d := e.intake(intakeBody("2.000635", "counter"))
		e.must(e.act(d.Code, e.token(domain.RoleClerk, center), e.clock.Now(), map[string]any{"action": "transfer"}), http.StatusOK)
		officer := e.token(domain.RoleOfficer, dept)
		for _, amount := range []int64{9223372036854775807, 1 << 53, 0, -5} {
			wantField(t, e.act(d.Code, officer, e.clock.Now(), map[string]any{"action": "request_payment", "reason": "Phí", "amount": amount}), "amount")
		}
		e.must(e.act(d.Code, officer, e.clock.Now(), map[string]any{"action": "request_payment", "reason": "Phí", "amount": int64(1<<53 - 1)}), http.StatusOK)
	})
}

// TestCSVFormulaCells: cells a spreadsheet would run as formulas are
// written as text.
func TestCSVFormulaCells(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	e.catalogue()
	admin := e.token(domain.RoleAdmin, root)
	for code, name := range map[string]string{dept: "=HYPERLINK(\"http://evil.example\",\"x\")", office: "+1+1", root: "@SUM(A1)", center: "-2+3"} {
		body := map[string]any{"name": name}
		if code != root {
			body["parent_code"] = root
		}
		if code == office {
			body["parent_code"] = dept
		}
		if res := e.do(http.MethodPut, "/api/v1/agencies/"+code, admin, body); res.Status >= 300 {
			t.Fatalf("rename %s: %d %s", code, res.Status, res.Body)
		}
	}
	e.intake(intakeBody("2.000635", "counter"))
	e.clock.Set(e.clock.Now().Add(30 * 24 * time.Hour))
	for _, path := range []string{"/api/v1/reports/overdue?format=csv", "/api/v1/reports/compliance?format=csv&period=2026-03"} {
		res := e.must(e.do(http.MethodGet, path, admin, nil), http.StatusOK)
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.Body, []byte("\ufeff")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		names := 0
		for _, rec := range recs {
			for _, cell := range rec {
				if cell == "" {
					continue
				}
				if strings.ContainsAny(cell[:1], "=+@\t\r") || (cell[0] == '-' && !isNumber(cell)) {
					t.Errorf("%s: cell %q starts a formula", path, cell)
				}
				if strings.HasPrefix(cell, "'=") || strings.HasPrefix(cell, "'@") || strings.HasPrefix(cell, "'+") {
					names++
				}
			}
		}
		if names == 0 && strings.Contains(path, "compliance") {
			t.Errorf("%s: the agencies' names are not in the export: %s", path, res.Body)
		}
	}
}

func isNumber(s string) bool {
	for i, r := range s {
		if !(r >= '0' && r <= '9') && r != '.' && !(i == 0 && r == '-') {
			return false
		}
	}
	return true
}

// TestControlCharactersInParameters: path and query parameters are checked
// like bodies (PostgreSQL refuses NUL in any text it is sent).
func TestControlCharactersInParameters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		admin := e.token(domain.RoleAdmin, root)
		for _, tc := range []struct{ path, token, field string }{
			{"/api/v1/calendar/days?year=2026&agency=%00", "", "agency"},
			{"/api/v1/calendar/deadline?from=2026-03-16T08:00:00Z&working_days=1&agency=a%00", "", "agency"},
			{"/api/v1/dossiers?procedure_code=%E2%80%AE1", admin, "procedure_code"},
			{"/api/v1/reports/overdue?holder_code=%00", admin, "holder_code"},
			{"/api/v1/reports/compliance?period=2026&agency_code=%1b", admin, "agency_code"},
		} {
			wantField(t, e.do(http.MethodGet, tc.path, tc.token, nil), tc.field)
		}
	})
}

// TestControlCharactersInPageParameters: the pages refuse such parameters
// with an error page, not a 500 (PostgreSQL refuses NUL in text).
func TestControlCharactersInPageParameters(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newSite(t, st, nil)
		s.catalogue()
		b := s.browser()
		b.signIn(domain.RoleAdmin, root)
		for _, path := range []string{"/giam-sat?agency_code=%00", "/can-bo?procedure=%00", "/tra-cuu?ma=%00&pin=1"} {
			p := b.get(path)
			if p.Status != http.StatusUnprocessableEntity || !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
				t.Errorf("%s: %d %s", path, p.Status, p.Header.Get("Content-Type"))
			}
		}
	})
}

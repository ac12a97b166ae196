package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

func TestCatalogueVersionsProcedures(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		admin := e.token(domain.RoleAdmin, root)
		before := e.intake(intakeBody("1.001612", "counter"))
		if before.ProcedureVersion != 1 {
			t.Fatalf("version %d, want 1", before.ProcedureVersion)
		}
		change := map[string]any{"name": "Đăng ký thành lập hộ kinh doanh", "agency_code": dept, "duration": map[string]any{"working_days": 5},
			"supplement_clock": "restart", "online": "full"}
		var p struct {
			Version int `json:"version"`
			Steps   []struct {
				WorkingHours float64 `json:"working_hours"`
			} `json:"steps"`
		}
		e.must(e.do(http.MethodPut, "/api/v1/procedures/1.001612", admin, change), http.StatusCreated).json(t, &p)
		if p.Version != 2 || len(p.Steps) != 1 || p.Steps[0].WorkingHours != 40 {
			t.Fatalf("new version %+v", p)
		}
		// The same terms again make no new version.
		e.must(e.do(http.MethodPut, "/api/v1/procedures/1.001612", admin, change), http.StatusOK).json(t, &p)
		if p.Version != 2 {
			t.Fatalf("same terms made version %d", p.Version)
		}
		// The old dossier keeps its version; a new one gets the new one.
		var old dossierDoc
		e.must(e.do(http.MethodGet, "/api/v1/dossiers/"+before.Code, e.token(domain.RoleClerk, center), nil), http.StatusOK).json(t, &old)
		if old.ProcedureVersion != 1 || len(old.Steps) != 2 || !old.DueAt.Equal(*before.DueAt) {
			t.Fatalf("old dossier changed: %+v", old)
		}
		if d := e.intake(intakeBody("1.001612", "counter")); d.ProcedureVersion != 2 {
			t.Fatalf("new dossier version %d", d.ProcedureVersion)
		}
		var v1 struct {
			Version int `json:"version"`
		}
		e.must(e.do(http.MethodGet, "/api/v1/procedures/1.001612?version=1", admin, nil), http.StatusOK).json(t, &v1)
		if v1.Version != 1 {
			t.Fatalf("asked version 1, got %d", v1.Version)
		}
		var list struct {
			Items []struct {
				Code string `json:"code"`
			} `json:"items"`
		}
		e.must(e.do(http.MethodGet, "/api/v1/agencies", e.token(domain.RoleOfficer, dept), nil), http.StatusOK).json(t, &list)
		if len(list.Items) != 5 {
			t.Fatalf("%d agencies", len(list.Items))
		}
	})
}

var codeRe = regexp.MustCompile(`^000\.00\.10\.H29-260316-\d{4}$`)

func TestIntakeAndLookup(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		e.clock.Set(at(2026, 3, 16, 16, 30)) // Monday 16:30
		d := e.intake(intakeBody("1.001612", "counter"))
		if !codeRe.MatchString(d.Code) || d.Status != "received" || d.StatusCode != 2 || len(d.LookupPIN) != 8 {
			t.Fatalf("intake answer %+v", d)
		}
		// 3 working days from Monday 16:30: 30 min Monday, Tue, Wed, Thu until 16:30.
		if want := at(2026, 3, 19, 16, 30); d.DueAt == nil || !d.DueAt.Equal(want) {
			t.Fatalf("due %v, want %v", d.DueAt, want)
		}
		if e.count("outbox") != 1 || e.count("dossier_history") != 1 {
			t.Fatalf("outbox %d history %d, want 1 and 1", e.count("outbox"), e.count("dossier_history"))
		}
		online := e.intake(intakeBody("1.001612", "online"))
		if online.Status != "new" || online.DueAt != nil {
			t.Fatalf("online dossier %+v", online)
		}
		// Staff view has the applicant; the public view does not.
		res := e.must(e.do(http.MethodGet, "/api/v1/public/dossiers/"+d.Code+"?pin="+d.LookupPIN, "", nil), http.StatusOK)
		if bytes.Contains(res.Body, []byte("Nguyễn")) || bytes.Contains(res.Body, []byte("001090001234")) || bytes.Contains(res.Body, []byte("clerk@")) {
			t.Fatalf("public view leaks personal data: %s", res.Body)
		}
		var pub struct {
			Status string `json:"status"`
			Steps  []struct {
				AgencyName string `json:"agency_name"`
			} `json:"steps"`
		}
		res.json(t, &pub)
		if pub.Status != "received" || len(pub.Steps) != 2 || pub.Steps[0].AgencyName != "Phòng Đăng ký kinh doanh" {
			t.Fatalf("public view %s", res.Body)
		}
		// An unknown code and a wrong PIN answer exactly alike.
		wrongPIN := e.do(http.MethodGet, "/api/v1/public/dossiers/"+d.Code+"?pin=00000000", "", nil)
		unknown := e.do(http.MethodGet, "/api/v1/public/dossiers/000.00.10.H29-260316-9999?pin=00000000", "", nil)
		garbage := e.do(http.MethodGet, "/api/v1/public/dossiers/%3Cscript%3E?pin=1", "", nil)
		for _, r := range []response{wrongPIN, unknown, garbage} {
			p := r.problem(t)
			if r.Status != http.StatusNotFound || p.Detail != wrongPIN.problem(t).Detail || p.Code != "not_found" {
				t.Fatalf("look-up failure answers differ: %d %s", r.Status, r.Body)
			}
		}
	})
}

func TestPINLockOut(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		d := e.intake(intakeBody("2.000635", "counter"))
		path := "/api/v1/public/dossiers/" + d.Code + "?pin="
		for i := 0; i < 5; i++ {
			e.must(e.do(http.MethodGet, path+"99999999", "", nil), http.StatusNotFound)
		}
		// Locked: even the right PIN answers as for an unknown code.
		locked := e.must(e.do(http.MethodGet, path+d.LookupPIN, "", nil), http.StatusNotFound)
		if locked.problem(t).Code != "not_found" {
			t.Fatal("locked look-up must look like an unknown code")
		}
		e.clock.Set(e.clock.Now().Add(61 * time.Minute))
		e.must(e.do(http.MethodGet, path+d.LookupPIN, "", nil), http.StatusOK)

		// Locked again, the citizen who lost the receipt gets a new PIN: it works at once.
		for i := 0; i < 5; i++ {
			e.must(e.do(http.MethodGet, path+"99999999", "", nil), http.StatusNotFound)
		}
		clerk := domain.Actor{Sub: "clerk", Roles: []domain.Role{domain.RoleClerk}, Agency: center}
		re, err := e.svc.ReissuePIN(context.Background(), clerk, d.Code, 1)
		if err != nil {
			t.Fatal(err)
		}
		e.must(e.do(http.MethodGet, path+re.PIN, "", nil), http.StatusOK)
		e.must(e.do(http.MethodGet, path+d.LookupPIN, "", nil), http.StatusNotFound)
	})
}

func TestIdempotentIntake(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		clerk := e.token(domain.RoleClerk, center)
		body := intakeBody("1.001612", "counter")
		var first, again dossierDoc
		e.must(e.do(http.MethodPost, "/api/v1/dossiers", clerk, body, "Idempotency-Key", "k-1"), http.StatusCreated).json(t, &first)
		e.must(e.do(http.MethodPost, "/api/v1/dossiers", clerk, body, "Idempotency-Key", "k-1"), http.StatusOK).json(t, &again)
		if first.Code != again.Code || first.LookupPIN != again.LookupPIN {
			t.Fatalf("replay gave %s/%s, first %s/%s", again.Code, again.LookupPIN, first.Code, first.LookupPIN)
		}
		if n := e.count("dossiers"); n != 1 {
			t.Fatalf("%d dossiers after a replay", n)
		}
		other := intakeBody("2.000635", "counter")
		p := e.must(e.do(http.MethodPost, "/api/v1/dossiers", clerk, other, "Idempotency-Key", "k-1"), http.StatusConflict).problem(t)
		if p.Code != "idempotency_key_reused" {
			t.Fatalf("code %q", p.Code)
		}
	})
}

// TestConcurrentIntakeNeverDuplicatesCodes races clerks of one unit.
func TestConcurrentIntakeNeverDuplicatesCodes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		const n = 40
		clerk := e.token(domain.RoleClerk, center)
		codes := make(chan string, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := intakeBody("2.000635", "counter")
				res := e.do(http.MethodPost, "/api/v1/dossiers", clerk, req)
				if res.Status != http.StatusCreated {
					t.Errorf("status %d: %s", res.Status, res.Body)
					return
				}
				var d dossierDoc
				res.json(t, &d)
				codes <- d.Code
			}()
		}
		wg.Wait()
		close(codes)
		seen := map[string]bool{}
		for c := range codes {
			if seen[c] {
				t.Fatalf("duplicate code %s", c)
			}
			seen[c] = true
		}
		if len(seen) != n || !seen[fmt.Sprintf("%s-260316-%04d", center, n)] {
			t.Fatalf("%d codes; want %d ending at %04d", len(seen), n, n)
		}
	})
}

func TestStaffAccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		d := e.intake(intakeBody("1.001612", "counter"))
		path := "/api/v1/dossiers/" + d.Code
		expired, _ := auth.Issue([]byte(testSecret), domain.Actor{Sub: "x", Roles: []domain.Role{domain.RoleClerk}, Agency: center}, time.Second, time.Now().Add(-time.Hour))
		forged, _ := auth.Issue([]byte("another-secret-another-secret-0123456789"), domain.Actor{Sub: "x", Roles: []domain.Role{domain.RoleAdmin}}, time.Hour, time.Now())
		cases := []struct {
			name  string
			token string
			want  int
		}{
			{"no token", "", 401},
			{"expired", expired, 401},
			{"badly signed", forged, 401},
			{"garbage", "abc.def.ghi", 401},
			{"receiving clerk", e.token(domain.RoleClerk, center), 200},
			{"officer of a step unit", e.token(domain.RoleOfficer, office), 200},
			{"supervisor above", e.token(domain.RoleSupervisor, root), 200},
			{"admin", e.token(domain.RoleAdmin, foreign), 200},
			{"clerk elsewhere", e.token(domain.RoleClerk, foreign), 403},
			{"supervisor elsewhere", e.token(domain.RoleSupervisor, foreign), 403},
		}
		for _, c := range cases {
			res := e.do(http.MethodGet, path, c.token, nil)
			if res.Status != c.want {
				t.Errorf("%s: status %d, want %d (%s)", c.name, res.Status, c.want, res.Body)
			}
			if c.want != 200 {
				res.problem(t)
			}
		}
		// Only clerks and admins take dossiers in; only admins change the catalogue.
		e.must(e.do(http.MethodPost, "/api/v1/dossiers", e.token(domain.RoleOfficer, center), intakeBody("1.001612", "counter")), 403)
		e.must(e.do(http.MethodPut, "/api/v1/agencies/000.00.99.H29", e.token(domain.RoleSupervisor, root), map[string]any{"name": "x"}), 403)
	})
}

func TestBadInputWritesNothing(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		clerk, admin := e.token(domain.RoleClerk, center), e.token(domain.RoleAdmin, root)
		withApplicant := func(m map[string]any) map[string]any {
			b := intakeBody("1.001612", "counter")
			b["applicant"] = m
			return b
		}
		with := func(k string, v any) map[string]any {
			b := intakeBody("1.001612", "counter")
			b[k] = v
			return b
		}
		proc := func(k string, v any) map[string]any {
			b := map[string]any{"name": "Thủ tục", "agency_code": dept, "duration": map[string]any{"working_days": 2},
				"supplement_clock": "pause", "online": "none"}
			b[k] = v
			return b
		}
		big := bytes.Repeat([]byte("a"), 1<<20+10)
		cases := []struct {
			name        string
			method      string
			path, token string
			ct          string
			body        []byte
			want        int
			code        string
			field       string
		}{
			{"malformed JSON", "POST", "/api/v1/dossiers", clerk, "application/json", []byte(`{"procedure_code":`), 400, "bad_request", ""},
			{"wrong content type", "POST", "/api/v1/dossiers", clerk, "text/plain", mustJSON(intakeBody("1.001612", "counter")), 415, "unsupported_media_type", ""},
			{"body over 1 MiB", "POST", "/api/v1/dossiers", clerk, "application/json", append(append([]byte(`{"documents":["`), big...), []byte(`"]}`)...), 413, "payload_too_large", ""},
			{"unknown field", "POST", "/api/v1/dossiers", clerk, "application/json", mustJSON(with("colour", "red")), 400, "bad_request", ""},
			{"unknown procedure", "POST", "/api/v1/dossiers", clerk, "application/json", mustJSON(with("procedure_code", "1.999999")), 422, "validation_failed", "procedure_code"},
			{"invalid procedure code", "POST", "/api/v1/dossiers", clerk, "application/json", mustJSON(with("procedure_code", "DROP TABLE")), 422, "validation_failed", "procedure_code"},
			{"missing applicant name", "POST", "/api/v1/dossiers", clerk, "application/json", mustJSON(withApplicant(map[string]any{"id_number": "1"})), 422, "validation_failed", "applicant.name"},
			{"missing id number", "POST", "/api/v1/dossiers", clerk, "application/json", mustJSON(withApplicant(map[string]any{"name": "A"})), 422, "validation_failed", "applicant.id_number"},
			{"unknown channel", "POST", "/api/v1/dossiers", clerk, "application/json", mustJSON(with("channel", "fax")), 422, "validation_failed", "channel"},
			{"online for an offline procedure", "POST", "/api/v1/dossiers", clerk, "application/json", mustJSON(map[string]any{"procedure_code": "2.000635", "channel": "online",
				"applicant": map[string]any{"name": "A", "id_number": "1"}}), 422, "validation_failed", "channel"},
			{"clerk gives received_at", "POST", "/api/v1/dossiers", clerk, "application/json", mustJSON(with("received_at", "2026-01-01T08:00:00+07:00")), 403, "forbidden", ""},
			{"invalid agency code", "PUT", "/api/v1/agencies/not-a-code", admin, "application/json", mustJSON(map[string]any{"name": "X"}), 422, "validation_failed", "code"},
			{"unknown parent", "PUT", "/api/v1/agencies/000.00.98.H29", admin, "application/json", mustJSON(map[string]any{"name": "X", "parent_code": "000.00.97.H29"}), 422, "validation_failed", "parent_code"},
			{"bad office hours", "PUT", "/api/v1/agencies/000.00.98.H29", admin, "application/json", mustJSON(map[string]any{"name": "X", "office_hours": map[string]any{"mon": []string{"17:00-08:00"}}}), 422, "validation_failed", "office_hours"},
			{"zero duration", "PUT", "/api/v1/procedures/1.000001", admin, "application/json", mustJSON(proc("duration", map[string]any{"working_days": 0})), 422, "validation_failed", "duration"},
			{"negative duration", "PUT", "/api/v1/procedures/1.000001", admin, "application/json", mustJSON(proc("duration", map[string]any{"working_hours": -4})), 422, "validation_failed", "duration"},
			{"absurd duration", "PUT", "/api/v1/procedures/1.000001", admin, "application/json", mustJSON(proc("duration", map[string]any{"working_days": 5000})), 422, "validation_failed", "duration"},
			{"allotments do not add up", "PUT", "/api/v1/procedures/1.000001", admin, "application/json", mustJSON(proc("steps", []map[string]any{{"name": "A", "agency_code": dept, "working_hours": 4}})), 422, "validation_failed", "steps"},
			{"zero allotment", "PUT", "/api/v1/procedures/1.000001", admin, "application/json", mustJSON(proc("steps", []map[string]any{{"name": "A", "agency_code": dept, "working_hours": 16}, {"name": "B", "agency_code": dept, "working_hours": 0}})), 422, "validation_failed", "steps[1].working_hours"},
			{"unknown procedure agency", "PUT", "/api/v1/procedures/1.000001", admin, "application/json", mustJSON(proc("agency_code", "000.00.96.H29")), 422, "validation_failed", "agency_code"},
			{"invalid procedure code", "PUT", "/api/v1/procedures/abc", admin, "application/json", mustJSON(proc("name", "X")), 422, "validation_failed", "code"},
			{"unknown supplement clock", "PUT", "/api/v1/procedures/1.000001", admin, "application/json", mustJSON(proc("supplement_clock", "sometimes")), 422, "validation_failed", "supplement_clock"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				before := e.rows()
				res := e.raw(c.method, c.path, c.token, c.ct, c.body)
				if res.Status != c.want {
					t.Fatalf("status %d, want %d: %s", res.Status, c.want, res.Body)
				}
				p := res.problem(t)
				if p.Code != c.code || p.Status != c.want || !strings.HasPrefix(p.Type, "https://") || p.Title == "" {
					t.Fatalf("problem %+v", p)
				}
				if c.field != "" {
					found := false
					for _, f := range p.Errors {
						found = found || f.Field == c.field
					}
					if !found {
						t.Fatalf("no error for field %s: %+v", c.field, p.Errors)
					}
				}
				if after := e.rows(); fmt.Sprint(after) != fmt.Sprint(before) {
					t.Fatalf("rows changed: %v -> %v", before, after)
				}
			})
		}
	})
}

func TestDeadlineEndpoint(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	cases := []struct {
		query string
		want  int
		due   string
	}{
		{"from=2026-03-16T16:59:00%2B07:00&working_hours=1", 200, "2026-03-17T08:59:00+07:00"},
		{"from=2026-03-16T17:00:00%2B07:00&working_days=1", 200, "2026-03-17T17:00:00+07:00"},
		{"from=2026-03-16T12:30:00%2B07:00&working_hours=4", 200, "2026-03-16T17:00:00+07:00"},
		{"from=2026-03-16T12:30:00%2B07:00&working_days=0.5", 200, "2026-03-16T17:00:00+07:00"},
		{"from=yesterday&working_days=1", 422, ""},
		{"from=2026-03-16T08:00:00%2B07:00&working_days=-1", 422, ""},
		{"from=2026-03-16T08:00:00%2B07:00&working_days=1001", 422, ""},
		{"from=2026-03-16T08:00:00%2B07:00&working_days=abc", 422, ""},
		{"from=2026-03-16T08:00:00%2B07:00", 422, ""},
		{"from=2026-03-16T08:00:00%2B07:00&working_days=1&agency=000.00.55.H29", 404, ""},
	}
	for _, c := range cases {
		res := e.do(http.MethodGet, "/api/v1/calendar/deadline?"+c.query, "", nil)
		if res.Status != c.want {
			t.Errorf("%s: status %d, want %d: %s", c.query, res.Status, c.want, res.Body)
			continue
		}
		if c.want != 200 {
			res.problem(t)
			continue
		}
		var out struct {
			DueAt string `json:"due_at"`
		}
		res.json(t, &out)
		if out.DueAt != c.due {
			t.Errorf("%s: due %s, want %s", c.query, out.DueAt, c.due)
		}
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestFeedbackBeforeTheResult(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		d := e.intake(intakeBody("2.000635", "counter"))
		path := "/api/v1/public/dossiers/" + d.Code + "/feedback"
		before := e.rows()
		cases := []struct {
			body any
			want int
			code string
		}{
			{map[string]any{"pin": d.LookupPIN, "rating": 5}, 409, "not_returned"},
			{map[string]any{"pin": "12345678", "rating": 5}, 404, "not_found"},
			{map[string]any{"pin": d.LookupPIN, "rating": 0}, 422, "validation_failed"},
			{map[string]any{"pin": d.LookupPIN, "rating": 6}, 422, "validation_failed"},
			{map[string]any{"pin": d.LookupPIN, "rating": "five"}, 400, "bad_request"},
		}
		for _, c := range cases {
			res := e.do(http.MethodPost, path, "", c.body)
			if res.Status != c.want || res.problem(t).Code != c.code {
				t.Errorf("%v: %d %s", c.body, res.Status, res.Body)
			}
		}
		if after := e.rows(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("rows changed: %v -> %v", before, after)
		}
	})
}

func TestPublicRateLimit(t *testing.T) {
	st := storetest.SQLite(t)
	e := newEnv(t, st)
	e.e = handlers.New(handlers.Config{Service: e.svc, Logger: storetest.Quiet(), Registry: prometheus.NewRegistry(), PublicRateLimit: 1})
	path := "/api/v1/public/dossiers/000.00.10.H29-260316-0001?pin=12345678"
	got := map[int]int{}
	for i := 0; i < 5; i++ {
		got[e.do(http.MethodGet, path, "", nil).Status]++
	}
	if got[http.StatusNotFound] != 2 || got[http.StatusTooManyRequests] != 3 {
		t.Fatalf("statuses %v: want a burst of 2, then 429", got)
	}
}

// TestLookupNeverStaleAcrossInstances: an instance that cached a citizen's
// view shows the new status as soon as another instance's transition is
// acknowledged.
func TestLookupNeverStaleAcrossInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		a, b := newEnv(t, st), newEnv(t, st)
		a.catalogue()
		d := a.intake(intakeBody("1.001612", "counter"))
		path := "/api/v1/public/dossiers/" + d.Code + "?pin=" + d.LookupPIN
		status := func(e *env) string {
			var v struct {
				Status string `json:"status"`
			}
			e.must(e.do(http.MethodGet, path, "", nil), http.StatusOK).json(t, &v)
			return v.Status
		}
		if status(a) != "received" || status(a) != "received" {
			t.Fatal("first look-ups")
		}
		b.must(b.do(http.MethodPost, "/api/v1/dossiers/"+d.Code+"/transitions", b.token(domain.RoleClerk, center),
			map[string]any{"action": "transfer", "version": 1}), http.StatusOK)
		if got := status(a); got != "processing" {
			t.Fatalf("instance a still shows %s after b's transfer", got)
		}
	})
}

package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store/storetest"
)

// fuzzRouter is the real router on a fresh SQLite database with the test
// catalogue, for one fuzzing process.
type fuzzRouter struct {
	e      *echo.Echo
	tokens map[domain.Role]string
	admin  string
}

func newFuzzRouter(f *testing.F) *fuzzRouter {
	st := storetest.SQLite(f)
	clock := &testClock{}
	clock.Set(at(2026, 3, 16, 9, 0))
	svc := service.New(st, clock, nil, service.Options{Logger: storetest.Quiet()})
	// Right PINs' give-backs still being applied finish before the store closes.
	f.Cleanup(func() { _ = svc.Close(context.Background()) })
	v, err := auth.NewHS256([]byte(testSecret), auth.Options{})
	if err != nil {
		f.Fatal(err)
	}
	r := &fuzzRouter{e: handlers.New(handlers.Config{Service: svc, Verifier: v, Logger: storetest.Quiet(), Registry: prometheus.NewRegistry()}),
		tokens: map[domain.Role]string{}}
	tok := func(role domain.Role, agency string) string {
		s, err := auth.Issue([]byte(testSecret), domain.Actor{Sub: string(role) + "@" + agency, Roles: []domain.Role{role}, Agency: agency}, 24*time.Hour, time.Now())
		if err != nil {
			f.Fatal(err)
		}
		return s
	}
	r.admin = tok(domain.RoleAdmin, root)
	r.tokens[domain.RoleClerk] = tok(domain.RoleClerk, center)
	r.tokens[domain.RoleOfficer] = tok(domain.RoleOfficer, dept)
	r.tokens[domain.RoleAdmin] = r.admin
	for _, a := range []struct{ code, body string }{
		{root, `{"name":"UBND Thành phố"}`},
		{dept, `{"name":"Sở Kế hoạch và Đầu tư","parent_code":"` + root + `"}`},
		{office, `{"name":"Phòng Đăng ký kinh doanh","parent_code":"` + dept + `"}`},
		{center, `{"name":"Trung tâm Phục vụ hành chính công","parent_code":"` + root + `"}`},
	} {
		if s, b := r.send(http.MethodPut, "/api/v1/agencies/"+a.code, r.admin, []byte(a.body), ""); s >= 300 {
			f.Fatalf("agency %s: %d %s", a.code, s, b)
		}
	}
	for code, body := range map[string]string{
		"1.001612": `{"name":"Đăng ký hộ kinh doanh","agency_code":"` + dept + `","duration":{"working_days":3},"supplement_clock":"restart","online":"full",
			"steps":[{"name":"Thẩm định","agency_code":"` + office + `","working_hours":16},{"name":"Phê duyệt","agency_code":"` + dept + `","working_hours":8}]}`,
		"2.000635": `{"name":"Cấp bản sao","agency_code":"` + dept + `","duration":{"working_hours":4},"supplement_clock":"pause","online":"none"}`,
	} {
		if s, b := r.send(http.MethodPut, "/api/v1/procedures/"+code, r.admin, []byte(body), ""); s >= 300 {
			f.Fatalf("procedure %s: %d %s", code, s, b)
		}
	}
	return r
}

func (r *fuzzRouter) send(method, path, token string, body []byte, key string) (int, []byte) {
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	rec := httptest.NewRecorder()
	r.e.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// printable keeps a header value a real client could send.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

var intakeSeeds = []string{
	`{"procedure_code":"2.000635","channel":"counter","delivery":"counter","applicant":{"name":"Nguyễn Văn An","id_number":"001090001234"},"documents":["Tờ khai"]}`,
	`{"procedure_code":"1.001612","channel":"online","applicant":{"name":"A","id_number":"1","email":"a@b"},"documents":["x"],"delivery":"postal"}`,
	`{"procedure_code":"2.000635","channel":"counter","applicant":{"name":"An\u0000","id_number":"1"},"documents":["\u202e"]}`,
	`{"procedure_code":"2.000635","channel":"counter","applicant":{"name":"An","id_number":"1"},"documents":[],"received_at":"9999-12-31T23:59:59Z"}`,
	`{"procedure_code":"2.000635","channel":"counter","applicant":{"name":"An","id_number":"1"},"documents":["a"],"agency_code":"000.00.00.H38"}`,
	`{"procedure_code":1e400,"applicant":null,"documents":null}`,
	`{"procedure_code":"2.000635","channel":"counter","applicant":{"name":"` + string(bytes.Repeat([]byte("a"), 400)) + `","id_number":"1"},"documents":["a"]}`,
	`[]`, `null`, `{"documents":[[]]}`, `{"applicant":{"name":{}}}`,
}

// FuzzIntake sends arbitrary JSON to POST /api/v1/dossiers through the real
// router: every answer is a 2xx or a 4xx problem, never a 500 or a panic.
func FuzzIntake(f *testing.F) {
	for i, s := range intakeSeeds {
		key := ""
		if i%2 == 0 {
			key = "seed-key"
		}
		f.Add([]byte(s), key, uint8(i))
	}
	r := newFuzzRouter(f)
	roles := []domain.Role{domain.RoleClerk, domain.RoleAdmin, domain.RoleOfficer}
	f.Fuzz(func(t *testing.T, body []byte, key string, role uint8) {
		if !printable(key) {
			key = ""
		}
		status, out := r.send(http.MethodPost, "/api/v1/dossiers", r.tokens[roles[int(role)%len(roles)]], body, key)
		if status >= 500 {
			t.Fatalf("status %d for %q: %s", status, body, out)
		}
		if status >= 400 && !json.Valid(out) {
			t.Fatalf("status %d without a problem document: %s", status, out)
		}
	})
}

var transitionSeeds = []string{
	`{"action":"transfer","version":1}`,
	`{"action":"withdraw","version":1,"reason":"Rút"}`,
	`{"action":"complete_step","version":2}`,
	`{"action":"request_supplement","version":2,"items":["A","B"],"reason":"Thiếu"}`,
	`{"action":"request_payment","version":2,"amount":9223372036854775807,"reason":"Phí"}`,
	`{"action":"request_payment","version":2,"amount":9007199254740991,"reason":"Phí"}`,
	`{"action":"extend","version":2,"reason":"Chậm","new_due_at":"9999-04-01T17:00:00+07:00"}`,
	`{"action":"extend","version":2,"reason":"Chậm","new_due_at":"2026-04-01T17:00:00+07:00"}`,
	`{"action":"stop","version":2,"reason":"\u0000"}`,
	`{"action":"return_result","version":1,"method":"postal"}`,
	`{"action":"refuse","version":-1,"reason":"` + string(bytes.Repeat([]byte("x"), 3000)) + `"}`,
	`{"action":"accept","version":1e30}`, `{"action":null}`, `{}`, `"transfer"`,
}

// FuzzTransition sends arbitrary JSON to POST
// /api/v1/dossiers/{code}/transitions of a fresh dossier (transferred first
// when prep is odd), as a clerk, an officer or an administrator: never a
// 500 or a panic.
func FuzzTransition(f *testing.F) {
	for i, s := range transitionSeeds {
		f.Add([]byte(s), uint8(i), uint8(i%2))
	}
	r := newFuzzRouter(f)
	roles := []domain.Role{domain.RoleClerk, domain.RoleOfficer, domain.RoleAdmin}
	intake := []byte(intakeSeeds[0])
	f.Fuzz(func(t *testing.T, body []byte, role, prep uint8) {
		proc := intake
		if prep&2 != 0 {
			proc = []byte(intakeSeeds[1])
		}
		status, out := r.send(http.MethodPost, "/api/v1/dossiers", r.tokens[domain.RoleClerk], proc, "")
		if status != http.StatusCreated {
			t.Fatalf("intake: %d %s", status, out)
		}
		var d struct {
			Code string `json:"code"`
		}
		if err := json.Unmarshal(out, &d); err != nil {
			t.Fatal(err)
		}
		path := "/api/v1/dossiers/" + d.Code + "/transitions"
		if prep&1 != 0 && prep&2 == 0 {
			if s, b := r.send(http.MethodPost, path, r.tokens[domain.RoleClerk], []byte(`{"action":"transfer","version":1}`), ""); s != http.StatusOK {
				t.Fatalf("transfer: %d %s", s, b)
			}
		}
		status, out = r.send(http.MethodPost, path, r.tokens[roles[int(role)%len(roles)]], body, "")
		if status >= 500 {
			t.Fatalf("status %d for %q: %s", status, body, out)
		}
		if status >= 400 && !json.Valid(out) {
			t.Fatalf("status %d without a problem document: %s", status, out)
		}
	})
}

package handlers_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// The intake's answer is the dossier a read right after returns: same
// history, same deadlines (only the PIN, shown once, is extra).
func TestIntakeAnswerIsTheStoredDossier(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		tok := e.token(domain.RoleClerk, center)
		created := e.must(e.do(http.MethodPost, "/api/v1/dossiers", tok, intakeBody("1.001612", "counter")), http.StatusCreated)
		var posted map[string]any
		created.json(t, &posted)
		code, _ := posted["code"].(string)
		var read map[string]any
		e.must(e.do(http.MethodGet, "/api/v1/dossiers/"+code, tok, nil), http.StatusOK).json(t, &read)
		delete(posted, "lookup_pin")
		delete(read, "lookup_pin")
		h, _ := posted["history"].([]any)
		if len(h) != 1 {
			t.Fatalf("intake answer's history = %v, want the receive line", posted["history"])
		}
		a, _ := json.Marshal(posted)
		b, _ := json.Marshal(read)
		if !bytes.Equal(a, b) {
			t.Fatalf("intake answer differs from the read:\n%s\n%s", a, b)
		}
	})
}

// Problem documents speak Vietnamese to people: title, detail and field
// messages; the code and field names stay the machine's keys.
func TestProblemsInVietnamese(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		tok := e.token(domain.RoleClerk, center)
		body := intakeBody("9.999999", "counter")
		p := e.must(e.do(http.MethodPost, "/api/v1/dossiers", tok, body), http.StatusUnprocessableEntity).problem(t)
		if p.Code != domain.CodeValidationFailed || p.Title != "Dữ liệu không hợp lệ" || len(p.Errors) != 1 ||
			p.Errors[0].Field != "procedure_code" || p.Errors[0].Message != "không có thủ tục nào mang mã này" ||
			p.Detail != "Dữ liệu không hợp lệ: procedure_code: không có thủ tục nào mang mã này" {
			t.Errorf("problem = %+v", p)
		}
		p = e.must(e.do(http.MethodGet, "/api/v1/dossiers/000.00.10.H29-260316-0999", tok, nil), http.StatusNotFound).problem(t)
		if p.Title != "Không tìm thấy" || !strings.HasPrefix(p.Detail, "không có hồ sơ") {
			t.Errorf("problem = %+v", p)
		}
		p = e.must(e.raw(http.MethodPost, "/api/v1/dossiers", tok, "application/json", []byte(`{"x":1}`)), http.StatusBadRequest).problem(t)
		if p.Detail != `JSON sai định dạng: không có trường "x"` {
			t.Errorf("problem = %+v", p)
		}
	})
}

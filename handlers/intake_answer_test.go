package handlers_test

import (
	"bytes"
	"encoding/json"
	"net/http"
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

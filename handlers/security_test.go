package handlers_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// tokenFor signs a token for an actor as given.
func (e *env) tokenFor(a domain.Actor) string {
	e.t.Helper()
	tok, err := auth.Issue(e.secret, a, time.Hour, time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return tok
}

// TestReceiptPINIsCounted: the receipt's ?pin= goes through the look-up's
// limits: after five wrong PINs from one clerk even the right one is refused
// to that clerk, while the citizen's look-up is not locked by it.
func TestReceiptPINIsCounted(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		d := e.intake(intakeBody("2.000635", "counter"))
		clerk := e.token(domain.RoleClerk, center)
		path := "/api/v1/dossiers/" + d.Code + "/receipt?pin="
		wrong := "00000000"
		if d.LookupPIN == wrong {
			wrong = "11111111"
		}
		for i := 0; i < 5; i++ {
			p := e.must(e.do(http.MethodGet, path+wrong, clerk, nil), http.StatusUnprocessableEntity).problem(t)
			if len(p.Errors) != 1 || p.Errors[0].Field != "pin" {
				t.Fatalf("problem %+v", p)
			}
		}
		e.must(e.do(http.MethodGet, path+d.LookupPIN, clerk, nil), http.StatusUnprocessableEntity)
		// Without a PIN the receipt still prints, and the citizen's look-up works.
		e.must(e.do(http.MethodGet, "/api/v1/dossiers/"+d.Code+"/receipt", clerk, nil), http.StatusOK)
		e.must(e.do(http.MethodGet, "/api/v1/public/dossiers/"+d.Code+"?pin="+d.LookupPIN, "", nil), http.StatusOK)
		e.clock.Set(e.clock.Now().Add(61 * time.Minute))
		e.must(e.do(http.MethodGet, path+d.LookupPIN, clerk, nil), http.StatusOK)
	})
}

// TestReplayChecksAccess: the same sub, now clerk of another agency (or no
// longer a clerk), replaying an intake's body and Idempotency-Key gets
// neither the applicant's data nor the PIN.
func TestReplayChecksAccess(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		body := intakeBody("2.000635", "counter")
		first := e.tokenFor(domain.Actor{Sub: "nguoi-1", Roles: []domain.Role{domain.RoleClerk}, Agency: center})
		var d dossierDoc
		e.must(e.do(http.MethodPost, "/api/v1/dossiers", first, body, "Idempotency-Key", "k-42"), http.StatusCreated).json(t, &d)
		for _, a := range []domain.Actor{
			{Sub: "nguoi-1", Roles: []domain.Role{domain.RoleClerk}, Agency: foreign},
			{Sub: "nguoi-1", Roles: []domain.Role{domain.RoleClerk}, Agency: dept},
		} {
			res := e.do(http.MethodPost, "/api/v1/dossiers", e.tokenFor(a), body, "Idempotency-Key", "k-42")
			if res.Status != http.StatusForbidden {
				t.Fatalf("replay as clerk of %s: %d %s", a.Agency, res.Status, res.Body)
			}
			if p := res.problem(t); p.Code != "forbidden" {
				t.Fatalf("problem %+v", p)
			}
		}
		var again dossierDoc
		e.must(e.do(http.MethodPost, "/api/v1/dossiers", first, body, "Idempotency-Key", "k-42"), http.StatusOK).json(t, &again)
		if again.LookupPIN != d.LookupPIN {
			t.Fatal("the rightful replay lost its PIN")
		}
	})
}

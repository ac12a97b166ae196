package handlers_test

import (
	"net/http"
	"testing"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// TestReadPolicyOneAnswer holds GET /dossiers/{code} and the list to the same
// answer, for every role and agency and dossiers in several states: a
// dossier is listed to exactly those who may read it.
func TestReadPolicyOneAnswer(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		e.threeSteps()
		admin := e.token(domain.RoleAdmin, root)
		e.clock.Set(at(2026, 3, 16, 10, 0))
		waiting := e.intake(intakeBody("1.001612", "counter")).Code // at the centre, steps ahead at office and dept
		online := e.intake(intakeBody("1.001612", "online")).Code   // new, not accepted
		noSteps := e.intake(intakeBody("2.000635", "counter")).Code // lead dept, no steps
		atStep := e.intake(intakeBody("1.000948", "counter")).Code  // held by office, root's step ahead
		e.must(e.act(atStep, admin, at(2026, 3, 16, 10, 5), map[string]any{"action": "transfer"}), http.StatusOK)
		passed := e.intake(intakeBody("1.000948", "counter")).Code // office finished, dept holds
		e.must(e.act(passed, admin, at(2026, 3, 16, 10, 10), map[string]any{"action": "transfer"}), http.StatusOK)
		e.must(e.act(passed, admin, at(2026, 3, 16, 10, 15), map[string]any{"action": "complete_step"}), http.StatusOK)
		codes := []string{waiting, online, noSteps, atStep, passed}

		// Who must see what (domain.Actor.DossierScope): the receiving unit,
		// the lead agency, the holder and every step's unit, and supervisors
		// above them.
		want := map[string]map[string]bool{
			office:  {waiting: true, online: true, atStep: true, passed: true},
			root:    {atStep: true, passed: true},
			foreign: {},
		}
		roles := []domain.Role{domain.RoleClerk, domain.RoleOfficer, domain.RoleSupervisor, domain.RoleAdmin}
		for _, role := range roles {
			for _, agency := range []string{root, dept, office, center, foreign} {
				tok := e.token(role, agency)
				var list struct {
					Items []struct {
						Code string `json:"code"`
					} `json:"items"`
				}
				e.must(e.do(http.MethodGet, "/api/v1/dossiers?limit=500", tok, nil), http.StatusOK).json(t, &list)
				listed := map[string]bool{}
				for _, it := range list.Items {
					listed[it.Code] = true
				}
				for _, code := range codes {
					res := e.do(http.MethodGet, "/api/v1/dossiers/"+code, tok, nil)
					if res.Status != http.StatusOK && res.Status != http.StatusForbidden {
						t.Fatalf("%s of %s GET %s: status %d %s", role, agency, code, res.Status, res.Body)
					}
					read := res.Status == http.StatusOK
					if read != listed[code] {
						t.Errorf("%s of %s: GET %s says %v, the list says %v", role, agency, code, read, listed[code])
					}
					if w, ok := want[agency]; ok && role != domain.RoleAdmin && !(role == domain.RoleSupervisor && agency == root) && read != w[code] {
						t.Errorf("%s of %s reads %s: %v, want %v", role, agency, code, read, w[code])
					}
					if (role == domain.RoleAdmin || (role == domain.RoleSupervisor && agency == root)) && !read {
						t.Errorf("%s of %s cannot read %s", role, agency, code)
					}
				}
			}
		}
	})
}

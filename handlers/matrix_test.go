package handlers_test

import (
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// TestAuthorisationMatrix walks every action x role x own or foreign agency
// through the real router and checks each answer: clerks of the receiving
// unit and officers of the unit holding the step do their own actions,
// supervisors read but never act, administrators do everything.
func TestAuthorisationMatrix(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		e.clock.Set(at(2026, 3, 16, 10, 0))
		admin := e.token(domain.RoleAdmin, root)
		// prep brings a fresh dossier to the state the action needs.
		prep := func(channel string, steps ...map[string]any) string {
			code := e.intake(intakeBody("1.001612", channel)).Code
			for _, s := range steps {
				body := map[string]any{}
				for k, v := range s {
					body[k] = v
				}
				e.must(e.act(code, admin, e.clock.Now(), body), 200)
			}
			return code
		}
		transfer := map[string]any{"action": "transfer"}
		cases := []struct {
			action  string
			channel string
			steps   []map[string]any
			body    map[string]any
			by      domain.Role // who may, besides admins
		}{
			{"accept", "online", nil, nil, domain.RoleClerk},
			{"refuse", "online", nil, map[string]any{"reason": "Sai"}, domain.RoleClerk},
			{"transfer", "counter", nil, nil, domain.RoleClerk},
			{"withdraw", "counter", nil, map[string]any{"reason": "Rút"}, domain.RoleClerk},
			{"complete_step", "counter", []map[string]any{transfer}, nil, domain.RoleOfficer},
			{"request_supplement", "counter", []map[string]any{transfer}, map[string]any{"items": []string{"A"}, "reason": "Thiếu"}, domain.RoleOfficer},
			{"request_payment", "counter", []map[string]any{transfer}, map[string]any{"amount": 1000, "reason": "Phí"}, domain.RoleOfficer},
			{"extend", "counter", []map[string]any{transfer}, map[string]any{"reason": "Chậm", "new_due_at": at(2026, 4, 1, 17, 0).Format(time.RFC3339)}, domain.RoleOfficer},
			{"stop", "counter", []map[string]any{transfer}, map[string]any{"reason": "Dừng"}, domain.RoleOfficer},
			{"receive_supplement", "counter", []map[string]any{transfer, {"action": "request_supplement", "items": []string{"A"}, "reason": "Thiếu"}}, nil, domain.RoleClerk},
			{"receive_payment", "counter", []map[string]any{transfer, {"action": "request_payment", "amount": 1000, "reason": "Phí"}}, nil, domain.RoleClerk},
			{"return_result", "counter", []map[string]any{transfer, {"action": "complete_step"}, {"action": "complete_step", "result": "approved"}}, map[string]any{"method": "counter"}, domain.RoleClerk},
		}
		for _, c := range cases {
			t.Run(c.action, func(t *testing.T) {
				body := func() map[string]any {
					b := map[string]any{"action": c.action}
					for k, v := range c.body {
						b[k] = v
					}
					return b
				}
				code := prep(c.channel, c.steps...)
				holder := e.get(code).HolderCode
				own := map[domain.Role]string{domain.RoleClerk: center, domain.RoleOfficer: holder, domain.RoleSupervisor: root, domain.RoleAdmin: root}
				if holder == center {
					own[domain.RoleOfficer] = dept // no step held: the lead agency's officer
				}
				for _, role := range []domain.Role{domain.RoleClerk, domain.RoleOfficer, domain.RoleSupervisor, domain.RoleAdmin} {
					for _, mine := range []bool{true, false} {
						agency := foreign
						if mine {
							agency = own[role]
						}
						allowed := role == domain.RoleAdmin || (role == c.by && mine)
						target := code
						if allowed {
							target = prep(c.channel, c.steps...) // a success changes the state
						}
						before := e.get(target).Version
						res := e.act(target, e.token(role, agency), e.clock.Now(), body())
						switch {
						case allowed && res.Status != 200:
							t.Errorf("%s of %s (own=%v): %d, want 200: %s", role, agency, mine, res.Status, res.Body)
						case !allowed && res.Status != 403:
							t.Errorf("%s of %s (own=%v): %d, want 403: %s", role, agency, mine, res.Status, res.Body)
						case !allowed && e.get(target).Version != before:
							t.Errorf("%s of %s: a refused action changed the dossier", role, agency)
						}
					}
				}
			})
		}
	})
}

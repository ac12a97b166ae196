package handlers_test

import (
	"net/http"
	"testing"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

type consentDoc struct {
	Code          string   `json:"code"`
	Version       int      `json:"version"`
	Notify        []string `json:"notify"`
	Notifications []struct {
		Channel string `json:"channel"`
	} `json:"notifications"`
	History []struct {
		Action string `json:"action"`
		Note   string `json:"note"`
	} `json:"history"`
}

// TestIntakeConsent: notify at intake is checked against the contacts, kept,
// shown on the dossier, and changed later by a clerk with a history line.
func TestIntakeConsent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		clerk := e.token(domain.RoleClerk, center)
		body := func(phone, email string, notify ...string) map[string]any {
			b := intakeBody("1.001612", "counter")
			a := b["applicant"].(map[string]any)
			a["phone"], a["email"] = phone, email
			if notify != nil {
				b["notify"] = notify
			}
			return b
		}
		for _, tc := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"sms with a landline", body("0241234567", "", "sms"), "applicant.phone"},
			{"sms without a phone", body("", "an@example.vn", "sms"), "applicant.phone"},
			{"email that does not parse", body("0912345678", "an@", "email"), "applicant.email"},
			{"email without an address", body("0912345678", "", "email"), "applicant.email"},
			{"unknown channel", body("0912345678", "", "zalo"), "notify[0]"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				before := e.rows()
				p := e.must(e.do(http.MethodPost, "/api/v1/dossiers", clerk, tc.body), http.StatusUnprocessableEntity).problem(t)
				if len(p.Errors) == 0 || p.Errors[0].Field != tc.field {
					t.Fatalf("errors %+v, want %s", p.Errors, tc.field)
				}
				if after := e.rows(); after["dossiers"] != before["dossiers"] {
					t.Fatal("a refused intake wrote a dossier")
				}
			})
		}
		// A landline without SMS is fine: the phone is only checked when SMS is asked for.
		var none consentDoc
		e.must(e.do(http.MethodPost, "/api/v1/dossiers", clerk, body("0241234567", "")), http.StatusCreated).json(t, &none)
		if len(none.Notify) != 0 || none.Notifications == nil {
			t.Fatalf("default consent %+v", none)
		}
		var d consentDoc
		e.must(e.do(http.MethodPost, "/api/v1/dossiers", clerk, body("+84 912 345 678", "an@example.vn", "email", "sms")), http.StatusCreated).json(t, &d)
		if len(d.Notify) != 2 || d.Notify[0] != "sms" || d.Notify[1] != "email" {
			t.Fatalf("notify %v", d.Notify)
		}
		var got consentDoc
		e.must(e.do(http.MethodGet, "/api/v1/dossiers/"+d.Code, clerk, nil), http.StatusOK).json(t, &got)
		if len(got.Notify) != 2 {
			t.Fatalf("stored notify %v", got.Notify)
		}
		// A clerk changes it: one history line, a new version.
		path := "/api/v1/dossiers/" + d.Code + "/notify"
		e.must(e.do(http.MethodPut, path, clerk, map[string]any{"notify": []string{"email"}, "version": d.Version + 5}), http.StatusConflict)
		e.must(e.do(http.MethodPut, path, e.token(domain.RoleOfficer, dept), map[string]any{"notify": []string{}, "version": d.Version}), http.StatusForbidden)
		e.must(e.do(http.MethodPut, path, e.token(domain.RoleClerk, dept), map[string]any{"notify": []string{}, "version": d.Version}), http.StatusForbidden)
		e.must(e.do(http.MethodPut, path, clerk, map[string]any{"version": d.Version}), http.StatusUnprocessableEntity)
		e.must(e.do(http.MethodPut, path, clerk, map[string]any{"notify": []string{"fax"}, "version": d.Version}), http.StatusUnprocessableEntity)
		e.must(e.do(http.MethodPut, "/api/v1/dossiers/000.00.10.H29-260316-9999/notify", clerk, map[string]any{"notify": []string{}, "version": 1}), http.StatusNotFound)
		var changed consentDoc
		e.must(e.do(http.MethodPut, path, clerk, map[string]any{"notify": []string{"email"}, "version": d.Version}), http.StatusOK).json(t, &changed)
		last := changed.History[len(changed.History)-1]
		if changed.Version != d.Version+1 || len(changed.Notify) != 1 || changed.Notify[0] != "email" ||
			last.Action != "set_notify" || last.Note != "notify: email" {
			t.Fatalf("after the change: %+v", changed)
		}
	})
}

package handlers_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// TestOneOverdueRule holds the domain's predicate (domain.Dossier.OverdueAt,
// behind the dossier's late flag) and every SQL question about overdue
// dossiers (the list's ?overdue=true, the overdue report now and as of a past
// instant, and the deadline watcher's overdue events) to the same answers,
// on both databases. Procedure 1.001612: 3 working days (24 h), step 1
// "Thẩm định" at the office 16 h, step 2 at the department 8 h. Each dossier
// is received at the centre and transferred at Mon 16/3 09:00 (except A):
// the legal deadline is Thu 19/3 09:00 (Mon 7 h + Tue 8 h + Wed 8 h + 1 h),
// step 1's Wed 18/3 09:00 (Mon 7 h + Tue 8 h + 1 h).
func TestOneOverdueRule(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		clerk, officer, admin := e.token(domain.RoleClerk, center), e.token(domain.RoleOfficer, office), e.token(domain.RoleAdmin, root)
		mon := at(2026, 3, 16, 9, 0)
		thu := at(2026, 3, 19, 9, 0)
		take := func(when time.Time) string {
			e.clock.Set(when)
			d := e.intake(intakeBody("1.001612", "counter"))
			e.must(e.act(d.Code, clerk, when, map[string]any{"action": "transfer"}), http.StatusOK)
			return d.Code
		}
		type row struct {
			name  string
			setup func() string
			// overdue now (Fri 20/3 10:00), its held step too, and as of
			// Wed 18/3 12:00 (only step 1's allotment had passed then).
			dossier, step, stepWed bool
		}
		rows := []row{
			{"A running, deadline ahead (received Thu)", func() string { return take(thu) }, false, false, false},
			{"B paused Tue with time left", func() string {
				c := take(mon)
				e.must(e.act(c, officer, at(2026, 3, 17, 10, 0), map[string]any{"action": "request_supplement", "reason": "Thiếu giấy tờ", "items": []string{"Bản sao"}}), http.StatusOK)
				return c
			}, false, false, false},
			{"C paused Thu after the deadline", func() string {
				c := take(mon)
				e.must(e.act(c, officer, at(2026, 3, 19, 10, 0), map[string]any{"action": "request_supplement", "reason": "Thiếu giấy tờ", "items": []string{"Bản sao"}}), http.StatusOK)
				return c
			}, true, true, true},
			{"D finished late Thu", func() string {
				c := take(mon)
				e.must(e.act(c, officer, at(2026, 3, 19, 10, 0), map[string]any{"action": "complete_step"}), http.StatusOK)
				e.must(e.act(c, e.token(domain.RoleOfficer, dept), at(2026, 3, 19, 11, 0), map[string]any{"action": "complete_step", "result": "approved"}), http.StatusOK)
				return c
			}, false, false, true},
			{"E running past the deadline", func() string { return take(mon) }, true, true, true},
			{"F resumed Wed after a pause with time left", func() string {
				c := take(mon)
				e.must(e.act(c, officer, at(2026, 3, 17, 10, 0), map[string]any{"action": "request_supplement", "reason": "Thiếu", "items": []string{"Bản sao"}}), http.StatusOK)
				// The clock restarts at Wed 10:00: 24 h to Mon 23/3 10:00, step 16 h to Fri 20/3 10:00.
				e.must(e.act(c, clerk, at(2026, 3, 18, 10, 0), map[string]any{"action": "receive_supplement"}), http.StatusOK)
				return c
			}, false, false, false},
			{"G withdrawn Thu after the deadline", func() string {
				c := take(mon)
				e.must(e.act(c, clerk, at(2026, 3, 19, 10, 0), map[string]any{"action": "withdraw", "reason": "Rút hồ sơ"}), http.StatusOK)
				return c
			}, false, false, true},
			{"H awaiting payment since Thu, after the deadline", func() string {
				c := take(mon)
				e.must(e.act(c, officer, at(2026, 3, 19, 10, 0), map[string]any{"action": "request_payment", "amount": 50000, "note": "Lệ phí"}), http.StatusOK)
				return c
			}, true, true, true},
		}
		codes := make([]string, len(rows))
		for i, r := range rows {
			codes[i] = r.setup()
		}
		now := at(2026, 3, 20, 10, 0)
		wed := at(2026, 3, 18, 12, 0)
		e.clock.Set(now)

		// The SQL answers.
		var list struct {
			Items []struct {
				Code string `json:"code"`
				Late bool   `json:"late"`
			} `json:"items"`
		}
		e.must(e.do(http.MethodGet, "/api/v1/dossiers?overdue=true&limit=100", admin, nil), http.StatusOK).json(t, &list)
		listed := map[string]bool{}
		for _, it := range list.Items {
			listed[it.Code] = true
			if !it.Late {
				t.Errorf("?overdue=true lists %s with late false", it.Code)
			}
		}
		report := func(asOf *time.Time) (dossiers, steps map[string]bool) {
			q := "/api/v1/reports/overdue?limit=100"
			if asOf != nil {
				q += "&as_of=" + url.QueryEscape(asOf.Format(time.RFC3339))
			}
			var doc overdueDoc
			e.must(e.do(http.MethodGet, q, admin, nil), http.StatusOK).json(t, &doc)
			dossiers, steps = map[string]bool{}, map[string]bool{}
			for _, it := range doc.Items {
				if it.Kind == "dossier" {
					dossiers[it.Code] = true
				} else {
					steps[it.Code] = true
					if it.HolderCode != office {
						t.Errorf("step of %s held by %s, want %s", it.Code, it.HolderCode, office)
					}
				}
			}
			return dossiers, steps
		}
		repD, repS := report(nil)
		justBefore := now.Add(-time.Minute)
		thenD, thenS := report(&justBefore) // from the kept overdue states; nothing changed since Thu 11:00
		_, wedS := report(&wed)
		if _, err := e.svc.WatchDeadlines(context.Background()); err != nil {
			t.Fatal(err)
		}
		var fired []string
		if err := st.DB().Table("outbox").Where("type = ?", "overdue").Pluck("dossier_code", &fired).Error; err != nil {
			t.Fatal(err)
		}

		for i, r := range rows {
			c := codes[i]
			d, err := st.Dossier(context.Background(), c)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]bool{
				"domain OverdueAt":          d.OverdueAt(now),
				"?overdue=true":             listed[c],
				"overdue report":            repD[c],
				"overdue report as of then": thenD[c],
				"watcher's overdue event":   slices.Contains(fired, c),
			}
			for what, g := range got {
				if g != r.dossier {
					t.Errorf("%s (%s): %s says %v, want %v", r.name, c, what, g, r.dossier)
				}
			}
			if f := d.StepOverdueFrom(d.CurrentStep); (f != nil && f.Before(now)) != r.step || repS[c] != r.step || thenS[c] != r.step {
				t.Errorf("%s: step overdue: domain %v, report %v, as of then %v, want %v", r.name, f, repS[c], thenS[c], r.step)
			}
			if wedS[c] != r.stepWed {
				t.Errorf("%s: step overdue as of Wed 12:00: %v, want %v", r.name, wedS[c], r.stepWed)
			}
			if late := e.get(c).Late; late != (r.dossier || d.Verdict == domain.VerdictLate) {
				t.Errorf("%s: late %v", r.name, late)
			}
		}
	})
}

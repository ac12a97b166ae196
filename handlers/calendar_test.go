package handlers_test

import (
	"net/http"
	"testing"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// TestRecordedDayMovesOpenDeadlines: a day off recorded after intake moves
// the deadline in the same transaction, with a history line; removing it
// moves the deadline back.
func TestRecordedDayMovesOpenDeadlines(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		d := e.intake(intakeBody("1.001612", "counter")) // Monday 16/3 09:00, 3 working days
		if want := at(2026, 3, 19, 9, 0); !d.DueAt.Equal(want) {
			t.Fatalf("due %v, want %v", d.DueAt, want)
		}
		admin := e.token(domain.RoleAdmin, root)
		staff := e.token(domain.RoleClerk, center)
		get := func() dossierDoc {
			var out dossierDoc
			e.must(e.do(http.MethodGet, "/api/v1/dossiers/"+d.Code, staff, nil), http.StatusOK).json(t, &out)
			return out
		}
		var put struct {
			Moved int `json:"dossiers_moved"`
		}
		e.must(e.do(http.MethodPut, "/api/v1/calendar/days/2026-03-17", admin, map[string]any{"kind": "holiday", "name": "Nghỉ đột xuất"}), http.StatusOK).json(t, &put)
		got := get()
		if put.Moved != 1 || !got.DueAt.Equal(at(2026, 3, 20, 9, 0)) || got.Version != 2 {
			t.Fatalf("after the holiday: moved %d, due %v, version %d", put.Moved, got.DueAt, got.Version)
		}
		if last := got.History[len(got.History)-1]; last.Action != "calendar_changed" {
			t.Fatalf("history %+v", got.History)
		}
		// A day for another agency moves nothing here.
		e.must(e.do(http.MethodPut, "/api/v1/calendar/days/2026-03-18", admin, map[string]any{"kind": "holiday", "name": "Nghỉ", "agency_code": foreign}), http.StatusOK).json(t, &put)
		if put.Moved != 0 || !get().DueAt.Equal(at(2026, 3, 20, 9, 0)) {
			t.Fatal("a foreign agency's day moved the deadline")
		}
		e.must(e.do(http.MethodDelete, "/api/v1/calendar/days/2026-03-17", admin, nil), http.StatusNoContent)
		if got := get(); !got.DueAt.Equal(at(2026, 3, 19, 9, 0)) || got.Version != 3 {
			t.Fatalf("after removal: due %v version %d", got.DueAt, got.Version)
		}
		e.must(e.do(http.MethodDelete, "/api/v1/calendar/days/2026-03-17", admin, nil), http.StatusNotFound)

		var days struct {
			Items []struct {
				Date   string `json:"date"`
				Kind   string `json:"kind"`
				Source string `json:"source"`
			} `json:"items"`
		}
		e.must(e.do(http.MethodGet, "/api/v1/calendar/days?year=2026", "", nil), http.StatusOK).json(t, &days)
		found := map[string]string{}
		for _, it := range days.Items {
			found[it.Date] = it.Kind
		}
		for date, kind := range map[string]string{"2026-02-16": "holiday", "2026-02-20": "holiday", "2026-04-27": "holiday", "2026-08-22": "workday", "2026-09-02": "holiday"} {
			if found[date] != kind {
				t.Errorf("%s: %q, want %q", date, found[date], kind)
			}
		}
		if _, ok := found["2026-03-18"]; ok {
			t.Error("the national list shows a foreign agency's day")
		}
		// A dossier received on a make-up Saturday counts from it.
		e.clock.Set(at(2026, 8, 22, 9, 0))
		sat := e.intake(intakeBody("2.000635", "counter"))
		if want := at(2026, 8, 22, 14, 0); !sat.DueAt.Equal(want) {
			t.Fatalf("make-up Saturday intake due %v, want %v", sat.DueAt, want)
		}
	})
}

func TestCalendarBadInput(t *testing.T) {
	e := newEnv(t, storetest.SQLite(t))
	e.catalogue()
	admin := e.token(domain.RoleAdmin, root)
	cases := []struct {
		method, path string
		body         any
		want         int
	}{
		{"PUT", "/api/v1/calendar/days/2026-02-30", map[string]any{"kind": "holiday", "name": "x"}, 422},
		{"PUT", "/api/v1/calendar/days/tomorrow", map[string]any{"kind": "holiday", "name": "x"}, 422},
		{"PUT", "/api/v1/calendar/days/2026-05-05", map[string]any{"kind": "party", "name": "x"}, 422},
		{"PUT", "/api/v1/calendar/days/2026-05-05", map[string]any{"kind": "holiday", "agency_code": "000.00.55.H29"}, 422},
		{"GET", "/api/v1/calendar/days?year=abc", nil, 422},
		{"GET", "/api/v1/calendar/days?year=99999", nil, 422},
		{"GET", "/api/v1/calendar/days?year=2026&agency=000.00.55.H29", nil, 404},
	}
	for _, c := range cases {
		tok := admin
		if c.method == "GET" {
			tok = ""
		}
		res := e.do(c.method, c.path, tok, c.body)
		if res.Status != c.want {
			t.Errorf("%s %s: %d, want %d: %s", c.method, c.path, res.Status, c.want, res.Body)
			continue
		}
		res.problem(t)
	}
	e.must(e.do("PUT", "/api/v1/calendar/days/2026-05-05", e.token(domain.RoleSupervisor, root), map[string]any{"kind": "holiday"}), 403)
}

package handlers_test

import (
	"bytes"
	"encoding/csv"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

type scorecardDoc struct {
	From, To string
	Rows     []struct {
		AgencyCode        string  `json:"agency_code"`
		AgencyName        string  `json:"agency_name"`
		Points            float64 `json:"points"`
		MaxPoints         float64 `json:"max_points"`
		MeasuredMaxPoints float64 `json:"measured_max_points"`
		Groups            []struct {
			Name              string  `json:"name"`
			Points            float64 `json:"points"`
			MaxPoints         float64 `json:"max_points"`
			MeasuredMaxPoints float64 `json:"measured_max_points"`
			Indicators        []struct {
				ID          string   `json:"id"`
				Value       *float64 `json:"value"`
				Points      *float64 `json:"points"`
				MaxPoints   float64  `json:"max_points"`
				NotMeasured *string  `json:"not_measured"`
			} `json:"indicators"`
		} `json:"groups"`
	} `json:"rows"`
}

type latenessDoc struct {
	Rows []struct {
		UnitCode         string  `json:"unit_code"`
		Sub              *string `json:"sub"`
		Name             *string `json:"name"`
		Steps            int64   `json:"steps"`
		Early            int64   `json:"early"`
		OnTime           int64   `json:"on_time"`
		Late             int64   `json:"late"`
		LateWorkingHours float64 `json:"late_working_hours"`
		DossiersLate     int64   `json:"dossiers_late"`
	} `json:"rows"`
	Total struct {
		Steps        int64   `json:"steps"`
		Late         int64   `json:"late"`
		LateHours    float64 `json:"late_working_hours"`
		DossiersLate int64   `json:"dossiers_late"`
	} `json:"total"`
}

// TestScorecardAndLateness works March 2026 by hand for the department
// (lead agency of both procedures). Procedure 1.001612: 24 working hours,
// step 1 at the office 16 h, step 2 at the department 8 h, online "full",
// its clock restarting after a supplement; 2.000635 is not offered online.
// All counter dossiers are received at the centre and transferred at once.
//
//	D1 Mon 2/3 09:00 (due Thu 5/3 09:00). Lan (office) finishes step 1 Tue 3/3 10:00 (due Wed 4/3 09:00:
//	   early); Bình (department) asks a payment Tue 11:00, paid online Tue 14:00, result Tue 15:00:
//	   early. Clock: Mon 7 h + Tue 8-11 and 14-15 = 11 h.
//	D2 Mon 2/3 09:00. Lan finishes step 1 Thu 5/3 10:00: late by Wed 09-17 (7 h) + Thu 08-10 (2 h) = 9 h;
//	   Bình's result Thu 11:00 (deadline Thu 09:00): processed late; clock 7+8+8+3 = 26 h. Returned,
//	   rated 2.
//	D3 Mon 2/3 09:00. Lan asks a supplement Tue 3/3 10:00, received Wed 4/3 10:00 (clock restarts),
//	   asks a second one Thu 5/3 10:00, still pending at the end of March: late for 2.1 (two requests).
//	D4 Mon 2/3 09:00, withdrawn Tue 3/3 10:00, before its deadline: on time.
//	D5 Mon 2/3 09:00, not transferred, refused Mon 10:00: on time.
//	D6 Mon 23/3 09:00 (due Thu 26/3 09:00), untouched: overdue at the end of March: late.
//	D7 Mon 30/3 09:00 (due Thu 2/4 09:00), untouched: on time at the end of March.
//	D8 Fri 27/2 09:00 (due Wed 4/3 09:00; step 1 due Tue 3/3 09:00): Hùng (office) finishes step 1
//	   Tue 3/3 10:00, late by 1 h; Bình's result Tue 11:00: early. Received earlier, finished in
//	   March: in S, on time. Clock Fri 7 + Mon 8 + Tue 3 = 18 h.
//	D10 online, submitted Mon 9/3 09:00, accepted Mon 10:00 and transferred (step 1 due Wed 11/3
//	   10:00); Hùng finishes step 1 Tue 10/3 10:30 (early), Bình's result Tue 11:00: early.
//	   Clock Mon 10-17 (6 h) + Tue 3 h = 9 h.
//
// 2.1: S = D1 D2 D3 D4 D5 D6 D7 D8 D10 = 9; late D2 D3 D6; on time 6/9; points 20 x 6/9 = 13.3333.
// 2.2: (11 + 26 + 18 + 9) h / 4 results = 16 h, 0 points.
// 3.1: 1 of the department's 2 procedures online = 0.5: min(2, 2 x 0.5/0.8) = 1.25.
// 3.2: 1.001612 had an online dossier (D10): 1/1: 4 points.
// 3.3: received in March D1-D7 and D10 = 8, online 1: 0.125: min(6, 6 x 0.125/0.5) = 1.5.
// 3.6: one dossier paid in March (D1), online: 1: 6 points.
// 5.4: 1 - (3/9 late + 1/9 rated 1-2) = 5/9: min(6, 6 x 0.5556/0.9) = 3.7037.
// Groups: 0 | 13.33 (of 20 measured) | 6.75 (12) | 6 (6) | 0 (0) | 3.70 (6); total 29.787 -> 29.79
// of 100, 44 measured; 1.4 is not measured (the portal sync's state).
//
// Lateness, steps finished in March: office D1 (Lan, early), D2 (Lan, late 9 h), D8 (Hùng, late
// 1 h), D10 (Hùng, early): 4 steps, 2 early, 2 late, 10 h, 1 dossier late by it first (D2; D8 was
// early overall). Department: 4 steps, all early (Bình), none late.
func TestScorecardAndLateness(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		named := func(role domain.Role, agency, sub, name string) string {
			tok, err := auth.Issue(e.secret, domain.Actor{Sub: sub, Name: name, Roles: []domain.Role{role}, Agency: agency}, time.Hour, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		clerk := e.token(domain.RoleClerk, center)
		lan := named(domain.RoleOfficer, office, "lan@office", "Nguyễn Thị Lan")
		hung := named(domain.RoleOfficer, office, "hung@office", "Lê Văn Hùng")
		binh := named(domain.RoleOfficer, dept, "binh@dept", "Trần Văn Bình")
		ok := func(code, token string, when time.Time, body map[string]any) {
			t.Helper()
			e.must(e.act(code, token, when, body), http.StatusOK)
		}
		take := func(when time.Time, transfer bool) dossierDoc {
			t.Helper()
			e.clock.Set(when)
			d := e.intake(intakeBody("1.001612", "counter"))
			if transfer {
				ok(d.Code, clerk, when, map[string]any{"action": "transfer"})
			}
			return d
		}
		mon := at(2026, 3, 2, 9, 0)
		d1 := take(mon, true)
		ok(d1.Code, lan, at(2026, 3, 3, 10, 0), map[string]any{"action": "complete_step"})
		ok(d1.Code, binh, at(2026, 3, 3, 11, 0), map[string]any{"action": "request_payment", "amount": 50000, "note": "Lệ phí"})
		ok(d1.Code, clerk, at(2026, 3, 3, 14, 0), map[string]any{"action": "receive_payment", "method": "online"})
		ok(d1.Code, binh, at(2026, 3, 3, 15, 0), map[string]any{"action": "complete_step", "result": "approved"})
		d2 := take(mon, true)
		ok(d2.Code, lan, at(2026, 3, 5, 10, 0), map[string]any{"action": "complete_step"})
		ok(d2.Code, binh, at(2026, 3, 5, 11, 0), map[string]any{"action": "complete_step", "result": "approved"})
		ok(d2.Code, clerk, at(2026, 3, 5, 15, 0), map[string]any{"action": "return_result", "method": "counter"})
		e.clock.Set(at(2026, 3, 6, 9, 0))
		e.must(e.do(http.MethodPost, "/api/v1/public/dossiers/"+d2.Code+"/feedback", "", map[string]any{"pin": d2.LookupPIN, "rating": 2}), http.StatusCreated)
		d3 := take(mon, true)
		supp := map[string]any{"action": "request_supplement", "reason": "Thiếu", "items": []string{"Bản sao"}}
		ok(d3.Code, lan, at(2026, 3, 3, 10, 0), supp)
		ok(d3.Code, clerk, at(2026, 3, 4, 10, 0), map[string]any{"action": "receive_supplement"})
		ok(d3.Code, lan, at(2026, 3, 5, 10, 0), map[string]any{"action": "request_supplement", "reason": "Thiếu nữa", "items": []string{"Bản chính"}})
		d4 := take(mon, true)
		ok(d4.Code, clerk, at(2026, 3, 3, 10, 0), map[string]any{"action": "withdraw", "reason": "Rút"})
		d5 := take(mon, false)
		ok(d5.Code, clerk, at(2026, 3, 2, 10, 0), map[string]any{"action": "refuse", "reason": "Không thuộc thẩm quyền"})
		take(at(2026, 3, 23, 9, 0), false)
		take(at(2026, 3, 30, 9, 0), false)
		d8 := take(at(2026, 2, 27, 9, 0), true)
		ok(d8.Code, hung, at(2026, 3, 3, 10, 0), map[string]any{"action": "complete_step"})
		ok(d8.Code, binh, at(2026, 3, 3, 11, 0), map[string]any{"action": "complete_step", "result": "approved"})
		e.clock.Set(at(2026, 3, 9, 9, 0))
		d10 := e.intake(intakeBody("1.001612", "online"))
		ok(d10.Code, clerk, at(2026, 3, 9, 10, 0), map[string]any{"action": "accept"})
		ok(d10.Code, clerk, at(2026, 3, 9, 10, 0), map[string]any{"action": "transfer"})
		ok(d10.Code, hung, at(2026, 3, 10, 10, 30), map[string]any{"action": "complete_step"})
		ok(d10.Code, binh, at(2026, 3, 10, 11, 0), map[string]any{"action": "complete_step", "result": "approved"})

		e.clock.Set(at(2026, 4, 1, 10, 0))
		admin := e.token(domain.RoleAdmin, root)
		var sc scorecardDoc
		e.must(e.do(http.MethodGet, "/api/v1/reports/scorecard?period=2026-03", admin, nil), http.StatusOK).json(t, &sc)
		if len(sc.Rows) != 5 {
			t.Fatalf("%d rows, want one per agency (5)", len(sc.Rows))
		}
		near := func(a, b float64) bool { return math.Abs(a-b) < 1e-3 }
		for _, r := range sc.Rows {
			if r.AgencyCode != dept {
				if r.Points != 0 || r.MaxPoints != 100 {
					t.Errorf("%s: %+v", r.AgencyCode, r)
				}
				continue
			}
			if !near(r.Points, 29.79) || r.MaxPoints != 100 || r.MeasuredMaxPoints != 44 {
				t.Errorf("department: points %v, max %v, measured %v; want 29.79, 100, 44", r.Points, r.MaxPoints, r.MeasuredMaxPoints)
			}
			wantGroups := [][2]float64{{0, 0}, {13.33, 20}, {6.75, 12}, {6, 6}, {0, 0}, {3.7, 6}}
			want := map[string][2]float64{"2.1": {6.0 / 9, 13.3333}, "2.2": {16, 0}, "3.1": {0.5, 1.25}, "3.2": {1, 4},
				"3.3": {0.125, 1.5}, "3.6": {1, 6}, "5.4": {5.0 / 9, 3.7037}}
			for i, g := range r.Groups {
				if !near(g.Points, wantGroups[i][0]) || g.MeasuredMaxPoints != wantGroups[i][1] {
					t.Errorf("group %s: %v of %v measured, want %v", g.Name, g.Points, g.MeasuredMaxPoints, wantGroups[i])
				}
				for _, in := range g.Indicators {
					w, measured := want[in.ID]
					switch {
					case !measured:
						if in.Value != nil || in.Points != nil || in.NotMeasured == nil {
							t.Errorf("%s should be not measured: %+v", in.ID, in)
						}
					case in.Value == nil || in.Points == nil:
						t.Errorf("%s not measured: %v", in.ID, in.NotMeasured)
					case !near(*in.Value, w[0]) || !near(*in.Points, w[1]):
						t.Errorf("%s: value %v points %v, want %v", in.ID, *in.Value, *in.Points, w)
					}
					if in.ID == "1.4" && (in.NotMeasured == nil || !strings.Contains(*in.NotMeasured, "portal")) {
						t.Errorf("1.4: %v", in.NotMeasured)
					}
				}
			}
		}

		var lu latenessDoc
		e.must(e.do(http.MethodGet, "/api/v1/reports/lateness?period=2026-03", admin, nil), http.StatusOK).json(t, &lu)
		type unitLine struct {
			unit                             string
			steps, early, late, dossiersLate int64
			hours                            float64
		}
		var gotU []unitLine
		for _, r := range lu.Rows {
			gotU = append(gotU, unitLine{r.UnitCode, r.Steps, r.Early, r.Late, r.DossiersLate, r.LateWorkingHours})
		}
		wantU := []unitLine{{dept, 4, 4, 0, 0, 0}, {office, 4, 2, 2, 1, 10}}
		if len(gotU) != 2 || gotU[0] != wantU[0] || gotU[1] != wantU[1] {
			t.Errorf("lateness per unit %+v, want %+v", gotU, wantU)
		}
		if lu.Total.Steps != 8 || lu.Total.Late != 2 || lu.Total.LateHours != 10 || lu.Total.DossiersLate != 1 {
			t.Errorf("total %+v", lu.Total)
		}
		var lo latenessDoc
		e.must(e.do(http.MethodGet, "/api/v1/reports/lateness?period=2026-03&group_by=officer&agency_code="+office, admin, nil), http.StatusOK).json(t, &lo)
		type officerLine struct {
			sub, name                 string
			steps, late, dossiersLate int64
			hours                     float64
		}
		var gotO []officerLine
		for _, r := range lo.Rows {
			gotO = append(gotO, officerLine{*r.Sub, *r.Name, r.Steps, r.Late, r.DossiersLate, r.LateWorkingHours})
		}
		wantO := []officerLine{{"hung@office", "Lê Văn Hùng", 2, 1, 0, 1}, {"lan@office", "Nguyễn Thị Lan", 2, 1, 1, 9}}
		if len(gotO) != 2 || gotO[0] != wantO[0] || gotO[1] != wantO[1] {
			t.Errorf("lateness per officer %+v, want %+v", gotO, wantO)
		}

		// Exports: the same numbers, Vietnamese headings.
		res := e.must(e.do(http.MethodGet, "/api/v1/reports/scorecard?period=2026-03&agency_code="+dept+"&format=csv", admin, nil), http.StatusOK)
		recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(res.Body, []byte("\ufeff")))).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		if recs[0][3] != "Chỉ số" || !strings.Contains(res.Header.Get("Content-Disposition"), "bo-chi-so-766_2026-03.csv") {
			t.Errorf("csv head %v %s", recs[0], res.Header.Get("Content-Disposition"))
		}
		found := false
		for _, r := range recs {
			if r[0] == dept && r[3] == "2.1" {
				found = r[5] == "0.6667" && r[6] == "13.3333"
			}
		}
		if !found {
			t.Errorf("csv lacks 2.1 = 0.6667, 13.3333: %v", recs)
		}
		x := e.must(e.do(http.MethodGet, "/api/v1/reports/lateness?period=2026-03&group_by=officer&format=xlsx", admin, nil), http.StatusOK)
		f, err := excelize.OpenReader(bytes.NewReader(x.Body))
		if err != nil {
			t.Fatal(err)
		}
		rows, _ := f.GetRows(f.GetSheetList()[0])
		if len(rows) != 5 || rows[0][0] != "Mã đơn vị" || rows[4][1] != "Tổng cộng" {
			t.Errorf("xlsx rows %v", rows)
		}

		// Bad input: 4xx problem documents.
		foreignSup := e.token(domain.RoleSupervisor, foreign)
		for _, c := range []struct {
			path, token string
			status      int
		}{
			{"/api/v1/reports/scorecard?period=2026-13", admin, 422},
			{"/api/v1/reports/scorecard?period=2026-05", admin, 422}, // not begun
			{"/api/v1/reports/scorecard?period=2026-03&agency_code=000.99.99.H29", admin, 422},
			{"/api/v1/reports/scorecard?period=2026-03&agency_code=" + dept, foreignSup, 403},
			{"/api/v1/reports/scorecard?period=2026-03", e.token(domain.RoleClerk, center), 403},
			{"/api/v1/reports/scorecard?period=2026-03&format=pdf", admin, 422},
			{"/api/v1/reports/lateness?period=2026-03&group_by=procedure", admin, 422},
			{"/api/v1/reports/lateness?from=2026-03-02&to=2026-03-01", admin, 422},
			{"/api/v1/reports/lateness?period=2026-03&agency_code=" + dept, foreignSup, 403},
			{"/api/v1/reports/lateness?period=2027", admin, 422},
		} {
			e.must(e.do(http.MethodGet, c.path, c.token, nil), c.status).problem(t)
		}
	})
}

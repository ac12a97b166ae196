package handlers_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

type fullDoc struct {
	Code        string     `json:"code"`
	Status      string     `json:"status"`
	Version     int        `json:"version"`
	DueAt       *time.Time `json:"due_at"`
	PromisedAt  *time.Time `json:"promised_at"`
	Late        bool       `json:"late"`
	Verdict     string     `json:"verdict"`
	Result      string     `json:"result"`
	ReturnedAt  *time.Time `json:"returned_at"`
	HolderCode  string     `json:"holder_code"`
	CurrentStep *int       `json:"current_step"`
	Steps       []struct {
		AgencyCode string     `json:"agency_code"`
		StartedAt  *time.Time `json:"started_at"`
		DueAt      *time.Time `json:"due_at"`
		FinishedAt *time.Time `json:"finished_at"`
		Verdict    string     `json:"verdict"`
	} `json:"steps"`
	Pauses []struct {
		Kind      string     `json:"kind"`
		StartedAt time.Time  `json:"started_at"`
		EndedAt   *time.Time `json:"ended_at"`
	} `json:"pauses"`
	Extension *struct {
		Late bool `json:"late"`
	} `json:"extension"`
	Handoffs []struct {
		FromUnit string `json:"from_unit"`
		ToUnit   string `json:"to_unit"`
		Verdict  string `json:"verdict"`
	} `json:"handoffs"`
	History []struct {
		Action string `json:"action"`
	} `json:"history"`
	AllowedActions []string `json:"allowed_actions"`
}

func (e *env) get(code string) fullDoc {
	e.t.Helper()
	var d fullDoc
	e.must(e.do(http.MethodGet, "/api/v1/dossiers/"+code, e.token(domain.RoleAdmin, root), nil), http.StatusOK).json(e.t, &d)
	return d
}

// act posts a transition at a given local time, naming the current version.
func (e *env) act(code, token string, when time.Time, body map[string]any) response {
	e.t.Helper()
	e.clock.Set(when)
	body["version"] = e.get(code).Version
	return e.do(http.MethodPost, "/api/v1/dossiers/"+code+"/transitions", token, body)
}

// threeSteps adds a five-day procedure held by three units in turn, whose
// clock restarts on a complete supplement.
func (e *env) threeSteps() {
	e.t.Helper()
	e.must(e.do(http.MethodPut, "/api/v1/procedures/1.000948", e.token(domain.RoleAdmin, root), map[string]any{
		"name": "Cấp phép", "agency_code": dept, "duration": map[string]any{"working_days": 5}, "supplement_clock": "restart", "online": "none",
		"steps": []map[string]any{{"name": "Thẩm định", "agency_code": office, "working_hours": 16},
			{"name": "Xem xét", "agency_code": dept, "working_hours": 16}, {"name": "Phê duyệt", "agency_code": root, "working_hours": 8}},
	}), http.StatusCreated)
}

func eq(t *testing.T, what string, got *time.Time, want time.Time) {
	t.Helper()
	if got == nil || !got.Equal(want) {
		t.Fatalf("%s: %v, want %v", what, got, want)
	}
}

// TestLifeCycle carries a dossier through three steps with a restarted
// supplement, a payment pause, a late apology and a late result, checking
// every deadline to the minute against the 2026 calendar.
func TestLifeCycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		e.threeSteps()
		clerk := e.token(domain.RoleClerk, center)
		officeOfficer, deptOfficer, rootOfficer := e.token(domain.RoleOfficer, office), e.token(domain.RoleOfficer, dept), e.token(domain.RoleOfficer, root)
		e.clock.Set(at(2026, 3, 16, 9, 0))
		in := e.intake(intakeBody("1.000948", "counter"))
		code, pin := in.Code, in.LookupPIN
		d := e.get(code)
		eq(t, "due at intake", d.DueAt, at(2026, 3, 23, 9, 0))
		if d.AllowedActions == nil {
			t.Fatal("no allowed actions")
		}

		e.must(e.act(code, clerk, at(2026, 3, 16, 10, 0), map[string]any{"action": "transfer"}), 200)
		d = e.get(code)
		eq(t, "step 1 due", d.Steps[0].DueAt, at(2026, 3, 18, 10, 0))
		if d.HolderCode != office || d.Status != "processing" {
			t.Fatalf("after transfer: %s held by %s", d.Status, d.HolderCode)
		}

		e.must(e.act(code, officeOfficer, at(2026, 3, 17, 14, 0), map[string]any{"action": "request_supplement",
			"items": []string{"Bản sao giấy phép"}, "reason": "Thiếu giấy phép"}), 200)
		var pub struct {
			Status     string `json:"status"`
			Supplement *struct {
				Items  []string `json:"items"`
				Reason string   `json:"reason"`
			} `json:"supplement"`
			CanRate bool `json:"can_rate"`
		}
		e.must(e.do(http.MethodGet, "/api/v1/public/dossiers/"+code+"?pin="+pin, "", nil), 200).json(t, &pub)
		if pub.Supplement == nil || pub.Supplement.Items[0] != "Bản sao giấy phép" || pub.Supplement.Reason != "Thiếu giấy phép" {
			t.Fatalf("the citizen does not see what is missing: %+v", pub)
		}
		// The complete supplement restarts the clocks: 40 h and 16 h again from Thursday 09:00.
		e.must(e.act(code, clerk, at(2026, 3, 19, 9, 0), map[string]any{"action": "receive_supplement"}), 200)
		d = e.get(code)
		eq(t, "due after the restart", d.DueAt, at(2026, 3, 26, 9, 0))
		eq(t, "step 1 due after the restart", d.Steps[0].DueAt, at(2026, 3, 23, 9, 0))

		e.must(e.act(code, officeOfficer, at(2026, 3, 20, 10, 0), map[string]any{"action": "complete_step"}), 200)
		d = e.get(code)
		eq(t, "step 2 due", d.Steps[1].DueAt, at(2026, 3, 24, 10, 0))
		if d.Steps[0].Verdict != "early" || d.HolderCode != dept {
			t.Fatalf("step 1 verdict %s, holder %s", d.Steps[0].Verdict, d.HolderCode)
		}

		e.must(e.act(code, deptOfficer, at(2026, 3, 23, 10, 0), map[string]any{"action": "request_payment", "amount": 50000, "reason": "Lệ phí"}), 200)
		e.must(e.act(code, clerk, at(2026, 3, 24, 14, 0), map[string]any{"action": "receive_payment"}), 200)
		d = e.get(code)
		eq(t, "due after the payment pause", d.DueAt, at(2026, 3, 27, 12, 0))
		eq(t, "step 2 due after the payment pause", d.Steps[1].DueAt, at(2026, 3, 25, 14, 0))

		e.must(e.act(code, deptOfficer, at(2026, 3, 25, 15, 0), map[string]any{"action": "complete_step"}), 200)
		d = e.get(code)
		eq(t, "step 3 due", d.Steps[2].DueAt, at(2026, 3, 26, 15, 0))
		if d.Steps[1].Verdict != "late" {
			t.Fatalf("step 2 verdict %s", d.Steps[1].Verdict)
		}

		// The apology three working hours before the deadline is accepted but late.
		e.must(e.act(code, rootOfficer, at(2026, 3, 27, 9, 0), map[string]any{"action": "extend", "reason": "Cần xác minh thêm",
			"new_due_at": at(2026, 4, 1, 17, 0).Format(time.RFC3339)}), 200)
		d = e.get(code)
		eq(t, "promised", d.PromisedAt, at(2026, 4, 1, 17, 0))
		eq(t, "legal deadline kept", d.DueAt, at(2026, 3, 27, 12, 0))
		if d.Extension == nil || !d.Extension.Late {
			t.Fatalf("extension %+v", d.Extension)
		}
		p := e.must(e.act(code, rootOfficer, at(2026, 3, 27, 10, 0), map[string]any{"action": "extend", "reason": "x",
			"new_due_at": at(2026, 4, 2, 17, 0).Format(time.RFC3339)}), 409).problem(t)
		if p.Code != "already_extended" {
			t.Fatalf("second extend: %s", p.Code)
		}

		e.must(e.act(code, rootOfficer, at(2026, 3, 30, 10, 0), map[string]any{"action": "complete_step"}), 422)
		e.must(e.act(code, rootOfficer, at(2026, 3, 30, 10, 0), map[string]any{"action": "complete_step", "result": "approved"}), 200)
		e.must(e.act(code, clerk, at(2026, 3, 31, 9, 0), map[string]any{"action": "return_result", "method": "postal"}), 200)
		d = e.get(code)
		if d.Status != "returned" || d.Verdict != "late" || !d.Late || d.Result != "approved" || d.Steps[2].Verdict != "late" {
			t.Fatalf("at the end: %+v", d)
		}
		eq(t, "returned", d.ReturnedAt, at(2026, 3, 31, 9, 0))
		wantHand := []string{center + ">" + office + ":", office + ">" + dept + ":early", dept + ">" + root + ":late", root + ">" + center + ":late"}
		if len(d.Handoffs) != 4 {
			t.Fatalf("handoffs %+v", d.Handoffs)
		}
		for i, h := range d.Handoffs {
			if got := h.FromUnit + ">" + h.ToUnit + ":"; got+h.Verdict != wantHand[i] && got != wantHand[i] {
				t.Errorf("handoff %d: %s%s, want %s", i, got, h.Verdict, wantHand[i])
			}
		}
		if len(d.Pauses) != 2 || d.Pauses[0].Kind != "supplement" || d.Pauses[1].Kind != "payment" || d.Pauses[1].EndedAt == nil {
			t.Fatalf("pauses %+v", d.Pauses)
		}
		if len(d.History) != 11 { // intake and ten accepted actions
			t.Fatalf("%d history rows", len(d.History))
		}
		e.must(e.do(http.MethodGet, "/api/v1/public/dossiers/"+code+"?pin="+pin, "", nil), 200).json(t, &pub)
		if !pub.CanRate || pub.Supplement != nil {
			t.Fatalf("public view after the result: %+v", pub)
		}
		e.must(e.do(http.MethodPost, "/api/v1/public/dossiers/"+code+"/feedback", "", map[string]any{"pin": pin, "rating": 4, "comment": "Nhanh"}), 201)
		if p := e.must(e.do(http.MethodPost, "/api/v1/public/dossiers/"+code+"/feedback", "", map[string]any{"pin": pin, "rating": 5}), 409).problem(t); p.Code != "already_rated" {
			t.Fatalf("second rating: %s", p.Code)
		}
		var types []string
		if err := st.DB().Table("outbox").Where("dossier_code = ?", code).Order("seq").Pluck("type", &types).Error; err != nil {
			t.Fatal(err)
		}
		want := "[received transferred supplement_requested supplement_received step_completed payment_requested payment_received step_completed extended step_completed processed completed_late returned]"
		if fmt.Sprint(types) != want {
			t.Fatalf("events %v", types)
		}
	})
}

func TestWithdrawAndRefuse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		clerk := e.token(domain.RoleClerk, center)
		w := e.intake(intakeBody("2.000635", "counter")).Code
		e.must(e.act(w, clerk, at(2026, 3, 16, 10, 0), map[string]any{"action": "withdraw"}), 422) // reason required
		e.must(e.act(w, clerk, at(2026, 3, 16, 10, 0), map[string]any{"action": "withdraw", "reason": "Công dân rút hồ sơ"}), 200)
		if d := e.get(w); d.Status != "withdrawn" || len(d.AllowedActions) != 0 {
			t.Fatalf("withdrawn dossier %+v", d)
		}
		p := e.must(e.act(w, clerk, at(2026, 3, 16, 11, 0), map[string]any{"action": "transfer"}), 409).problem(t)
		if p.Code != "invalid_transition" || p.Allowed == nil || len(*p.Allowed) != 0 {
			t.Fatalf("transition on a final status: %+v", p)
		}
		r := e.intake(intakeBody("1.001612", "online")).Code
		e.must(e.act(r, clerk, at(2026, 3, 16, 10, 0), map[string]any{"action": "refuse", "reason": "Sai thủ tục"}), 200)
		if d := e.get(r); d.Status != "refused" || d.DueAt != nil {
			t.Fatalf("refused dossier %+v", d)
		}
		// A stale version, an unknown action and a body too big change nothing.
		a := e.intake(intakeBody("1.001612", "online")).Code
		before := e.rows()
		e.clock.Set(at(2026, 3, 16, 10, 0))
		p = e.must(e.do(http.MethodPost, "/api/v1/dossiers/"+a+"/transitions", clerk, map[string]any{"action": "accept", "version": 7}), 409).problem(t)
		if p.Code != "version_conflict" {
			t.Fatalf("stale version: %s", p.Code)
		}
		e.must(e.do(http.MethodPost, "/api/v1/dossiers/"+a+"/transitions", clerk, map[string]any{"action": "dance", "version": 1}), 422)
		e.must(e.do(http.MethodPost, "/api/v1/dossiers/"+a+"/transitions", clerk, map[string]any{"action": "accept"}), 422)
		big := make([]string, 0, 2000)
		for i := 0; i < 2000; i++ {
			big = append(big, fmt.Sprintf("%0600d", i))
		}
		e.must(e.do(http.MethodPost, "/api/v1/dossiers/"+a+"/transitions", clerk, map[string]any{"action": "accept", "version": 1, "items": big}), 413)
		e.must(e.do(http.MethodPost, "/api/v1/dossiers/000.00.10.H29-260316-9999/transitions", clerk, map[string]any{"action": "accept", "version": 1}), 404)
		if after := e.rows(); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("rows changed: %v -> %v", before, after)
		}
		e.must(e.act(a, clerk, at(2026, 3, 16, 10, 0), map[string]any{"action": "accept"}), 200)
		if d := e.get(a); d.Status != "received" {
			t.Fatalf("accepted: %s", d.Status)
		} else {
			eq(t, "online dossier's deadline from acceptance", d.DueAt, at(2026, 3, 19, 10, 0))
		}
	})
}

// TestConcurrentTransitionsOneWinner races 50 clerks on one dossier.
func TestConcurrentTransitionsOneWinner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		clerk := e.token(domain.RoleClerk, center)
		code := e.intake(intakeBody("1.001612", "counter")).Code
		outbox, history := e.count("outbox"), e.count("dossier_history")
		const n = 50
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res := e.do(http.MethodPost, "/api/v1/dossiers/"+code+"/transitions", clerk, map[string]any{"action": "transfer", "version": 1})
				if res.Status == http.StatusConflict && res.problem(t).Code != "version_conflict" {
					t.Errorf("conflict code %s", res.Body)
				}
				statuses <- res.Status
			}()
		}
		wg.Wait()
		close(statuses)
		won := 0
		for s := range statuses {
			switch s {
			case 200:
				won++
			case 409:
			default:
				t.Errorf("status %d", s)
			}
		}
		if won != 1 {
			t.Fatalf("%d winners", won)
		}
		if e.count("outbox") != outbox+1 || e.count("dossier_history") != history+1 || e.get(code).Version != 2 {
			t.Fatal("the race left more than one change")
		}
	})
}

// TestUnsupplementedDossiersStop: 15 working days after the supplement
// request, the sweep stops the dossier, not a minute before.
func TestUnsupplementedDossiersStop(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		code := e.intake(intakeBody("1.001612", "counter")).Code
		e.must(e.act(code, e.token(domain.RoleClerk, center), at(2026, 4, 14, 10, 0), map[string]any{"action": "transfer"}), 200)
		e.must(e.act(code, e.token(domain.RoleOfficer, office), at(2026, 4, 14, 10, 0), map[string]any{"action": "request_supplement",
			"items": []string{"A"}, "reason": "Thiếu"}), 200)
		// 15 working days from Tuesday 14/4 10:00, with 27/4, 30/4 and 1/5 off: Friday 8/5 10:00.
		for _, c := range []struct {
			now  time.Time
			want int
		}{{at(2026, 5, 8, 9, 59), 0}, {at(2026, 5, 8, 10, 0), 1}, {at(2026, 5, 8, 10, 1), 0}} {
			e.clock.Set(c.now)
			n, err := e.svc.StopUnsupplemented(context.Background())
			if err != nil || n != c.want {
				t.Fatalf("at %v: stopped %d (%v), want %d", c.now, n, err, c.want)
			}
		}
		if d := e.get(code); d.Status != "stopped" || d.History[len(d.History)-1].Action != "stop" {
			t.Fatalf("after the sweep: %s", d.Status)
		}
	})
}

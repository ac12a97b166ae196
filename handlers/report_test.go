package handlers_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/xuri/excelize/v2"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// figs is one row (or the total) of the compliance report as a client reads it.
type figs struct {
	AgencyCode                *string  `json:"agency_code"`
	AgencyName                *string  `json:"agency_name"`
	ProcedureCode             *string  `json:"procedure_code"`
	ProcedureName             *string  `json:"procedure_name"`
	Received                  int64    `json:"received"`
	ReceivedOnline            int64    `json:"received_online"`
	ReceivedPostal            int64    `json:"received_postal"`
	ReceivedByPost            int64    `json:"received_by_post"`
	CarriedOver               int64    `json:"carried_over"`
	Processed                 int64    `json:"processed"`
	ProcessedEarly            int64    `json:"processed_early"`
	ProcessedOnTime           int64    `json:"processed_on_time"`
	ProcessedLate             int64    `json:"processed_late"`
	Withdrawn                 int64    `json:"withdrawn"`
	Stopped                   int64    `json:"stopped"`
	RefusedAfterReception     int64    `json:"refused_after_reception"`
	InProgress                int64    `json:"in_progress"`
	InProgressOnTime          int64    `json:"in_progress_on_time"`
	InProgressOverdue         int64    `json:"in_progress_overdue"`
	Paused                    int64    `json:"paused"`
	OnTimeRate                *float64 `json:"on_time_rate"`
	AvgProcessingWorkingHours *float64 `json:"avg_processing_working_hours"`
	OnlineShare               *float64 `json:"online_share"`
	PostalShare               *float64 `json:"postal_share"`
	ReturnedPostal            int64    `json:"returned_postal"`
	Apologies                 int64    `json:"apologies"`
	ApologiesLate             int64    `json:"apologies_late"`
	Ratings                   int64    `json:"ratings"`
	RatingsSatisfied          int64    `json:"ratings_satisfied"`
	SatisfiedShare            *float64 `json:"satisfied_share"`
	OnlineProcedures          int64    `json:"online_procedures"`
	OnlineProceduresUsed      int64    `json:"online_procedures_used"`
}

type complianceDoc struct {
	From    string    `json:"from"`
	To      string    `json:"to"`
	Period  string    `json:"period"`
	GroupBy string    `json:"group_by"`
	AsOf    time.Time `json:"as_of"`
	Rows    []figs    `json:"rows"`
	Total   figs      `json:"total"`
}

type overdueDoc struct {
	AsOf  time.Time `json:"as_of"`
	Items []struct {
		Code                string     `json:"code"`
		ProcedureCode       string     `json:"procedure_code"`
		AgencyCode          string     `json:"agency_code"`
		HolderCode          string     `json:"holder_code"`
		Status              string     `json:"status"`
		Step                *string    `json:"step"`
		Kind                string     `json:"kind"`
		DueAt               time.Time  `json:"due_at"`
		PromisedAt          *time.Time `json:"promised_at"`
		OverdueWorkingHours float64    `json:"overdue_working_hours"`
		Extended            bool       `json:"extended"`
		ApologyLate         bool       `json:"apology_late"`
	} `json:"items"`
	NextCursor *string `json:"next_cursor"`
}

func fp(v float64) *float64 { return &v }
func sp(s string) *string   { return &s }

// shares fills the shares of expected figures from their counts, as the
// contract defines them, rounded like the service.
func (f figs) shares() figs {
	ratio := func(n, d int64) *float64 {
		if d == 0 {
			return nil
		}
		return fp(math.Round(float64(n)/float64(d)*10000) / 10000)
	}
	f.InProgressOnTime = f.InProgress - f.Paused - f.InProgressOverdue
	f.OnTimeRate = ratio(f.ProcessedEarly+f.ProcessedOnTime, f.Processed)
	f.OnlineShare = ratio(f.ReceivedOnline, f.Received)
	f.PostalShare = ratio(f.ReceivedByPost, f.Received)
	f.SatisfiedShare = ratio(f.RatingsSatisfied, f.Ratings)
	return f
}

func (e *env) compliance(token, query string) complianceDoc {
	e.t.Helper()
	var doc complianceDoc
	e.must(e.do(http.MethodGet, "/api/v1/reports/compliance?"+query, token, nil), http.StatusOK).json(e.t, &doc)
	for _, r := range append(doc.Rows, doc.Total) {
		if r.CarriedOver+r.Received != r.Processed+r.Withdrawn+r.Stopped+r.InProgress {
			e.t.Fatalf("%s: the identity does not hold: %+v", query, r)
		}
	}
	return doc
}

const (
	procA = "2.000635" // 4 working hours, one step held by dept, the clock pauses; not online
	procB = "1.001612" // 3 working days, office then dept, the clock restarts; fully online
)

// reportData builds the hand-worked data set of TestReports. Every time is
// local; the 2026 calendar has Tết off 16-20/2 and nothing else until 27/4.
// Both procedures are led by dept. Codes by name:
//
//	D0  A counter 23/2 09:00, result 23/2 10:00 (on time, 60 min)
//	D1  A counter Fri 27/2 16:00 (due Mon 2/3 11:00), result 2/3 10:00 on time (180 min), returned 3/3
//	D2  A counter 3/3 16:00, result by post (due 4/3 11:00); result 3/3 16:30 early (30 min); returned by post 4/3; rated 5 on 5/3
//	D3  B online, accepted 2/3 09:00 (due Thu 5/3 09:00); step 1 late; late apology 5/3 11:00 (new date 10/3 17:00);
//	    result 9/3 14:00 late (44 h); returned 10/3; rated 3 on 11/3
//	D4  B by post 25/3 10:00 (due 30/3 10:00); supplement asked 26/3 09:00; received 2/4 09:00 (restart: due Tue 7/4 09:00, step 1 Mon 6/4 09:00)
//	D5  A counter 26/3 15:00 (due 27/3 10:00; step 27/3 10:10), never finished
//	D6  A counter Tue 31/3 16:30 (due Wed 1/4 11:30), withdrawn 2/4 09:00
//	D7  B counter Fri 13/3 10:00 (due Wed 18/3 10:00), withdrawn 16/3 09:00
//	D8  A counter 9/3 08:00, refused 9/3 08:30 (after reception)
//	D9  B online 10/3, refused before acceptance: never received
//	D10 B counter 16/3 09:00; payment asked 17/3; stopped 18/3 10:00
//	D11 A counter Mon 30/3 08:00 (due 12:00); payment asked 30/3 09:00, paid 1/4 09:00 (due 1/4 12:00); result 1/4 11:00 on time (180 min)
//	D12 B counter Wed 25/2 09:00 (due Mon 2/3 09:00; step 1 Fri 27/2 09:30), never finished
//	D13 A counter Fri 10/4 16:00 (due Mon 13/4 11:00)
func (e *env) reportData() map[string]string {
	e.t.Helper()
	e.clock.Set(at(2026, 1, 5, 8, 0))
	e.catalogue()
	admin := e.token(domain.RoleAdmin, root)
	codes := map[string]string{}
	intake := func(name string, when time.Time, proc, channel, delivery string) string {
		e.clock.Set(when)
		body := intakeBody(proc, channel)
		body["delivery"] = delivery
		var d dossierDoc
		e.must(e.do(http.MethodPost, "/api/v1/dossiers", e.token(domain.RoleClerk, center), body), http.StatusCreated).json(e.t, &d)
		codes[name] = d.Code
		codes[name+".pin"] = d.LookupPIN
		return d.Code
	}
	act := func(code string, when time.Time, action string, extra ...any) {
		e.t.Helper()
		body := map[string]any{"action": action}
		for i := 0; i+1 < len(extra); i += 2 {
			body[extra[i].(string)] = extra[i+1]
		}
		e.must(e.act(code, admin, when, body), http.StatusOK)
	}
	rate := func(name string, when time.Time, rating int) {
		e.clock.Set(when)
		e.must(e.do(http.MethodPost, "/api/v1/public/dossiers/"+codes[name]+"/feedback", "",
			map[string]any{"pin": codes[name+".pin"], "rating": rating}), http.StatusCreated)
	}
	supplement := []any{"items", []string{"Bản sao giấy phép"}, "reason", "Thiếu giấy phép"}
	payment := []any{"amount", 50000, "reason", "Lệ phí"}

	d := intake("D0", at(2026, 2, 23, 9, 0), procA, "counter", "counter")
	act(d, at(2026, 2, 23, 9, 10), "transfer")
	act(d, at(2026, 2, 23, 10, 0), "complete_step", "result", "approved")

	d12 := intake("D12", at(2026, 2, 25, 9, 0), procB, "counter", "counter")
	act(d12, at(2026, 2, 25, 9, 30), "transfer")

	d = intake("D1", at(2026, 2, 27, 16, 0), procA, "counter", "counter")
	act(d, at(2026, 3, 2, 8, 30), "transfer")
	act(d, at(2026, 3, 2, 10, 0), "complete_step", "result", "approved")
	act(d, at(2026, 3, 3, 9, 0), "return_result", "method", "counter")

	d = intake("D3", at(2026, 3, 1, 10, 0), procB, "online", "online")
	act(d, at(2026, 3, 2, 9, 0), "accept")
	act(d, at(2026, 3, 2, 10, 0), "transfer")
	act(d, at(2026, 3, 5, 10, 0), "complete_step")
	act(d, at(2026, 3, 5, 11, 0), "extend", "reason", "Cần xác minh thêm", "new_due_at", at(2026, 3, 10, 17, 0).Format(time.RFC3339))
	act(d, at(2026, 3, 9, 14, 0), "complete_step", "result", "approved")
	act(d, at(2026, 3, 10, 9, 0), "return_result", "method", "online")
	rate("D3", at(2026, 3, 11, 9, 0), 3)

	d = intake("D2", at(2026, 3, 3, 16, 0), procA, "counter", "postal")
	act(d, at(2026, 3, 3, 16, 10), "transfer")
	act(d, at(2026, 3, 3, 16, 30), "complete_step", "result", "denied")
	act(d, at(2026, 3, 4, 9, 0), "return_result", "method", "postal")
	rate("D2", at(2026, 3, 5, 10, 0), 5)

	d = intake("D8", at(2026, 3, 9, 8, 0), procA, "counter", "counter")
	act(d, at(2026, 3, 9, 8, 30), "refuse", "reason", "Không thuộc thẩm quyền")

	d = intake("D9", at(2026, 3, 10, 8, 0), procB, "online", "online")
	act(d, at(2026, 3, 10, 9, 0), "refuse", "reason", "Hồ sơ không hợp lệ")

	d = intake("D7", at(2026, 3, 13, 10, 0), procB, "counter", "counter")
	act(d, at(2026, 3, 16, 9, 0), "withdraw", "reason", "Công dân rút hồ sơ")

	d = intake("D10", at(2026, 3, 16, 9, 0), procB, "counter", "counter")
	act(d, at(2026, 3, 16, 9, 30), "transfer")
	act(d, at(2026, 3, 17, 10, 0), "request_payment", payment...)
	act(d, at(2026, 3, 18, 10, 0), "stop", "reason", "Không nộp lệ phí")

	d4 := intake("D4", at(2026, 3, 25, 10, 0), procB, "postal", "counter")
	act(d4, at(2026, 3, 25, 10, 30), "transfer")
	act(d4, at(2026, 3, 26, 9, 0), "request_supplement", supplement...)

	d5 := intake("D5", at(2026, 3, 26, 15, 0), procA, "counter", "counter")
	act(d5, at(2026, 3, 26, 15, 10), "transfer")

	d11 := intake("D11", at(2026, 3, 30, 8, 0), procA, "counter", "counter")
	act(d11, at(2026, 3, 30, 8, 10), "transfer")
	act(d11, at(2026, 3, 30, 9, 0), "request_payment", payment...)

	d6 := intake("D6", at(2026, 3, 31, 16, 30), procA, "counter", "counter")

	act(d11, at(2026, 4, 1, 9, 0), "receive_payment")
	act(d11, at(2026, 4, 1, 11, 0), "complete_step", "result", "approved")
	act(d4, at(2026, 4, 2, 9, 0), "receive_supplement")
	act(d6, at(2026, 4, 2, 9, 0), "withdraw", "reason", "Công dân rút hồ sơ")
	intake("D13", at(2026, 4, 10, 16, 0), procA, "counter", "counter")
	e.clock.Set(at(2026, 4, 10, 17, 30))
	return codes
}

// TestReports checks every figure of a hand-worked data set, on both
// databases, through the router: a calendar month, a statistical month,
// the month in progress, both groupings, the overdue list and its pages,
// the exports, who may see what, and bad input.
func TestReports(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		codes := e.reportData()
		admin := e.token(domain.RoleAdmin, root)
		deptSup := e.token(domain.RoleSupervisor, dept)

		// March 2026, by procedure (worked out in reportData's comment).
		a := figs{ProcedureCode: sp(procA), ProcedureName: sp("Cấp bản sao trích lục hộ tịch"),
			CarriedOver: 1, Received: 5, ReceivedByPost: 1, Processed: 2, ProcessedEarly: 1, ProcessedOnTime: 1,
			AvgProcessingWorkingHours: fp(1.75), Stopped: 1, RefusedAfterReception: 1, InProgress: 3, Paused: 1,
			InProgressOverdue: 1, ReturnedPostal: 1, Ratings: 1, RatingsSatisfied: 1}.shares()
		b := figs{ProcedureCode: sp(procB), ProcedureName: sp("Đăng ký thành lập hộ kinh doanh"),
			CarriedOver: 1, Received: 4, ReceivedOnline: 1, ReceivedPostal: 1, ReceivedByPost: 1, Processed: 1, ProcessedLate: 1,
			AvgProcessingWorkingHours: fp(44), Withdrawn: 1, Stopped: 1, InProgress: 2, Paused: 1, InProgressOverdue: 1,
			Apologies: 1, ApologiesLate: 1, Ratings: 1, OnlineProcedures: 1, OnlineProceduresUsed: 1}.shares()
		total := figs{ProcedureCode: sp(""), ProcedureName: sp("Tổng cộng"),
			CarriedOver: 2, Received: 9, ReceivedOnline: 1, ReceivedPostal: 1, ReceivedByPost: 2, Processed: 3, ProcessedEarly: 1,
			ProcessedOnTime: 1, ProcessedLate: 1, AvgProcessingWorkingHours: fp(15.83), Withdrawn: 1, Stopped: 2,
			RefusedAfterReception: 1, InProgress: 5, Paused: 2, InProgressOverdue: 2, ReturnedPostal: 1, Apologies: 1,
			ApologiesLate: 1, Ratings: 2, RatingsSatisfied: 1, OnlineProcedures: 1, OnlineProceduresUsed: 1}.shares()
		march := e.compliance(admin, "period=2026-03&group_by=procedure")
		if march.From != "2026-03-01" || march.To != "2026-03-31" || march.Period != "2026-03" || march.GroupBy != "procedure" ||
			!march.AsOf.Equal(at(2026, 4, 1, 0, 0)) {
			t.Fatalf("march header: %+v", march)
		}
		if diff := cmp.Diff([]figs{b, a}, march.Rows); diff != "" {
			t.Errorf("March by procedure (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(total, march.Total); diff != "" {
			t.Errorf("March total (-want +got):\n%s", diff)
		}
		// The same by agency: one row, the lead agency; from/to gives the same.
		byAgency := total
		byAgency.ProcedureCode, byAgency.ProcedureName = nil, nil
		byAgency.AgencyCode, byAgency.AgencyName = sp(dept), sp("Sở Kế hoạch và Đầu tư")
		for _, q := range []string{"period=2026-03", "from=2026-03-01&to=2026-03-31&group_by=agency", "period=2026-03&agency_code=" + root,
			"period=2026-03&agency_code=" + dept} {
			got := e.compliance(admin, q)
			if diff := cmp.Diff([]figs{byAgency}, got.Rows); diff != "" {
				t.Errorf("%s (-want +got):\n%s", q, diff)
			}
		}

		// The statistical month 15/2-14/3, at midnight 15/3.
		stat := e.compliance(admin, "period=stat:2026-03&group_by=procedure")
		sa := figs{ProcedureCode: sp(procA), ProcedureName: sp("Cấp bản sao trích lục hộ tịch"),
			Received: 4, ReceivedByPost: 1, Processed: 3, ProcessedEarly: 1, ProcessedOnTime: 2, AvgProcessingWorkingHours: fp(1.5),
			Stopped: 1, RefusedAfterReception: 1, ReturnedPostal: 1, Ratings: 1, RatingsSatisfied: 1}.shares()
		sb := figs{ProcedureCode: sp(procB), ProcedureName: sp("Đăng ký thành lập hộ kinh doanh"),
			Received: 3, ReceivedOnline: 1, Processed: 1, ProcessedLate: 1, AvgProcessingWorkingHours: fp(44), InProgress: 2,
			InProgressOverdue: 1, Apologies: 1, ApologiesLate: 1, Ratings: 1, OnlineProcedures: 1, OnlineProceduresUsed: 1}.shares()
		if stat.From != "2026-02-15" || stat.To != "2026-03-14" || !stat.AsOf.Equal(at(2026, 3, 15, 0, 0)) {
			t.Fatalf("stat header: %+v", stat)
		}
		if diff := cmp.Diff([]figs{sb, sa}, stat.Rows); diff != "" {
			t.Errorf("stat:2026-03 (-want +got):\n%s", diff)
		}

		// April, not over: the end is the end of today (Friday 10/4).
		apr := e.compliance(admin, "period=2026-04&group_by=procedure")
		aa := figs{ProcedureCode: sp(procA), ProcedureName: sp("Cấp bản sao trích lục hộ tịch"),
			CarriedOver: 3, Received: 1, Processed: 1, ProcessedOnTime: 1, AvgProcessingWorkingHours: fp(3), Withdrawn: 1,
			InProgress: 2, InProgressOverdue: 1}.shares()
		ab := figs{ProcedureCode: sp(procB), ProcedureName: sp("Đăng ký thành lập hộ kinh doanh"),
			CarriedOver: 2, InProgress: 2, InProgressOverdue: 2, OnlineProcedures: 1}.shares()
		if !apr.AsOf.Equal(at(2026, 4, 11, 0, 0)) {
			t.Fatalf("april as_of %v", apr.AsOf)
		}
		if diff := cmp.Diff([]figs{ab, aa}, apr.Rows); diff != "" {
			t.Errorf("April (-want +got):\n%s", diff)
		}
		// Two days: 31/3-1/4 straddles the month's edge (D6 received the 31st, D11 paid and processed the 1st).
		two := e.compliance(admin, "from=2026-03-31&to=2026-04-01&group_by=procedure")
		// D5 and D6 (due 1/4 11:30) are both overdue at the end of 1/4.
		ta := figs{ProcedureCode: sp(procA), ProcedureName: sp("Cấp bản sao trích lục hộ tịch"),
			CarriedOver: 2, Received: 1, Processed: 1, ProcessedOnTime: 1, AvgProcessingWorkingHours: fp(3),
			InProgress: 2, InProgressOverdue: 2}.shares()
		if diff := cmp.Diff(ta, two.Rows[1]); diff != "" {
			t.Errorf("31/3-1/4 (-want +got):\n%s", diff)
		}

		if got := e.compliance(deptSup, "period=2026-03"); !cmp.Equal([]figs{byAgency}, got.Rows) {
			t.Errorf("dept supervisor: %+v", got.Rows)
		}
		// Scope: the office supervises none of the lead agencies; the foreign one nothing here.
		if got := e.compliance(e.token(domain.RoleSupervisor, office), "period=2026-03"); len(got.Rows) != 0 || got.Total.Received != 0 {
			t.Errorf("office supervisor sees %+v", got.Rows)
		}
		for _, c := range []struct {
			token, query string
			status       int
			code, field  string
		}{
			{e.token(domain.RoleSupervisor, foreign), "period=2026-03&agency_code=" + dept, 403, "forbidden", ""},
			{deptSup, "period=2026-03&agency_code=" + root, 403, "forbidden", ""},
			{e.token(domain.RoleClerk, center), "period=2026-03", 403, "forbidden", ""},
			{e.token(domain.RoleOfficer, dept), "period=2026-03", 403, "forbidden", ""},
			{admin, "period=2026-13", 422, "validation_failed", "period"},
			{admin, "period=Q1-2026", 422, "validation_failed", "period"},
			{admin, "period=2026-03&from=2026-03-01&to=2026-03-02", 422, "validation_failed", "period"},
			{admin, "", 422, "validation_failed", "from"},
			{admin, "from=2026-03-01", 422, "validation_failed", "to"},
			{admin, "from=2026-03-02&to=2026-03-01", 422, "validation_failed", "from"},
			{admin, "from=2020-01-01&to=2025-01-01", 422, "validation_failed", "to"},
			{admin, "from=2026-02-30&to=2026-03-01", 422, "validation_failed", "from"},
			{admin, "from=2026-05-01&to=2026-05-31", 422, "validation_failed", "from"},
			{admin, "period=2026-03&agency_code=000.99.99.H29", 422, "validation_failed", "agency_code"},
			{admin, "period=2026-03&agency_code=xyz", 422, "validation_failed", "agency_code"},
			{admin, "period=2026-03&group_by=district", 422, "validation_failed", "group_by"},
			{admin, "period=2026-03&format=pdf", 422, "validation_failed", "format"},
		} {
			res := e.do(http.MethodGet, "/api/v1/reports/compliance?"+c.query, c.token, nil)
			p := e.must(res, c.status).problem(t)
			if p.Code != c.code || (c.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != c.field)) {
				t.Errorf("%s: %+v", c.query, p)
			}
		}

		// The overdue list at Friday 10/4 17:30, four to a page.
		var page overdueDoc
		e.must(e.do(http.MethodGet, "/api/v1/reports/overdue?limit=4", deptSup, nil), 200).json(t, &page)
		if page.NextCursor == nil || len(page.Items) != 4 {
			t.Fatalf("first page: %+v", page)
		}
		var rest overdueDoc
		e.must(e.do(http.MethodGet, "/api/v1/reports/overdue?limit=4&cursor="+*page.NextCursor, deptSup, nil), 200).json(t, &rest)
		if rest.NextCursor != nil || len(rest.Items) != 2 {
			t.Fatalf("second page: %+v", rest)
		}
		type line struct {
			Code, Kind, Step, Holder string
			Due                      time.Time
			Hours                    float64
		}
		var got []line
		for _, it := range append(page.Items, rest.Items...) {
			l := line{Code: it.Code, Kind: it.Kind, Holder: it.HolderCode, Due: it.DueAt, Hours: it.OverdueWorkingHours}
			if it.Step != nil {
				l.Step = *it.Step
			}
			got = append(got, l)
		}
		want := []line{
			{codes["D12"], "step", "Thẩm định", office, at(2026, 2, 27, 9, 30), 246.5},
			{codes["D12"], "dossier", "", office, at(2026, 3, 2, 9, 0), 239},
			{codes["D5"], "dossier", "", dept, at(2026, 3, 27, 10, 0), 86},
			{codes["D5"], "step", "Xử lý hồ sơ", dept, at(2026, 3, 27, 10, 10), 85.83},
			{codes["D4"], "step", "Thẩm định", office, at(2026, 4, 6, 9, 0), 39},
			{codes["D4"], "dossier", "", office, at(2026, 4, 7, 9, 0), 31},
		}
		if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
			t.Errorf("overdue list (-want +got):\n%s", diff)
		}
		// Filters: the holder, the procedure, an agency's subtree, as_of.
		count := func(token, q string) int {
			var d overdueDoc
			e.must(e.do(http.MethodGet, "/api/v1/reports/overdue?"+q, token, nil), 200).json(t, &d)
			return len(d.Items)
		}
		for _, c := range []struct {
			token, q string
			n        int
		}{
			{admin, "holder_code=" + office, 4},
			{admin, "procedure_code=" + procA, 2},
			{admin, "agency_code=" + office, 4}, // D12 and D4 are held by the office
			{e.token(domain.RoleSupervisor, office), "", 4},
			{admin, "as_of=" + url.QueryEscape(at(2026, 3, 1, 0, 0).Format(time.RFC3339)), 1}, // only D12's step had passed
		} {
			if n := count(c.token, c.q); n != c.n {
				t.Errorf("overdue?%s: %d items, want %d", c.q, n, c.n)
			}
		}
		for _, c := range []struct {
			token, q string
			status   int
		}{
			{e.token(domain.RoleSupervisor, foreign), "agency_code=" + dept, 403},
			{e.token(domain.RoleClerk, center), "", 403},
			{admin, "agency_code=000.99.99.H29", 422},
			{admin, "as_of=yesterday", 422},
			{admin, "as_of=" + url.QueryEscape(at(2026, 4, 13, 11, 1).Format(time.RFC3339)), 422}, // in the future
			{admin, "as_of=" + url.QueryEscape(at(1999, 12, 31, 0, 0).Format(time.RFC3339)), 422},
			{admin, "cursor=bad", 422},
			{admin, "limit=501", 422},
			{admin, "format=doc", 422},
			{admin, "format=csv&limit=4", 422},
		} {
			e.must(e.do(http.MethodGet, "/api/v1/reports/overdue?"+c.q, c.token, nil), c.status).problem(t)
		}

		// Exports read back with the same numbers.
		checkExports(t, e, admin, march)
		res := e.must(e.do(http.MethodGet, "/api/v1/reports/overdue?format=csv", deptSup, nil), 200)
		if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="ho-so-qua-han_2026-04-10T1730.csv"` {
			t.Errorf("overdue csv: %s", cd)
		}
		// CSV for machines: status codes, RFC 3339 times, dot decimals; names beside codes.
		recs := readCSV(t, res.Body)
		if len(recs) != 7 || recs[0][0] != "Mã hồ sơ" || recs[1][0] != codes["D12"] || recs[1][14] != "246.5" ||
			recs[0][4] != "Cơ quan chủ trì" || recs[1][4] == "" || recs[1][2] == "" || recs[1][6] == "" {
			t.Errorf("overdue csv: %q", recs)
		}
		if _, ok := domain.ParseStatus(recs[1][9]); !ok {
			t.Errorf("overdue csv status %q, want a status code", recs[1][9])
		}
		if _, err := time.Parse(time.RFC3339, recs[1][12]); err != nil || !strings.HasSuffix(recs[1][12], "+07:00") {
			t.Errorf("overdue csv due time %q, want RFC 3339 in +07:00", recs[1][12])
		}
		// XLSX for people: statuses in Vietnamese, names, date cells shown dd/mm/yyyy hh:mm.
		res = e.must(e.do(http.MethodGet, "/api/v1/reports/overdue?format=xlsx", deptSup, nil), 200)
		rows := readXLSX(t, res.Body)
		if len(rows) != 7 || rows[6][0] != codes["D4"] || rows[6][14] != "31" || rows[1][4] != recs[1][4] {
			t.Errorf("overdue xlsx: %q", rows)
		}
		due, _ := time.Parse(time.RFC3339, recs[1][12])
		if rows[1][9] == recs[1][9] || !strings.ContainsAny(rows[1][9], "àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữđ") {
			t.Errorf("overdue xlsx status %q (csv %q)", rows[1][9], recs[1][9])
		}
		if _, err := strconv.ParseFloat(rows[1][12], 64); err != nil {
			t.Errorf("due cell holds %q, want a date serial number", rows[1][12])
		}
		x, err := excelize.OpenReader(bytes.NewReader(res.Body))
		if err != nil {
			t.Fatal(err)
		}
		if shown, _ := x.GetCellValue(x.GetSheetList()[0], "M2"); shown != due.In(vn).Format("02/01/2006 15:04") {
			t.Errorf("due cell shows %q, want %q", shown, due.In(vn).Format("02/01/2006 15:04"))
		}
		x.Close()

		// The roll-ups the commands kept equal a recount from the history.
		checkRollups(t, st)
	})
}

// checkExports downloads the March report as CSV and XLSX and compares every
// cell with the JSON answer.
func checkExports(t *testing.T, e *env, token string, doc complianceDoc) {
	t.Helper()
	want := [][]string{}
	row := func(f figs) []string {
		n := func(v int64) string { return strconv.FormatInt(v, 10) }
		r := func(v *float64) string {
			if v == nil {
				return ""
			}
			return strconv.FormatFloat(*v, 'f', 4, 64)
		}
		h := ""
		if f.AvgProcessingWorkingHours != nil {
			h = strconv.FormatFloat(*f.AvgProcessingWorkingHours, 'f', -1, 64)
		}
		return []string{*f.ProcedureCode, *f.ProcedureName, n(f.CarriedOver), n(f.Received), n(f.ReceivedOnline), n(f.ReceivedPostal),
			n(f.Processed), n(f.ProcessedEarly), n(f.ProcessedOnTime), n(f.ProcessedLate), n(f.Withdrawn), n(f.Stopped),
			n(f.RefusedAfterReception), n(f.InProgress), n(f.InProgressOnTime), n(f.InProgressOverdue), n(f.Paused),
			r(f.OnTimeRate), h, r(f.OnlineShare), r(f.PostalShare), n(f.ReturnedPostal), n(f.Apologies), n(f.ApologiesLate),
			n(f.Ratings), r(f.SatisfiedShare), n(f.OnlineProcedures), n(f.OnlineProceduresUsed)}
	}
	for _, f := range append(doc.Rows, doc.Total) {
		want = append(want, row(f))
	}
	res := e.must(e.do(http.MethodGet, "/api/v1/reports/compliance?period=2026-03&group_by=procedure&format=csv", token, nil), 200)
	if ct := res.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("csv content type %q", ct)
	}
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="bao-cao-giai-quyet-tthc_2026-03.csv"` {
		t.Errorf("csv disposition %q", cd)
	}
	if !bytes.HasPrefix(res.Body, []byte("\xef\xbb\xbf")) {
		t.Error("the CSV has no byte-order mark")
	}
	recs := readCSV(t, res.Body)
	if recs[0][0] != "Mã thủ tục" || recs[0][3] != "Tiếp nhận trong kỳ" || len(recs[0]) != len(want[0]) {
		t.Errorf("csv headings %q", recs[0])
	}
	if diff := cmp.Diff(want, recs[1:]); diff != "" {
		t.Errorf("csv rows (-json +csv):\n%s", diff)
	}

	res = e.must(e.do(http.MethodGet, "/api/v1/reports/compliance?period=stat:2026-03&group_by=procedure&format=xlsx", token, nil), 200)
	if ct := res.Header.Get("Content-Type"); ct != "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" {
		t.Errorf("xlsx content type %q", ct)
	}
	if cd := res.Header.Get("Content-Disposition"); cd != `attachment; filename="bao-cao-giai-quyet-tthc_stat-2026-03.xlsx"` {
		t.Errorf("xlsx disposition %q", cd)
	}
	stat := e.compliance(token, "period=stat:2026-03&group_by=procedure")
	want = want[:0]
	for _, f := range append(stat.Rows, stat.Total) {
		want = append(want, row(f))
	}
	rows := readXLSX(t, res.Body)
	if rows[0][0] != "Mã thủ tục" {
		t.Errorf("xlsx headings %q", rows[0])
	}
	// Spreadsheet cells hold numbers: compare them as numbers.
	for i, w := range want {
		g := rows[i+1]
		for j := range w {
			wv, werr := strconv.ParseFloat(w[j], 64)
			var gv float64
			var gerr error
			if j < len(g) {
				gv, gerr = strconv.ParseFloat(g[j], 64)
			}
			switch {
			case werr != nil && (j >= len(g) && w[j] == "" || j < len(g) && g[j] == w[j]):
			case werr == nil && gerr == nil && math.Abs(wv-gv) < 1e-9:
			default:
				t.Errorf("xlsx row %d column %d: %q, want %q", i+1, j+1, g, w[j])
			}
		}
	}
}

func readCSV(t *testing.T, body []byte) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")))).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	return recs
}

func readXLSX(t *testing.T, body []byte) [][]string {
	t.Helper()
	x, err := excelize.OpenReader(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("xlsx: %v", err)
	}
	defer x.Close()
	rows, err := x.GetRows(x.GetSheetName(0), excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// checkRollups compares the roll-up tables with a recount from scratch.
func checkRollups(t *testing.T, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	kept, err := st.Rollups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	recount, err := st.RecountRollups(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(recount.Daily) == 0 {
		t.Fatal("the recount found nothing")
	}
	if diff := cmp.Diff(recount, kept, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("roll-ups differ from the recount (-recount +kept):\n%s", diff)
	}
}

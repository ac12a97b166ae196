package handlers_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// scorePeriods are the periods of whole months (calendar and statistical)
// between first and last (both the first day of a period), each as
// [from, to) local midnights.
func scorePeriods(first, last domain.Date) [][2]time.Time {
	var out [][2]time.Time
	for _, day := range []int{1, 15} {
		for a := (domain.Date{Year: first.Year, Month: first.Month, Day: day}); !last.Before(a); a = a.AddMonths(1) {
			for b := a.AddMonths(1); !last.Before(b); b = b.AddMonths(1) {
				out = append(out, [2]time.Time{a.Time(), b.Time()})
			}
		}
	}
	return out
}

// checkScoreSet compares the scorecard's roll-ups with the direct count for
// every period of whole months ending by now; it returns the roll-ups'
// answers by period.
func checkScoreSet(t *testing.T, st *store.Store, first domain.Date, now time.Time) map[string]map[string]service.ScoreSetCounts {
	t.Helper()
	ctx := context.Background()
	out := map[string]map[string]service.ScoreSetCounts{}
	for _, p := range scorePeriods(first, domain.DateOf(now)) {
		q := service.ScoreSetQuery{From: p[0], To: p[1]}
		got, err := st.ScoreSet(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		want, err := st.ScoreSetDirect(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		name := domain.DateOf(p[0]).String() + "/" + domain.DateOf(p[1]).String()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-direct +roll-ups):\n%s", name, diff)
		}
		out[name] = got
	}
	return out
}

// TestScoreRollups adds to the hand-worked data set of TestReports a second
// supplement request, ratings of 1 and 2, a dossier late after a pause, a
// withdrawal while paused after the deadline and a supplement asked after
// the deadline still pending at a month's end, and checks on both
// databases that the scorecard's roll-ups answer what the direct count does
// for every period of whole months, that they equal a recount, and that
// ScoreSet reads them.
func TestScoreRollups(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		codes := e.reportData()
		admin := e.token(domain.RoleAdmin, root)
		act := func(code string, when time.Time, action string, extra ...any) {
			t.Helper()
			body := map[string]any{"action": action}
			for i := 0; i+1 < len(extra); i += 2 {
				body[extra[i].(string)] = extra[i+1]
			}
			e.must(e.act(code, admin, when, body), http.StatusOK)
		}
		intake := func(when time.Time) (string, string) {
			e.clock.Set(when)
			var d dossierDoc
			e.must(e.do(http.MethodPost, "/api/v1/dossiers", e.token(domain.RoleClerk, center), intakeBody(procA, "counter")), http.StatusCreated).json(t, &d)
			act(d.Code, when.Add(10*time.Minute), "transfer")
			return d.Code, d.LookupPIN
		}
		rate := func(code, pin string, when time.Time, rating int) {
			e.clock.Set(when)
			e.must(e.do(http.MethodPost, "/api/v1/public/dossiers/"+code+"/feedback", "",
				map[string]any{"pin": pin, "rating": rating}), http.StatusCreated)
		}
		supplement := []any{"items", []string{"Bản sao giấy phép"}, "reason", "Thiếu giấy phép"}
		// X1: a second supplement request; the result itself on time.
		x1, _ := intake(at(2026, 4, 13, 9, 0))
		act(x1, at(2026, 4, 13, 9, 30), "request_supplement", supplement...)
		act(x1, at(2026, 4, 14, 9, 0), "receive_supplement")
		act(x1, at(2026, 4, 14, 9, 30), "request_supplement", supplement...)
		act(x1, at(2026, 4, 15, 9, 0), "receive_supplement")
		act(x1, at(2026, 4, 15, 9, 30), "complete_step", "result", "approved")
		// X2: paused with time left, resumed, then its deadline passes: open
		// and late at the end of April.
		x2, _ := intake(at(2026, 4, 20, 9, 0))
		act(x2, at(2026, 4, 20, 10, 0), "request_supplement", supplement...)
		act(x2, at(2026, 4, 21, 9, 0), "receive_supplement")
		// X3, X4: rated 1 in April, rated 2 in May (its result in April).
		x3, pin3 := intake(at(2026, 4, 22, 9, 0))
		act(x3, at(2026, 4, 22, 10, 0), "complete_step", "result", "approved")
		act(x3, at(2026, 4, 22, 11, 0), "return_result", "method", "counter")
		rate(x3, pin3, at(2026, 4, 23, 9, 0), 1)
		x4, pin4 := intake(at(2026, 4, 24, 9, 0))
		act(x4, at(2026, 4, 24, 10, 0), "complete_step", "result", "denied")
		act(x4, at(2026, 4, 24, 11, 0), "return_result", "method", "counter")
		rate(x4, pin4, at(2026, 5, 5, 9, 0), 2)
		// X5: paused for payment after its deadline (Thu 23/4 13:00), then
		// withdrawn: late.
		x5, _ := intake(at(2026, 4, 23, 9, 0))
		act(x5, at(2026, 4, 23, 15, 0), "request_payment", "amount", 50000, "reason", "Lệ phí")
		act(x5, at(2026, 4, 24, 9, 0), "withdraw", "reason", "Công dân rút hồ sơ")
		// X6: a supplement asked after its deadline (Fri 24/4 12:00), still
		// pending at the end of April: it ends at the request, late.
		x6, _ := intake(at(2026, 4, 24, 8, 0))
		act(x6, at(2026, 4, 24, 14, 0), "request_supplement", supplement...)
		_ = codes
		now := at(2026, 6, 2, 9, 0)
		e.clock.Set(now)

		got := checkScoreSet(t, st, domain.Date{Year: 2026, Month: 1, Day: 1}, now)
		checkRollups(t, st)
		// What the hand-made dossiers give in April (all led by dept).
		april := got["2026-04-01/2026-05-01"][dept]
		if april.LowRated != 1 || april.Set-april.OnTime < 4 {
			t.Errorf("April: %+v, want 1 rated low and X1, X2, X5, X6 late", april)
		}
		if c := got["2026-04-01/2026-06-01"][dept]; c.LowRated != 2 {
			t.Errorf("April-May: %+v, want 2 rated low", c)
		}
		if c := got["2026-05-01/2026-06-01"][dept]; c.LowRated != 0 {
			t.Errorf("May: %+v, want none rated low (X4's result was in April)", c)
		}
		// ScoreSet reads the roll-ups for whole months, not the dossiers.
		if err := st.DB().Exec("DELETE FROM score_monthly").Error; err != nil {
			t.Fatal(err)
		}
		left, err := st.ScoreSet(context.Background(), service.ScoreSetQuery{From: at(2026, 4, 1, 0, 0), To: at(2026, 5, 1, 0, 0)})
		if err != nil || len(left) != 0 {
			t.Errorf("without its roll-ups April still counts %v (%v)", left, err)
		}
	})
}

// TestScoreRollupsFollowRandomHistories runs random commands (the property
// test's: intakes, imports, every transition, ratings, days off, the
// unsupplemented sweep) and compares the scorecard's roll-ups with the
// direct count for every period of whole months, and with a recount.
func TestScoreRollupsFollowRandomHistories(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		for seed := uint64(3); seed <= 4; seed++ {
			t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
				if seed > 3 {
					st = freshLike(t, st)
				}
				e := newEnv(t, st)
				randomHistories(t, e, rand.New(rand.NewPCG(seed, 99)), 450)
				checkRollups(t, st)
				checkScoreSet(t, st, domain.Date{Year: 2026, Month: 1, Day: 1}, e.clock.Now())
			})
		}
	})
}

package handlers_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// TestRollupsFollowRandomHistories runs random commands at random times
// (intakes, imports with a past received_at, every transition, ratings,
// recorded days off that move running deadlines, the unsupplemented sweep)
// and then checks that (1) the roll-ups the transactions kept equal a
// recount from the history, and (2) the report's figures for random periods
// equal a brute-force count over the dossiers and their history lines,
// written here independently of the roll-ups, and (3) the overdue list as of
// random past instants equals a recount from the history (checkOverdueThen),
// and (4) the lateness roll-ups equal a recount from the control slip.
func TestRollupsFollowRandomHistories(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		for seed := uint64(1); seed <= 2; seed++ {
			t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
				if seed > 1 {
					st = freshLike(t, st)
				}
				e := newEnv(t, st)
				randomHistories(t, e, rand.New(rand.NewPCG(seed, 99)), 450)
				checkRollups(t, st)
				checkAgainstBruteForce(t, e, rand.New(rand.NewPCG(seed, 7)))
				checkOverdueThen(t, e, rand.New(rand.NewPCG(seed, 11)))
				checkLatenessRecount(t, e, rand.New(rand.NewPCG(seed, 13)))
			})
		}
	})
}

// freshLike opens a new empty database of the same dialect.
func freshLike(t *testing.T, st *store.Store) *store.Store {
	if st.Dialect() == store.Postgres {
		return storetest.Postgres(t)
	}
	return storetest.SQLite(t)
}

type liveDossier struct {
	code, pin string
}

func randomHistories(t *testing.T, e *env, rng *rand.Rand, steps int) {
	t.Helper()
	ctx := context.Background()
	e.clock.Set(at(2026, 1, 5, 8, 0))
	e.catalogue()
	e.threeSteps()
	admin := domain.Actor{Sub: "admin", Roles: []domain.Role{domain.RoleAdmin}, Agency: root}
	procs := []string{procA, procB, "1.000948"}
	var live []liveDossier
	now := at(2026, 1, 12, 8, 0)
	for i := 0; i < steps; i++ {
		switch r := rng.IntN(10); {
		case r == 0:
			now = domain.DateOf(now).AddDays(1).Time() // exactly midnight
		case r < 6:
			now = now.Add(time.Duration(rng.IntN(180)) * time.Minute)
		default:
			now = now.Add(time.Duration(rng.IntN(36*60)) * time.Minute)
		}
		e.clock.Set(now)
		switch r := rng.IntN(100); {
		case r < 22 || len(live) == 0:
			proc := procs[rng.IntN(len(procs))]
			channel := []string{"counter", "postal"}[rng.IntN(2)]
			if proc == procB && rng.IntN(2) == 0 {
				channel = "online"
			}
			cmd := service.IntakeCmd{ProcedureCode: proc, Channel: channel, Delivery: []string{"counter", "postal", "online"}[rng.IntN(3)],
				Applicant: domain.Applicant{Name: "Trần Thị B", IDNumber: "0011"}, AgencyCode: center}
			if rng.IntN(8) == 0 {
				past := now.Add(-time.Duration(rng.IntN(20*24*60)) * time.Minute)
				cmd.ReceivedAt = &past // an import
			}
			res, err := e.svc.Intake(ctx, admin, cmd)
			if err != nil {
				t.Fatalf("intake: %v", err)
			}
			live = append(live, liveDossier{res.Dossier.Code, res.PIN})
		case r < 90:
			ld := live[rng.IntN(len(live))]
			d, err := e.svc.Dossier(ctx, admin, ld.code)
			if err != nil {
				t.Fatal(err)
			}
			acts := d.AllowedActions(admin)
			if len(acts) == 0 {
				if d.Status == domain.StatusReturned && d.RatedAt == nil {
					if err := e.svc.Feedback(ctx, service.FeedbackCmd{Code: ld.code, PIN: ld.pin, Rating: 1 + rng.IntN(5)}); err != nil {
						t.Fatalf("feedback: %v", err)
					}
				}
				continue
			}
			a := acts[rng.IntN(len(acts))]
			if (a == domain.ActionRefuse || a == domain.ActionWithdraw || a == domain.ActionStop) && rng.IntN(3) > 0 {
				a = acts[rng.IntN(len(acts))] // closing less often keeps more dossiers moving
			}
			_, err = e.svc.Transition(ctx, admin, service.TransitionCmd{Code: ld.code, Version: d.Version, Input: randomInput(rng, a, d, now)})
			if err != nil && domain.KindOf(err) != domain.Invalid {
				t.Fatalf("%s on %s: %v", a, d.Status, err)
			}
		case r < 96:
			day := domain.DateOf(now).AddDays(rng.IntN(8) - 1)
			if rng.IntN(3) == 0 {
				_, _ = e.svc.DeleteDay(ctx, admin, day, "")
			} else if _, err := e.svc.PutDay(ctx, admin, service.DayCmd{Date: day, Kind: domain.DayHoliday, Name: "Nghỉ"}); err != nil {
				t.Fatalf("put day: %v", err)
			}
		default:
			if _, err := e.svc.StopUnsupplemented(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	e.clock.Set(now)
}

func randomInput(rng *rand.Rand, a domain.Action, d *domain.Dossier, now time.Time) domain.TransitionInput {
	in := domain.TransitionInput{Action: a}
	switch a {
	case domain.ActionRefuse, domain.ActionWithdraw, domain.ActionStop:
		in.Reason = "lý do"
	case domain.ActionRequestSupplement:
		in.Reason, in.Items = "thiếu", []string{"Bản sao"}
	case domain.ActionRequestPayment:
		in.Amount, in.Reason = 10000, "phí"
	case domain.ActionExtend:
		in.Reason = "xác minh"
		due := now
		if d.Clock.DueAt != nil && d.Clock.DueAt.After(now) {
			due = *d.Clock.DueAt
		}
		nd := due.Add(time.Duration(1+rng.IntN(10)) * 24 * time.Hour)
		in.NewDueAt = &nd
	case domain.ActionCompleteStep:
		if d.CurrentStep == len(d.Steps) {
			in.Result = []string{domain.ResultApproved, domain.ResultDenied}[rng.IntN(2)]
		}
	case domain.ActionReturnResult:
		in.Method = []domain.Delivery{domain.DeliveryCounter, domain.DeliveryPostal, domain.DeliveryOnline}[rng.IntN(3)]
	}
	return in
}

// checkAgainstBruteForce asks the API for random periods and compares every
// figure with a count made straight from the dossiers and their history.
func checkAgainstBruteForce(t *testing.T, e *env, rng *rand.Rand) {
	t.Helper()
	data := loadHistories(t, e.st)
	today := domain.DateOf(e.clock.Now())
	first := domain.Date{Year: 2025, Month: 12, Day: 20}
	span := int(today.Time().Sub(first.Time()).Hours()/24) + 1
	periods := []string{"period=2026-01", "period=2026-02", "period=stat:2026-02", "period=2026-Q1", "period=stat:2026"}
	for range 10 {
		from := first.AddDays(rng.IntN(span))
		to := from.AddDays(rng.IntN(40))
		periods = append(periods, "from="+from.String()+"&to="+to.String())
	}
	admin := e.token(domain.RoleAdmin, root)
	checked := 0
	for _, q := range periods {
		res := e.do(http.MethodGet, "/api/v1/reports/compliance?group_by=procedure&"+q, admin, nil)
		if res.Status == 422 { // a period that has not begun
			continue
		}
		var doc complianceDoc
		e.must(res, 200).json(t, &doc)
		from, _ := domain.ParseDate(doc.From)
		to, _ := domain.ParseDate(doc.To)
		stateDay := to
		if today.Before(stateDay) {
			stateDay = today
		}
		want := bruteFigures(data, from, to, stateDay)
		got := map[string]figs{}
		for _, r := range doc.Rows {
			got[*r.ProcedureCode] = r
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-brute force +report):\n%s", q, diff)
		}
		for _, f := range want {
			checked += int(f.Received + f.CarriedOver)
		}
	}
	if checked < 100 {
		t.Errorf("only %d dossiers counted over all periods: the random histories are too thin", checked)
	}
}

type bruteDossier struct {
	ID            int64
	ProcedureCode string
	Channel       string
	Delivery      string
	ReceivedAt    time.Time
	Verdict       string
	UsedMinutes   int64
	ExtensionLate *bool
	ReturnMethod  *string
	Rating        *int
	lines         []bruteLine
}

type bruteLine struct {
	DossierID  int64
	At         time.Time
	Action     string
	FromStatus int
	ToStatus   int
	DueAt      *time.Time
}

func loadHistories(t *testing.T, st *store.Store) []*bruteDossier {
	t.Helper()
	var ds []*bruteDossier
	if err := st.DB().Raw(`SELECT id, procedure_code, channel, delivery, received_at, verdict, used_minutes, extension_late,
		return_method, rating FROM dossiers ORDER BY id`).Scan(&ds).Error; err != nil {
		t.Fatal(err)
	}
	var lines []bruteLine
	if err := st.DB().Raw(`SELECT dossier_id, at, action, from_status, to_status, due_at FROM dossier_history ORDER BY id`).Scan(&lines).Error; err != nil {
		t.Fatal(err)
	}
	byID := map[int64]*bruteDossier{}
	for _, d := range ds {
		byID[d.ID] = d
	}
	for _, l := range lines {
		byID[l.DossierID].lines = append(byID[l.DossierID].lines, l)
	}
	return ds
}

// bruteFigures counts the figures of docs/reports.md straight from the history:
// each dossier's state at an instant is that of its last status line before
// it (a reception at the counter counting from received_at).
func bruteFigures(data []*bruteDossier, from, to, stateDay domain.Date) map[string]figs {
	start, end, stateEnd := from.Time(), to.AddDays(1).Time(), stateDay.AddDays(1).Time()
	in := func(t time.Time) bool { return !t.Before(start) && t.Before(end) }
	sums := map[string]*figs{}
	minutes := map[string]int64{}
	online := map[string]bool{}
	for _, d := range data {
		var recv *time.Time
		for _, l := range d.lines {
			if l.ToStatus == 2 && (l.FromStatus == 0 || l.FromStatus == 1) {
				r := l.At
				if l.FromStatus == 0 {
					r = d.ReceivedAt
				}
				recv = &r
				break
			}
		}
		if recv == nil {
			continue
		}
		f := sums[d.ProcedureCode]
		if f == nil {
			f = &figs{}
			sums[d.ProcedureCode] = f
		}
		if in(*recv) {
			f.Received++
			if d.Channel == "online" {
				f.ReceivedOnline++
				online[d.ProcedureCode] = true
			}
			if d.Channel == "postal" {
				f.ReceivedPostal++
			}
			if d.Channel == "postal" || d.Delivery == "postal" {
				f.ReceivedByPost++
			}
		}
		stateAt := func(t time.Time) (open, paused, overdue bool) {
			var last *bruteLine
			for i := range d.lines {
				l := &d.lines[i]
				when := l.At
				if l.FromStatus == 0 && l.ToStatus == 2 {
					when = d.ReceivedAt
				}
				if l.ToStatus != 0 && when.Before(t) {
					last = l
				}
			}
			if last == nil {
				return false, false, false
			}
			switch last.ToStatus {
			case 5, 6:
				return true, true, false
			case 2, 4:
				return true, false, last.DueAt != nil && last.DueAt.Before(t)
			}
			return false, false, false
		}
		if open, _, _ := stateAt(start); open {
			f.CarriedOver++
		}
		if open, paused, overdue := stateAt(stateEnd); open {
			f.InProgress++
			if paused {
				f.Paused++
			}
			if overdue {
				f.InProgressOverdue++
			}
		}
		for _, l := range d.lines {
			if !in(l.At) {
				continue
			}
			switch {
			case l.ToStatus == 3 && l.FromStatus > 1:
				f.Stopped++
				f.RefusedAfterReception++
			case l.ToStatus == 7 && l.FromStatus > 1:
				f.Withdrawn++
			case l.ToStatus == 8 && l.FromStatus != 8:
				f.Stopped++
			case l.ToStatus == 9 && l.FromStatus != 9:
				f.Processed++
				switch d.Verdict {
				case "early":
					f.ProcessedEarly++
				case "late":
					f.ProcessedLate++
				default:
					f.ProcessedOnTime++
				}
				minutes[d.ProcedureCode] += d.UsedMinutes
			case l.ToStatus == 10 && l.FromStatus == 9 && d.ReturnMethod != nil && *d.ReturnMethod == "postal":
				f.ReturnedPostal++
			}
			switch l.Action {
			case "extend":
				f.Apologies++
				if d.ExtensionLate != nil && *d.ExtensionLate {
					f.ApologiesLate++
				}
			case "rate":
				f.Ratings++
				if d.Rating != nil && *d.Rating >= 4 {
					f.RatingsSatisfied++
				}
			}
		}
	}
	if sums[procB] == nil {
		sums[procB] = &figs{}
	}
	sums[procB].OnlineProcedures = 1 // the only procedure offered online
	if online[procB] {
		sums[procB].OnlineProceduresUsed = 1
	}
	names := map[string]string{procA: "Cấp bản sao trích lục hộ tịch", procB: "Đăng ký thành lập hộ kinh doanh", "1.000948": "Cấp phép"}
	out := map[string]figs{}
	codes := make([]string, 0, len(sums))
	for c := range sums {
		codes = append(codes, c)
	}
	sort.Strings(codes)
	for _, c := range codes {
		f := *sums[c]
		if f == (figs{}) {
			continue
		}
		f.ProcedureCode, f.ProcedureName = sp(c), sp(names[c])
		if f.Processed > 0 {
			f.AvgProcessingWorkingHours = fp(math.Round(float64(minutes[c])/60/float64(f.Processed)*100) / 100)
		}
		out[c] = f.shares()
	}
	return out
}

// TestRollupsUnderConcurrency races transitions on dossiers of one group
// against recorded days off that move all their deadlines in one
// transaction; no deadlock, and the roll-ups still equal the recount.
func TestRollupsUnderConcurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		ctx := context.Background()
		e.clock.Set(at(2026, 1, 5, 8, 0))
		e.catalogue()
		admin := domain.Actor{Sub: "admin", Roles: []domain.Role{domain.RoleAdmin}, Agency: root}
		e.clock.Set(at(2026, 3, 16, 9, 0))
		var codes []string
		for range 24 {
			res, err := e.svc.Intake(ctx, admin, service.IntakeCmd{ProcedureCode: procB, Channel: "counter", AgencyCode: center,
				Applicant: domain.Applicant{Name: "A", IDNumber: "1"}})
			if err != nil {
				t.Fatal(err)
			}
			codes = append(codes, res.Dossier.Code)
		}
		e.clock.Set(at(2026, 3, 16, 10, 0))
		done := make(chan error, len(codes)+4)
		for _, code := range codes {
			go func() {
				for _, a := range []domain.Action{domain.ActionTransfer, domain.ActionCompleteStep} {
					for {
						d, err := e.svc.Dossier(ctx, admin, code)
						if err != nil {
							done <- err
							return
						}
						_, err = e.svc.Transition(ctx, admin, service.TransitionCmd{Code: code, Version: d.Version, Input: domain.TransitionInput{Action: a}})
						if domain.CodeOf(err) == "version_conflict" {
							continue // a recorded day moved it first
						}
						if err != nil {
							done <- fmt.Errorf("%s %s: %w", a, code, err)
							return
						}
						break
					}
				}
				done <- nil
			}()
		}
		for i := range 4 {
			go func() {
				_, err := e.svc.PutDay(ctx, admin, service.DayCmd{Date: domain.Date{Year: 2026, Month: 3, Day: 17 + i}, Kind: domain.DayHoliday, Name: "Nghỉ"})
				done <- err
			}()
		}
		for range len(codes) + 4 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		checkRollups(t, st)
	})
}

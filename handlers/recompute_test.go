package handlers_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// newEnvWith is newEnv with service options (batch sizes, no inline work).
func newEnvWith(t *testing.T, st *store.Store, opts service.Options) *env {
	t.Helper()
	clock := &testClock{}
	clock.Set(at(2026, 3, 16, 9, 0))
	opts.Logger = storetest.Quiet()
	svc := service.New(st, clock, nil, opts)
	v, err := auth.NewHS256([]byte(testSecret), auth.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var e *echo.Echo = handlers.New(handlers.Config{Service: svc, Verifier: v, Logger: storetest.Quiet(), Registry: prometheus.NewRegistry(),
		Ready: map[string]func(context.Context) error{"database": st.Ping}})
	return &env{t: t, st: st, svc: svc, e: e, clock: clock, secret: []byte(testSecret)}
}

type recomputeDoc struct {
	ID            int64  `json:"id"`
	Status        string `json:"status"`
	DossiersSeen  int64  `json:"dossiers_seen"`
	DossiersMoved int64  `json:"dossiers_moved"`
	Batches       int    `json:"batches"`
}

// calendarLines counts the calendar_changed history lines per dossier code.
func (e *env) calendarLines() map[string]int {
	e.t.Helper()
	var rows []struct {
		Code string
		N    int
	}
	if err := e.st.DB().Raw(`SELECT d.code AS code, count(*) AS n FROM dossier_history h JOIN dossiers d ON d.id = h.dossier_id
		WHERE h.action = 'calendar_changed' GROUP BY d.code`).Scan(&rows).Error; err != nil {
		e.t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Code] = r.N
	}
	return out
}

// TestRecomputeResumesOnAnotherInstance: a day off starts a durable job; an
// instance works one batch and stops; a new instance on the same database
// finishes it. Every affected dossier moves once, with one history line, and
// the progress endpoint tells where the job is.
func TestRecomputeResumesOnAnotherInstance(t *testing.T) {
	storetest.EachPair(t, func(t *testing.T, sa, sb *store.Store) {
		a := newEnvWith(t, sa, service.Options{RecomputeBatch: 2, RecomputeInline: -1})
		a.catalogue()
		const n = 7
		codes := make([]string, 0, n)
		for i := 0; i < n; i++ {
			codes = append(codes, a.intake(intakeBody("1.001612", "counter")).Code) // due Thursday 19/3 09:00
		}
		// A foreign agency's dossier-to-be is left alone: the day is the centre's.
		admin := a.token(domain.RoleAdmin, root)
		var put struct {
			Moved     int64        `json:"dossiers_moved"`
			Recompute recomputeDoc `json:"recompute"`
		}
		res := a.must(a.do(http.MethodPut, "/api/v1/calendar/days/2026-03-17", admin, map[string]any{"kind": "holiday", "name": "Nghỉ", "agency_code": center}), http.StatusAccepted)
		res.json(t, &put)
		loc := res.Header.Get("Location")
		if put.Recompute.Status != "pending" || put.Moved != 0 || loc == "" {
			t.Fatalf("answer %+v, Location %q", put, loc)
		}
		// The day counts at once for new dossiers, before the job ran.
		if d := a.intake(intakeBody("1.001612", "counter")); !d.DueAt.Equal(at(2026, 3, 20, 9, 0)) {
			t.Fatalf("new intake due %v", d.DueAt)
		}
		if _, worked, err := a.svc.RecomputeBatch(context.Background()); err != nil || !worked {
			t.Fatalf("one batch: %v %v", worked, err)
		}
		var job recomputeDoc
		a.must(a.do(http.MethodGet, loc, admin, nil), http.StatusOK).json(t, &job)
		if job.Status != "running" || job.DossiersSeen != 2 || job.DossiersMoved != 2 {
			t.Fatalf("after one batch: %+v", job)
		}
		// Instance A stops here. Instance B, started later, finishes the job.
		b := newEnvWith(t, sb, service.Options{RecomputeBatch: 2, RecomputeInline: -1})
		if _, err := b.svc.RunRecomputes(context.Background()); err != nil {
			t.Fatal(err)
		}
		b.must(b.do(http.MethodGet, loc, admin, nil), http.StatusOK).json(t, &job)
		// 8 dossiers are looked at (the one received after the day moves nothing).
		if job.Status != "done" || job.DossiersSeen != n+1 || job.DossiersMoved != n {
			t.Fatalf("after B: %+v", job)
		}
		lines := b.calendarLines()
		for _, code := range codes {
			if d := b.get(code); d.DueAt == nil || !d.DueAt.Equal(at(2026, 3, 20, 9, 0)) {
				t.Errorf("%s due %v, want Friday 20/3 09:00", code, d.DueAt)
			}
			if lines[code] != 1 {
				t.Errorf("%s has %d calendar_changed lines, want 1", code, lines[code])
			}
		}
		if len(lines) != n {
			t.Errorf("%d dossiers have calendar lines, want %d", len(lines), n)
		}
		var list struct {
			Items []recomputeDoc `json:"items"`
		}
		b.must(b.do(http.MethodGet, "/api/v1/calendar/recomputes", admin, nil), http.StatusOK).json(t, &list)
		if len(list.Items) != 1 || list.Items[0].ID != job.ID {
			t.Fatalf("list %+v", list)
		}
		b.must(b.do(http.MethodGet, "/api/v1/calendar/recomputes", b.token(domain.RoleClerk, center), nil), http.StatusForbidden)
		b.must(b.do(http.MethodGet, "/api/v1/calendar/recomputes/999", admin, nil), http.StatusNotFound)
		b.must(b.do(http.MethodGet, "/api/v1/calendar/recomputes/x", admin, nil), http.StatusNotFound)

		// Removing the day: B answers 202, its runner moves the deadlines back.
		b.must(b.do(http.MethodDelete, "/api/v1/calendar/days/2026-03-17?agency_code="+center, admin, nil), http.StatusAccepted)
		if _, err := b.svc.RunRecomputes(context.Background()); err != nil {
			t.Fatal(err)
		}
		for _, code := range codes {
			if d := b.get(code); d.DueAt == nil || !d.DueAt.Equal(at(2026, 3, 19, 9, 0)) {
				t.Errorf("%s due %v after the removal", code, d.DueAt)
			}
		}
		// An instance with inline work answers 200: the job is done.
		c := newEnv(t, sa)
		c.must(c.do(http.MethodPut, "/api/v1/calendar/days/2026-03-18", admin, map[string]any{"kind": "holiday", "name": "Nghỉ", "agency_code": center}), http.StatusOK)
		lines = c.calendarLines()
		for _, code := range codes {
			// Back to 19/3, then one day later for the 18th: each job one line.
			if d := c.get(code); d.DueAt == nil || !d.DueAt.Equal(at(2026, 3, 20, 9, 0)) {
				t.Errorf("%s due %v after the second day", code, d.DueAt)
			}
			if lines[code] != 3 {
				t.Errorf("%s has %d calendar_changed lines, want 3", code, lines[code])
			}
		}
	})
}

// TestNoFalseOverdueDuringRecompute: while a job has not reached a dossier,
// the watcher judges it on the new calendar (moving its deadline first, with
// the job's history line), and a transition does too; the job then finds
// nothing left to do for them.
func TestNoFalseOverdueDuringRecompute(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnvWith(t, st, service.Options{RecomputeBatch: 1, RecomputeInline: -1})
		e.catalogue()
		const n = 4
		codes := make([]string, 0, n)
		for i := 0; i < n; i++ {
			codes = append(codes, e.intake(intakeBody("2.000635", "counter")).Code) // 4 working hours: due Monday 14:00
		}
		admin := e.token(domain.RoleAdmin, root)
		// Monday afternoon is declared off (a national day off on Monday 16/3
		// recorded at 09:30): the deadlines move to Tuesday 12:00.
		e.clock.Set(at(2026, 3, 16, 9, 30))
		e.must(e.do(http.MethodPut, "/api/v1/calendar/days/2026-03-16", admin, map[string]any{"kind": "holiday", "name": "Nghỉ đột xuất"}), http.StatusAccepted)
		if _, worked, err := e.svc.RecomputeBatch(context.Background()); err != nil || !worked {
			t.Fatalf("one batch: %v %v", worked, err)
		}
		// A transition on the last dossier before the job reaches it.
		clerk := e.token(domain.RoleClerk, center)
		e.must(e.act(codes[n-1], clerk, at(2026, 3, 16, 10, 0), map[string]any{"action": "transfer"}), http.StatusOK)
		if d := e.get(codes[n-1]); d.DueAt == nil || d.DueAt.Before(at(2026, 3, 17, 8, 0)) {
			t.Fatalf("transition kept the old deadline %v", d.DueAt)
		}
		// Past the old deadline, before the new one: the watcher runs.
		e.clock.Set(at(2026, 3, 16, 15, 0))
		pass, err := e.svc.WatchDeadlines(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if pass.Fired[domain.EventOverdue] != 0 {
			t.Fatalf("false overdue during the recompute: %+v", pass.Fired)
		}
		var overdue int64
		if err := st.DB().Table("outbox").Where("type = ?", string(domain.EventOverdue)).Count(&overdue).Error; err != nil {
			t.Fatal(err)
		}
		if overdue != 0 {
			t.Fatalf("%d overdue events in the outbox", overdue)
		}
		if _, err := e.svc.RunRecomputes(context.Background()); err != nil {
			t.Fatal(err)
		}
		lines := e.calendarLines()
		for _, code := range codes {
			if d := e.get(code); d.DueAt == nil || d.DueAt.Before(at(2026, 3, 17, 8, 0)) {
				t.Errorf("%s due %v", code, d.DueAt)
			}
			if lines[code] != 1 {
				t.Errorf("%s has %d calendar_changed lines, want 1", code, lines[code])
			}
		}
		// At the new deadline the watcher does fire.
		e.clock.Set(at(2026, 3, 17, 12, 30))
		if pass, err = e.svc.WatchDeadlines(context.Background()); err != nil || pass.Fired[domain.EventOverdue] != n {
			t.Fatalf("at the new deadline: %+v %v", pass.Fired, err)
		}
	})
}

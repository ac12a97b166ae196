package handlers_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

// lateEvents counts the outbox's late events of a kind (all dossiers).
func (e *env) lateEvents(kind string) int64 {
	e.t.Helper()
	var n int64
	if err := e.st.DB().Table("outbox").Where("type = ?", kind).Count(&n).Error; err != nil {
		e.t.Fatal(err)
	}
	return n
}

func (e *env) watch(at time.Time) map[domain.EventType]int {
	e.t.Helper()
	e.clock.Set(at)
	pass, err := e.svc.WatchDeadlines(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return pass.Fired
}

// TestWatcherFiresEachDeadlineOnce follows one dossier's deadlines through
// the watcher: due soon, step overdue, overdue, the promised time, and a
// late completion, each published once, against deadlines that moved.
func TestWatcherFiresEachDeadlineOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		admin := e.token(domain.RoleAdmin, root)
		e.clock.Set(at(2026, 3, 16, 9, 0))
		code := e.intake(intakeBody("1.001612", "counter")).Code // due Thu 19/3 09:00
		e.must(e.act(code, admin, at(2026, 3, 16, 9, 0), map[string]any{"action": "transfer"}), 200)
		// Step 1 (16 h) is due Wed 18/3 09:00; due_soon one working day before the dossier's deadline: Wed 09:00.
		if f := e.watch(at(2026, 3, 18, 8, 59)); len(f) != 0 {
			t.Fatalf("fired too early: %v", f)
		}
		// A day off recorded for Wednesday moves every deadline by a day before any fires.
		e.must(e.do(http.MethodPut, "/api/v1/calendar/days/2026-03-18", admin, map[string]any{"kind": "holiday", "name": "Nghỉ"}), 200)
		if f := e.watch(at(2026, 3, 18, 9, 1)); len(f) != 0 {
			t.Fatalf("fired against the old deadlines: %v", f)
		}
		if f := e.watch(at(2026, 3, 19, 9, 0)); f[domain.EventDueSoon] != 1 || f[domain.EventStepOverdue] != 1 || len(f) != 2 {
			t.Fatalf("at Thursday 09:00: %v", f)
		}
		if f := e.watch(at(2026, 3, 19, 9, 30)); len(f) != 0 {
			t.Fatalf("fired twice: %v", f)
		}
		// The officer apologises and promises Tuesday; the legal deadline (Fri 20/3 09:00) still counts.
		e.must(e.act(code, e.token(domain.RoleOfficer, office), at(2026, 3, 19, 10, 0), map[string]any{"action": "extend", "reason": "Chậm",
			"new_due_at": at(2026, 3, 24, 17, 0).Format(time.RFC3339)}), 200)
		if f := e.watch(at(2026, 3, 20, 9, 0)); f[domain.EventOverdue] != 1 || len(f) != 1 {
			t.Fatalf("at the legal deadline: %v", f)
		}
		if f := e.watch(at(2026, 3, 24, 17, 1)); f[domain.EventExtensionOverdue] != 1 || len(f) != 1 {
			t.Fatalf("after the promised time: %v", f)
		}
		e.must(e.act(code, e.token(domain.RoleOfficer, office), at(2026, 3, 25, 9, 0), map[string]any{"action": "complete_step"}), 200)
		e.must(e.act(code, e.token(domain.RoleOfficer, dept), at(2026, 3, 25, 10, 0), map[string]any{"action": "complete_step", "result": "denied"}), 200)
		if f := e.watch(at(2026, 4, 30, 9, 0)); len(f) != 0 {
			t.Fatalf("after the result: %v", f)
		}
		for kind, want := range map[string]int64{"due_soon": 1, "step_overdue": 1, "overdue": 1, "extension_overdue": 1, "completed_late": 1} {
			if got := e.lateEvents(kind); got != want {
				t.Errorf("%s: %d events, want %d", kind, got, want)
			}
		}
		// Finished Wed 25/3 10:00 against Fri 20/3 09:00: 7 + 8 + 8 + 2 working hours late.
		var data []string
		if err := st.DB().Table("outbox").Where("type = ?", "completed_late").Pluck("data", &data).Error; err != nil {
			t.Fatal(err)
		}
		if len(data) != 1 || !strings.Contains(data[0], `"overdue_working_hours":25`) {
			t.Fatalf("completed_late data %v", data)
		}
	})
}

// TestWatchersShareTheWork runs two watchers at once over many overdue
// dossiers: every deadline fires exactly once.
func TestWatchersShareTheWork(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.catalogue()
		e.clock.Set(at(2026, 3, 16, 9, 0))
		const n = 120
		for i := 0; i < n; i++ {
			e.intake(intakeBody("2.000635", "counter")) // 4 h: due 14:00, due soon at once
		}
		// Two watchers at once: at 10:00 each due_soon fires once, the next
		// morning each overdue (its due_soon long claimed).
		race := func(now time.Time) map[domain.EventType]int {
			e.clock.Set(now)
			var wg sync.WaitGroup
			fired := make(chan map[domain.EventType]int, 2)
			for w := 0; w < 2; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					pass, err := e.svc.WatchDeadlines(context.Background())
					if err != nil {
						t.Error(err)
					}
					fired <- pass.Fired
				}()
			}
			wg.Wait()
			close(fired)
			total := map[domain.EventType]int{}
			for f := range fired {
				for k, v := range f {
					total[k] += v
				}
			}
			return total
		}
		if total := race(at(2026, 3, 16, 10, 0)); total[domain.EventDueSoon] != n || len(total) != 1 {
			t.Fatalf("fired %v, want %d due_soon", total, n)
		}
		if total := race(at(2026, 3, 17, 9, 0)); total[domain.EventOverdue] != n || len(total) != 1 {
			t.Fatalf("fired %v, want %d overdue", total, n)
		}
		if e.lateEvents("overdue") != n || e.lateEvents("due_soon") != n {
			t.Fatalf("outbox has %d overdue, %d due_soon", e.lateEvents("overdue"), e.lateEvents("due_soon"))
		}
		var pending int64
		st.DB().Table("dossiers").Where("next_deadline_at IS NOT NULL").Count(&pending)
		if pending != 0 {
			t.Fatalf("%d dossiers still scheduled after their last deadline", pending)
		}
	})
}

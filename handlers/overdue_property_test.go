package handlers_test

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// checkOverdueThen asks for the overdue list as of random past instants
// (read from the overdue states the commands kept) and compares its
// dossiers with a recount from each dossier's history by the one overdue
// rule: at T, the dossier's last line at or before T says its status and
// the deadline in force; it is overdue when that status is open and the
// deadline passed before T while running, or before the pause began while
// paused.
func checkOverdueThen(t *testing.T, e *env, rng *rand.Rand) {
	t.Helper()
	type line struct {
		DossierID  int64
		At         time.Time
		FromStatus int
		ToStatus   int
		DueAt      *time.Time
	}
	var ds []struct {
		ID         int64
		Code       string
		ReceivedAt time.Time
	}
	if err := e.st.DB().Raw(`SELECT id, code, received_at FROM dossiers ORDER BY id`).Scan(&ds).Error; err != nil {
		t.Fatal(err)
	}
	var lines []line
	if err := e.st.DB().Raw(`SELECT dossier_id, at, from_status, to_status, due_at FROM dossier_history ORDER BY id`).Scan(&lines).Error; err != nil {
		t.Fatal(err)
	}
	byID := map[int64][]line{}
	for _, l := range lines {
		byID[l.DossierID] = append(byID[l.DossierID], l)
	}
	open := func(s int) bool { return domain.Status(s).Open() }
	paused := func(s int) bool { return domain.Status(s).Open() && domain.Status(s).Paused() }
	recount := func(at time.Time) []string {
		var out []string
		for _, d := range ds {
			ls := byID[d.ID]
			last := -1
			for i, l := range ls {
				when := l.At
				if i == 0 && d.ReceivedAt.Before(when) {
					when = d.ReceivedAt // an import: received earlier than written
				}
				if !when.After(at) {
					last = i
				}
			}
			if last < 0 || !open(ls[last].ToStatus) {
				continue
			}
			var due *time.Time
			for i := last; i >= 0 && due == nil; i-- {
				due = ls[i].DueAt
			}
			if due == nil {
				continue
			}
			cut := at
			if paused(ls[last].ToStatus) {
				i := last
				for i > 0 && paused(ls[i].FromStatus) {
					i--
				}
				cut = ls[i].At
			}
			if due.Before(cut) {
				out = append(out, d.Code)
			}
		}
		slices.Sort(out)
		return out
	}
	admin := e.token(domain.RoleAdmin, root)
	now := e.clock.Now()
	first := at(2026, 1, 12, 8, 0)
	seen := 0
	for range 15 {
		at := first.Add(time.Duration(rng.Int64N(int64(now.Sub(first)))))
		at = at.Truncate(time.Minute)
		var got []string
		cursor := ""
		for {
			q := "/api/v1/reports/overdue?limit=500&as_of=" + url.QueryEscape(at.Format(time.RFC3339))
			if cursor != "" {
				q += "&cursor=" + cursor
			}
			var doc overdueDoc
			e.must(e.do(http.MethodGet, q, admin, nil), http.StatusOK).json(t, &doc)
			for _, it := range doc.Items {
				if it.Kind == "dossier" {
					got = append(got, it.Code)
				}
			}
			if doc.NextCursor == nil {
				break
			}
			cursor = *doc.NextCursor
		}
		slices.Sort(got)
		want := recount(at)
		seen += len(want)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("overdue as of %s (-recount from history +list):\n%s", at, diff)
		}
	}
	if seen < 20 {
		t.Errorf("only %d overdue dossiers over all instants: the random histories are too thin", seen)
	}
}

// checkLatenessRecount compares the lateness report (from the roll-ups the
// transactions kept) with a recount straight from the control slip and the
// dossiers, per unit and per officer, for calendar and arbitrary periods.
func checkLatenessRecount(t *testing.T, e *env, rng *rand.Rand) {
	t.Helper()
	var periods [][2]domain.Date
	for m := time.January; m <= time.June; m++ {
		from := domain.Date{Year: 2026, Month: m, Day: 1}
		periods = append(periods, [2]domain.Date{from, from.AddMonths(1).AddDays(-1)})
	}
	periods = append(periods, [2]domain.Date{{Year: 2026, Month: 1, Day: 1}, {Year: 2026, Month: 6, Day: 30}})
	first := domain.Date{Year: 2026, Month: 1, Day: 5}
	for range 8 {
		from := first.AddDays(rng.IntN(100))
		periods = append(periods, [2]domain.Date{from, from.AddDays(rng.IntN(60))})
	}
	steps := int64(0)
	for _, p := range periods {
		for _, by := range []string{service.GroupByUnit, service.GroupByOfficer} {
			q := service.LatenessQuery{From: p[0].Time(), To: p[1].AddDays(1).Time(), GroupBy: by}
			got, err := e.st.Lateness(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			want, err := e.st.LatenessRecount(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("lateness %s-%s by %s (-recount +roll-ups):\n%s", p[0], p[1], by, diff)
			}
			for _, r := range want {
				steps += r.Steps
			}
		}
	}
	if steps < 20 {
		t.Errorf("only %d steps counted: the random histories are too thin", steps)
	}
}

package seed

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
)

// TestPlan checks that plan hands out exactly n receptions over every date
// of the range, none negative, with the days the offices are closed
// carrying about an eighth of a working day's share.
func TestPlan(t *testing.T) {
	national := domain.NewCalendar(domain.DefaultOfficeHours(), nil)
	day := func(y int, m time.Month, d int) domain.Date { return domain.Date{Year: y, Month: m, Day: d} }
	for _, c := range []struct {
		name        string
		first, last domain.Date
		n           int
	}{
		{"one day", day(2026, 11, 18), day(2026, 11, 18), 7},
		{"a week", day(2026, 11, 16), day(2026, 11, 22), 1000},
		{"fewer dossiers than days", day(2026, 9, 1), day(2026, 11, 30), 11},
		{"none", day(2026, 9, 1), day(2026, 9, 30), 0},
		{"a year over the new year", day(2025, 12, 1), day(2026, 11, 30), 123_457},
		{"ten million", day(2025, 12, 1), day(2026, 11, 30), 10_000_000},
	} {
		t.Run(c.name, func(t *testing.T) {
			dates, counts := plan(c.first, c.last, c.n)
			if len(dates) != len(counts) || len(dates) == 0 {
				t.Fatalf("%d dates, %d counts", len(dates), len(counts))
			}
			if dates[0] != c.first || dates[len(dates)-1] != c.last {
				t.Fatalf("dates from %v to %v, want %v to %v", dates[0], dates[len(dates)-1], c.first, c.last)
			}
			sum, working, closed, nw, nc := 0, 0, 0, 0, 0
			for i, d := range dates {
				if i > 0 && d != dates[i-1].AddDays(1) {
					t.Fatalf("date %d is %v after %v", i, d, dates[i-1])
				}
				if counts[i] < 0 {
					t.Fatalf("%v: %d receptions", d, counts[i])
				}
				sum += counts[i]
				if national.IsWorkingDay(d) {
					working, nw = working+counts[i], nw+1
				} else {
					closed, nc = closed+counts[i], nc+1
				}
			}
			if sum != c.n {
				t.Fatalf("%d receptions planned, want %d", sum, c.n)
			}
			if c.n < 10*len(dates) || nc == 0 || nw == 0 {
				return
			}
			// Per day, a closed day has 0.12 of a working day's share
			// (rounding moves each day by at most one).
			ratio := (float64(closed) / float64(nc)) / (float64(working) / float64(nw))
			if math.Abs(ratio-0.12) > 0.02 {
				t.Fatalf("closed days carry %.3f of a working day, want 0.12", ratio)
			}
		})
	}
}

// TestPipelineWindow checks how many days the workers may simulate ahead
// of the writer: 8 when the days are small, fewer when they are big (about
// 40,000 dossiers in flight), never fewer than 2.
func TestPipelineWindow(t *testing.T) {
	now := domain.Date{Year: 2026, Month: 11, Day: 20}.Time()
	// Every reception falls after Now, so the workers simulate nothing.
	g := newGen(Options{Now: now.AddDate(-1, 0, 0), Seed: 1}, now.AddDate(-2, 0, 0))
	for _, c := range []struct {
		perDay, days, want int
	}{
		{0, 3, 8}, {100, 30, 8}, {5_000, 30, 8}, {10_000, 30, 4}, {15_000, 30, 2}, {20_000, 3, 2}, {60_000, 1, 2},
	} {
		dates := make([]domain.Date, c.days)
		counts := make([]int, c.days)
		for i := range dates {
			dates[i] = domain.DateOf(now).AddDays(i)
			counts[i] = c.perDay
		}
		p := g.start(dates, counts)
		got := cap(p.slots)
		close(p.stop)
		p.wg.Wait()
		if got != c.want {
			t.Errorf("%d days of %d dossiers: a window of %d days, want %d", c.days, c.perDay, got, c.want)
		}
	}
}

// TestCatalogue checks the catalogue docs/benchmarks.md describes: 34
// provinces, each with its people's committee, public-service centre,
// twelve departments with an office each and twenty-four communes; codes
// unique; every parent, owner and step unit in the catalogue.
func TestCatalogue(t *testing.T) {
	agencies, procs := Catalogue()
	if len(agencies) != 34*(1+1+12*2+24) {
		t.Fatalf("%d agencies, want %d", len(agencies), 34*(1+1+12*2+24))
	}
	byCode := map[string]domain.Agency{}
	roots := 0
	for _, a := range agencies {
		if _, dup := byCode[a.Code]; dup {
			t.Fatalf("agency %s twice", a.Code)
		}
		if len(a.Code) > domain.MaxAgencyCodeLen || a.Name == "" {
			t.Fatalf("agency %+v: code too long or no name", a)
		}
		byCode[a.Code] = a
		if a.ParentCode == "" {
			roots++
		}
	}
	if roots != 34 {
		t.Fatalf("%d agencies without a parent, want the 34 provinces", roots)
	}
	for _, a := range agencies {
		if a.ParentCode != "" {
			if _, ok := byCode[a.ParentCode]; !ok {
				t.Fatalf("agency %s: parent %s is not in the catalogue", a.Code, a.ParentCode)
			}
		}
	}
	seen := map[string]bool{}
	for _, p := range procs {
		if seen[p.Code] {
			t.Fatalf("procedure %s twice", p.Code)
		}
		seen[p.Code] = true
		if _, ok := byCode[p.AgencyCode]; !ok {
			t.Fatalf("procedure %s: agency %s is not in the catalogue", p.Code, p.AgencyCode)
		}
		if p.Minutes <= 0 || len(p.Steps) == 0 {
			t.Fatalf("procedure %s: %d minutes, %d steps", p.Code, p.Minutes, len(p.Steps))
		}
		var sum int64
		for _, s := range p.Steps {
			if _, ok := byCode[s.AgencyCode]; !ok {
				t.Fatalf("procedure %s: step unit %s is not in the catalogue", p.Code, s.AgencyCode)
			}
			sum += s.Minutes
		}
		if sum != p.Minutes {
			t.Fatalf("procedure %s: steps of %d minutes, the procedure %d", p.Code, sum, p.Minutes)
		}
	}
	if len(procs) != 34*(12*8+24*5) {
		t.Fatalf("%d procedures, want %d", len(procs), 34*(12*8+24*5))
	}
}

// TestAliasTable checks that the alias table draws each index as often as
// its weight says.
func TestAliasTable(t *testing.T) {
	for _, w := range [][]float64{{1}, {1, 1}, {1, 0, 3}, {0.5, 2, 0.25, 8, 1, 0.001}, {5, 4, 3, 2, 1}} {
		a := newAlias(w)
		rng := rand.New(rand.NewPCG(4, 2))
		const n = 400_000
		got := make([]int, len(w))
		for range n {
			got[a.draw(rng)]++
		}
		var sum float64
		for _, x := range w {
			sum += x
		}
		for i, x := range w {
			want := n * x / sum
			// Five standard deviations of a binomial count.
			if tol := 5*math.Sqrt(want*(1-x/sum)) + 1; math.Abs(float64(got[i])-want) > tol {
				t.Errorf("weights %v: index %d drawn %d times, want %.0f ± %.0f", w, i, got[i], want, tol)
			}
		}
	}
}

package domain

import (
	"testing"
	"time"
)

func timeMonth(m int) time.Month { return time.Month(m) }

func TestParsePeriod(t *testing.T) {
	t.Parallel()
	d := func(y, m, dd int) Date { return Date{y, timeMonth(m), dd} }
	cases := []struct {
		in       string
		from, to Date
	}{
		{"2026-03", d(2026, 3, 1), d(2026, 3, 31)},
		{"2024-02", d(2024, 2, 1), d(2024, 2, 29)},
		{"2026-Q1", d(2026, 1, 1), d(2026, 3, 31)},
		{"2026-Q4", d(2026, 10, 1), d(2026, 12, 31)},
		{"2026", d(2026, 1, 1), d(2026, 12, 31)},
		{"stat:2026-03", d(2026, 2, 15), d(2026, 3, 14)},
		{"stat:2026-01", d(2025, 12, 15), d(2026, 1, 14)},
		{"stat:2026-Q1", d(2025, 12, 15), d(2026, 3, 14)},
		{"stat:2026-Q2", d(2026, 3, 15), d(2026, 6, 14)},
		{"stat:2026-Q4", d(2026, 9, 15), d(2026, 12, 14)},
		{"stat:2026", d(2025, 12, 15), d(2026, 12, 14)},
	}
	for _, c := range cases {
		p, err := ParsePeriod(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if p.From != c.from || p.To != c.to || p.Name != c.in {
			t.Errorf("%s: %v..%v (%q), want %v..%v", c.in, p.From, p.To, p.Name, c.from, c.to)
		}
	}
	for _, bad := range []string{"", "2026-13", "2026-00", "2026-Q0", "2026-Q5", "2026-1", "26-03", "stat:", "stat:2026-", "2026-03-01",
		"q1-2026", "+026", "-026", "1899", "2300", "2026-q1", "STAT:2026", "stat:stat:2026", "2026/03", "２０２６"} {
		if _, err := ParsePeriod(bad); err == nil {
			t.Errorf("%q: accepted", bad)
		} else if e := errorOf(err); e == nil || e.Kind != Invalid || e.Fields[0].Field != "period" {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestNewPeriod(t *testing.T) {
	t.Parallel()
	d := func(y, m, dd int) Date { return Date{y, timeMonth(m), dd} }
	if _, err := NewPeriod(d(2026, 3, 2), d(2026, 3, 1)); err == nil || errorOf(err).Fields[0].Field != "from" {
		t.Errorf("from after to: %v", err)
	}
	if p, err := NewPeriod(d(2026, 3, 1), d(2026, 3, 1)); err != nil || p.Start() != d(2026, 3, 1).Time() || p.End() != d(2026, 3, 2).Time() {
		t.Errorf("one day: %v %v", p, err)
	}
	if _, err := NewPeriod(d(2021, 1, 1), d(2025, 12, 31)); err != nil {
		t.Errorf("five years: %v", err)
	}
	if _, err := NewPeriod(d(2021, 1, 1), d(2026, 1, 1)); err == nil || errorOf(err).Fields[0].Field != "to" {
		t.Errorf("five years and a day: %v", err)
	}
	if _, err := NewPeriod(d(2020, 2, 29), d(2025, 2, 28)); err == nil {
		t.Errorf("29/2/2020 + 5 years is 28/2/2025: that day is over five years")
	}
	if p, _ := ParsePeriod("stat:2026-Q1"); p.Slug() != "stat-2026-Q1" || p.Label() != "từ 15/12/2025 đến 14/03/2026" {
		t.Errorf("slug %q label %q", p.Slug(), p.Label())
	}
	if p, _ := NewPeriod(d(2026, 3, 1), d(2026, 3, 9)); p.Slug() != "2026-03-01_2026-03-09" {
		t.Errorf("slug %q", p.Slug())
	}
}

func TestDateNumbers(t *testing.T) {
	t.Parallel()
	d := Date{2026, 3, 9}
	if d.DayNumber() != 20260309 || d.MonthNumber() != 202603 || DateOfNumber(20260309) != d {
		t.Fatal(d.DayNumber(), d.MonthNumber())
	}
	for _, c := range []struct {
		d    Date
		want int
	}{{Date{2026, 3, 14}, 202603}, {Date{2026, 3, 15}, 202604}, {Date{2026, 12, 15}, 202701}, {Date{2026, 1, 1}, 202601}, {Date{2026, 1, 31}, 202602}} {
		if got := c.d.StatMonthNumber(); got != c.want {
			t.Errorf("stat month of %v: %d, want %d", c.d, got, c.want)
		}
	}
	if got := (Date{2026, 3, 31}).AddMonths(-1); got != (Date{2026, 2, 28}) {
		t.Errorf("31/3 - 1 month: %v", got)
	}
	if got := (Date{2026, 1, 15}).AddMonths(-1); got != (Date{2025, 12, 15}) {
		t.Errorf("15/1 - 1 month: %v", got)
	}
	if got := (Date{2026, 12, 15}).AddMonths(13); got != (Date{2028, 1, 15}) {
		t.Errorf("+13 months: %v", got)
	}
}

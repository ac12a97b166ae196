package domain

import (
	"testing"
	"time"
)

func vnAt(y int, m time.Month, d, hh, mm int) time.Time {
	return time.Date(y, m, d, hh, mm, 0, 0, Vietnam())
}

// TestClockRules walks the dossier clock through pauses, restarts and a
// change of calendar, on real dates of 2026.
func TestClockRules(t *testing.T) {
	t.Parallel()
	cal := NewCalendar(DefaultOfficeHours(), nil)
	day := int64(MinutesPerWorkingDay)
	cases := []struct {
		name string
		run  func(c *TimeBudget)
		due  time.Time
	}{
		{"three days from Monday 09:00", func(c *TimeBudget) {
			c.Start(cal, vnAt(2026, 3, 16, 9, 0))
		}, vnAt(2026, 3, 19, 9, 0)},
		{"pause keeps the time left", func(c *TimeBudget) {
			c.Start(cal, vnAt(2026, 3, 16, 9, 0))
			c.Stop(cal, vnAt(2026, 3, 17, 9, 0)) // one day used
			c.Start(cal, vnAt(2026, 3, 23, 9, 0))
		}, vnAt(2026, 3, 25, 9, 0)},
		{"a pause spanning Tết 2026 loses no time", func(c *TimeBudget) {
			c.Start(cal, vnAt(2026, 2, 12, 8, 0)) // Thursday
			c.Stop(cal, vnAt(2026, 2, 13, 8, 0))  // one day used
			c.Start(cal, vnAt(2026, 2, 23, 8, 0)) // back after Tết, Monday
		}, vnAt(2026, 2, 24, 17, 0)},
		{"restart gives the full time again", func(c *TimeBudget) {
			c.Start(cal, vnAt(2026, 3, 16, 9, 0))
			c.Stop(cal, vnAt(2026, 3, 18, 9, 0))
			c.Restart(cal, vnAt(2026, 3, 20, 9, 0)) // Friday
		}, vnAt(2026, 3, 25, 9, 0)},
		{"running across the Hùng Kings make-up Monday", func(c *TimeBudget) {
			c.Start(cal, vnAt(2026, 4, 24, 13, 0)) // Friday; 27/4 Monday, 30/4 and 1/5 off
		}, vnAt(2026, 5, 4, 12, 0)}, // 4h Fri, Tue and Wed, then 30/4 and 1/5 off: 4h on Monday 4/5
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			clock := TimeBudget{Budget: 3 * day}
			c.run(&clock)
			if clock.DueAt == nil || !clock.DueAt.Equal(c.due) {
				t.Fatalf("due %v, want %v", clock.DueAt, c.due)
			}
		})
	}
}

func TestClockFollowsARecordedHoliday(t *testing.T) {
	t.Parallel()
	c := TimeBudget{Budget: 2 * MinutesPerWorkingDay}
	c.Start(NewCalendar(DefaultOfficeHours(), nil), vnAt(2026, 3, 16, 8, 0))
	if want := vnAt(2026, 3, 17, 17, 0); !c.DueAt.Equal(want) {
		t.Fatalf("due %v, want %v", c.DueAt, want)
	}
	holiday := NewCalendar(DefaultOfficeHours(), []CalendarDay{{Date: Date{2026, 3, 17}, Kind: DayHoliday}})
	c.Recompute(holiday)
	if want := vnAt(2026, 3, 18, 17, 0); !c.DueAt.Equal(want) {
		t.Fatalf("after the holiday due %v, want %v", c.DueAt, want)
	}
}

func TestJudge(t *testing.T) {
	t.Parallel()
	due := vnAt(2026, 3, 19, 16, 30)
	cases := []struct {
		finished time.Time
		want     Verdict
	}{
		{vnAt(2026, 3, 18, 16, 59), VerdictEarly},
		{vnAt(2026, 3, 19, 8, 0), VerdictOnTime},
		{due, VerdictOnTime},
		{due.Add(time.Minute), VerdictLate},
		{vnAt(2026, 3, 20, 8, 0), VerdictLate},
	}
	for _, c := range cases {
		if got := Judge(c.finished, due); got != c.want {
			t.Errorf("finished %v: %s, want %s", c.finished, got, c.want)
		}
	}
}

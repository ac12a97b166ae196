package domain

import (
	"fmt"
	"sort"
	"time"
	_ "time/tzdata" // the zone database travels with the binary
)

// MinutesPerWorkingDay is the length of a working day, whatever the agency's
// office hours (contract.md).
const MinutesPerWorkingDay = 480

var vietnam = mustLoad("Asia/Ho_Chi_Minh")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// Vietnam returns the Asia/Ho_Chi_Minh location in which all working time is counted.
func Vietnam() *time.Location { return vietnam }

// Date is a civil date in the calendar's time zone. Days off are dates, never
// instants.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the local date of t in Vietnam.
func DateOf(t time.Time) Date {
	y, m, d := t.In(vietnam).Date()
	return Date{y, m, d}
}

// ParseDate parses YYYY-MM-DD, rejecting dates that do not exist.
func ParseDate(s string) (Date, error) {
	t, err := time.ParseInLocation("2006-01-02", s, vietnam)
	if err != nil {
		return Date{}, fmt.Errorf("not a date (YYYY-MM-DD): %q", s)
	}
	return DateOf(t), nil
}

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day) }

// Time returns local midnight of the date.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, vietnam) }

// Weekday of the date.
func (d Date) Weekday() time.Weekday { return d.Time().Weekday() }

// AddDays moves the date by n days.
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, vietnam))
}

// Before reports whether d comes before e.
func (d Date) Before(e Date) bool {
	if d.Year != e.Year {
		return d.Year < e.Year
	}
	if d.Month != e.Month {
		return d.Month < e.Month
	}
	return d.Day < e.Day
}

// DayKind says whether a listed day is a day off or a make-up working day.
type DayKind string

// Day kinds.
const (
	DayHoliday DayKind = "holiday"
	DayWorkday DayKind = "workday"
)

// CalendarDay is one exception to the weekly pattern: a day off on a weekday or
// a make-up working day on a weekend.
type CalendarDay struct {
	Date       Date
	Kind       DayKind
	Name       string
	AgencyCode string // "" for a national day
	Source     string // "statutory", "official" or "recorded"
}

// Interval is a working period of a day, in minutes after local midnight.
type Interval struct{ Start, End int }

// OfficeHours maps each weekday (time.Weekday index) to its working periods.
type OfficeHours [7][]Interval

// DefaultOfficeHours is Monday-Friday 08:00-12:00 and 13:00-17:00.
func DefaultOfficeHours() OfficeHours {
	var h OfficeHours
	for wd := time.Monday; wd <= time.Friday; wd++ {
		h[wd] = []Interval{{8 * 60, 12 * 60}, {13 * 60, 17 * 60}}
	}
	return h
}

// Calendar is the working-time calendar of one agency.
type Calendar struct {
	hours    OfficeHours
	recorded map[Date]CalendarDay
}

// NewCalendar builds an agency's calendar from its office hours and the days
// an administrator recorded (national ones and the agency's own, which win).
func NewCalendar(hours OfficeHours, recorded []CalendarDay) *Calendar {
	c := &Calendar{hours: hours, recorded: map[Date]CalendarDay{}}
	for _, d := range recorded {
		if old, ok := c.recorded[d.Date]; ok && old.AgencyCode != "" && d.AgencyCode == "" {
			continue
		}
		c.recorded[d.Date] = d
	}
	return c
}

// IsWorkingDay reports whether d is a working day of the agency.
func (c *Calendar) IsWorkingDay(d Date) bool {
	if r, ok := c.recorded[d]; ok {
		return r.Kind == DayWorkday
	}
	return len(c.hours[d.Weekday()]) > 0
}

// Days lists the days off and make-up working days of a year.
func (c *Calendar) Days(year int) []CalendarDay {
	var out []CalendarDay
	for _, d := range c.recorded {
		if d.Date.Year == year {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out
}

func (c *Calendar) periods(d Date) []Interval {
	if !c.IsWorkingDay(d) {
		return nil
	}
	if p := c.hours[d.Weekday()]; len(p) > 0 {
		return p
	}
	return c.hours[time.Monday]
}

// CountingStart returns when counting begins for something received at t:
// t itself inside office hours, else the start of the next working period.
func (c *Calendar) CountingStart(t time.Time) time.Time {
	return c.Add(t, 0)
}

// Add returns the instant reached by counting minutes of working time from
// t. A total that ends exactly at the end of a working period is that end.
func (c *Calendar) Add(t time.Time, minutes int64) time.Time {
	t = t.In(vietnam)
	d := DateOf(t)
	for i := 0; i < 400*366; i++ {
		midnight := d.Time()
		for _, p := range c.periods(d) {
			ps, pe := midnight.Add(time.Duration(p.Start)*time.Minute), midnight.Add(time.Duration(p.End)*time.Minute)
			if !t.Before(pe) {
				continue
			}
			if t.Before(ps) {
				t = ps
			}
			avail := int64(pe.Sub(t) / time.Minute)
			if minutes == 0 && avail > 0 {
				return t
			}
			if minutes <= avail {
				return t.Add(time.Duration(minutes) * time.Minute)
			}
			minutes -= avail
			t = pe
		}
		d = d.AddDays(1)
	}
	return t
}

// Between returns the working minutes between a and b (0 when b is not after a).
func (c *Calendar) Between(a, b time.Time) int64 {
	if !b.After(a) {
		return 0
	}
	var total int64
	a = a.In(vietnam)
	for d := DateOf(a); !b.Before(d.Time()); d = d.AddDays(1) {
		midnight := d.Time()
		for _, p := range c.periods(d) {
			ps, pe := midnight.Add(time.Duration(p.Start)*time.Minute), midnight.Add(time.Duration(p.End)*time.Minute)
			if ps.Before(a) {
				ps = a
			}
			if pe.After(b) {
				pe = b
			}
			if pe.After(ps) {
				total += int64(pe.Sub(ps) / time.Minute)
			}
		}
	}
	return total
}

// Judge gives the verdict of something finished at finished against due:
// early on a day before the deadline's day, on time on that day no later than
// the deadline, late after it (contract.md, Verdicts).
func Judge(finished, due time.Time) Verdict {
	if finished.After(due) {
		return VerdictLate
	}
	if DateOf(finished).Before(DateOf(due)) {
		return VerdictEarly
	}
	return VerdictOnTime
}

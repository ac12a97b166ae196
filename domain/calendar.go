package domain

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // the zone database travels with the binary
)

// MinutesPerWorkingDay is the length of a working day, whatever the agency's
// office hours (docs/domain.md, Working time).
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
func (d Date) Weekday() time.Weekday { return weekdayOfDay(d.dayNumber()) }

// AddDays moves the date by n days.
func (d Date) AddDays(n int) Date { return dateOfDay(d.dayNumber() + int64(n)) }

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

// dayNumber returns the days since 1970-01-01 (proleptic Gregorian); an
// out-of-range month or day is normalised as time.Date does.
func (d Date) dayNumber() int64 {
	if d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > daysIn(d.Year, d.Month) {
		t := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
		y, m, dd := t.Date()
		return daysFromCivil(y, m, dd)
	}
	return daysFromCivil(d.Year, d.Month, d.Day)
}

// daysIn returns the number of days of a month.
func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a valid proleptic
// Gregorian date (H. Hinnant's algorithm).
func daysFromCivil(y int, m time.Month, d int) int64 {
	yy := int64(y)
	if m <= 2 {
		yy--
	}
	era := yy / 400
	if yy < 0 && yy%400 != 0 {
		era--
	}
	yoe := yy - era*400
	mp := (int64(m) + 9) % 12
	doy := (153*mp+2)/5 + int64(d) - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}

// dateOfDay is the inverse of daysFromCivil.
func dateOfDay(n int64) Date {
	z := n + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if m > 12 {
		m -= 12
	}
	if m <= 2 {
		y++
	}
	return Date{int(y), time.Month(m), int(d)}
}

// weekdayOfDay returns the weekday of a day number (1970-01-01 was a Thursday).
func weekdayOfDay(n int64) time.Weekday {
	w := (n + 4) % 7
	if w < 0 {
		w += 7
	}
	return time.Weekday(w)
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

// Calendar is the working-time calendar of one agency: its office hours, the
// national days off and make-up working days (official schedules where
// shipped, statutory ones otherwise, for 1900-2299) and the days an
// administrator recorded. A make-up working day is worked with the agency's
// hours for that weekday when it has some (an agency open on Saturday
// mornings works a make-up Saturday morning), otherwise with its Monday hours
// (or, with Monday closed, those of the first weekday after it that has
// hours). A Calendar is safe for concurrent use; per-year data is computed on
// first use and kept.
type Calendar struct {
	hours     OfficeHours
	makeUp    []Interval            // hours of a make-up day whose weekday has none
	dayMin    [7]int64              // working minutes of an ordinary day, by weekday
	weekMin   int64                 // of an ordinary week
	prefixMin [15]int64             // prefixMin[i] = sum of dayMin[j%7] for j < i
	recorded  map[int][]CalendarDay // by year; an agency's own day already won over a national one
	lo, hi    int                   // no exception lies outside these years

	cached [holidayYears]atomic.Pointer[yearData] // years holidayFrom .. holidayFrom+holidayYears-1
	mu     sync.Mutex                             // serialises building a year
}

// The calendar applies national days off (official or statutory) to the
// years holidayFrom to holidayFrom+holidayYears-1 (1900-2299) and keeps
// their data; outside them only the weekly pattern and recorded days count.
const (
	holidayFrom  = 1900
	holidayYears = 400
)

// day kinds inside yearData
const (
	kindOrdinary uint8 = iota
	kindOff
	kindWork
)

// yearData is what a Calendar knows of one Gregorian year, immutable once built.
type yearData struct {
	first      int64   // day number of 1 January
	kinds      []uint8 // by day of the year
	exceptions []int64 // sorted days whose periods differ from the weekly pattern
	days       []CalendarDay
}

// NewCalendar builds an agency's calendar from its office hours and the days
// an administrator recorded: national ones (AgencyCode "") and the agency's
// own, which win over national ones for the same date. A recorded day
// overrides, for its date, both the official schedules and the statutory
// holidays; a recorded day of any kind other than DayWorkday is a day off.
// Office hours are normalised (clipped to the day, sorted, overlaps merged);
// hours with no period at all mean the default hours.
func NewCalendar(hours OfficeHours, recorded []CalendarDay) *Calendar {
	c := &Calendar{hours: hours.normalized(), recorded: map[int][]CalendarDay{},
		lo: holidayFrom, hi: holidayFrom + holidayYears - 1}
	c.makeUp = c.hours.makeUpHours()
	for wd := range 7 {
		c.dayMin[wd] = periodsMinutes(c.hours[wd])
		c.weekMin += c.dayMin[wd]
	}
	for i := 1; i < len(c.prefixMin); i++ {
		c.prefixMin[i] = c.prefixMin[i-1] + c.dayMin[(i-1)%7]
	}
	byDate := map[Date]CalendarDay{}
	for _, d := range recorded {
		d.Date = dateOfDay(d.Date.dayNumber()) // normalise
		if old, ok := byDate[d.Date]; ok && old.AgencyCode != "" && d.AgencyCode == "" {
			continue
		}
		d.Source = SourceRecorded
		byDate[d.Date] = d
	}
	for date, d := range byDate {
		c.recorded[date.Year] = append(c.recorded[date.Year], d)
		c.lo, c.hi = min(c.lo, date.Year), max(c.hi, date.Year)
	}
	return c
}

// periodsMinutes returns the working minutes of a day's periods.
func periodsMinutes(ps []Interval) int64 {
	var m int64
	for _, p := range ps {
		m += int64(p.End - p.Start)
	}
	return m
}

// year returns the data of a Gregorian year, building it on first use.
func (c *Calendar) year(y int) *yearData {
	i := y - holidayFrom
	if i < 0 || i >= holidayYears {
		return c.buildYear(y) // rare: not kept, so memory stays bounded
	}
	if yd := c.cached[i].Load(); yd != nil {
		return yd
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if yd := c.cached[i].Load(); yd != nil {
		return yd
	}
	yd := c.buildYear(y)
	c.cached[i].Store(yd)
	return yd
}

func (c *Calendar) buildYear(y int) *yearData {
	first := daysFromCivil(y, 1, 1)
	yd := &yearData{first: first, kinds: make([]uint8, daysFromCivil(y+1, 1, 1)-first)}
	merged := map[int64]CalendarDay{}
	if y >= holidayFrom && y < holidayFrom+holidayYears {
		for _, d := range NationalDays(y) {
			merged[d.Date.dayNumber()] = d
		}
	}
	for _, d := range c.recorded[y] {
		merged[d.Date.dayNumber()] = d
	}
	for n, d := range merged {
		wd := weekdayOfDay(n)
		if d.Kind == DayWorkday {
			yd.kinds[n-first] = kindWork
			if len(c.hours[wd]) == 0 {
				yd.exceptions = append(yd.exceptions, n)
			}
			yd.days = append(yd.days, d)
			continue
		}
		yd.kinds[n-first] = kindOff
		if c.dayMin[wd] > 0 {
			yd.exceptions = append(yd.exceptions, n)
		}
		if d.Source == SourceRecorded || c.dayMin[wd] > 0 || !isWeekend(wd) {
			yd.days = append(yd.days, d)
		}
	}
	slices.Sort(yd.exceptions)
	sortDays(yd.days)
	return yd
}

// periods returns the working periods of a day number.
func (c *Calendar) periods(n int64) []Interval {
	wd := weekdayOfDay(n)
	d := dateOfDay(n)
	yd := c.year(d.Year)
	switch yd.kinds[n-yd.first] {
	case kindOff:
		return nil
	case kindWork:
		if len(c.hours[wd]) == 0 {
			return c.makeUp
		}
	}
	return c.hours[wd]
}

// IsWorkingDay reports whether d is a working day of the agency: it has
// office hours, is not a day off, or is a make-up working day.
func (c *Calendar) IsWorkingDay(d Date) bool { return len(c.periods(d.dayNumber())) > 0 }

// Days lists, sorted by date, the days off and make-up working days of a
// year: national (official or statutory) ones that fall on a day the agency
// would otherwise work or on a weekday, every make-up working day, and every
// recorded day (weekend ones included). Recorded days replace the national
// day of the same date.
func (c *Calendar) Days(year int) []CalendarDay {
	return slices.Clone(c.year(year).days)
}

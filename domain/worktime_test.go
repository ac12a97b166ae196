package domain

import (
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"
)

// calAt parses "2006-01-02 15:04" or "2006-01-02 15:04:05" in Vietnam.
func calAt(t testing.TB, s string) time.Time {
	t.Helper()
	layout := "2006-01-02 15:04"
	if len(s) > len(layout) {
		layout = "2006-01-02 15:04:05"
	}
	v, err := time.ParseInLocation(layout, s, vietnam)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func saturdayMorningHours() OfficeHours {
	h := DefaultOfficeHours()
	h[time.Saturday] = []Interval{{8 * 60, 12 * 60}}
	return h
}

func earlyHours() OfficeHours { // 07:00-11:30, 13:30-17:00
	var h OfficeHours
	for wd := time.Monday; wd <= time.Friday; wd++ {
		h[wd] = []Interval{{7 * 60, 11*60 + 30}, {13*60 + 30, 17 * 60}}
	}
	return h
}

func TestAddScenarios(t *testing.T) {
	t.Parallel()
	def := NewCalendar(DefaultOfficeHours(), nil)
	sat := NewCalendar(saturdayMorningHours(), nil)
	early := NewCalendar(earlyHours(), nil)
	local := NewCalendar(DefaultOfficeHours(), []CalendarDay{{Date: Date{2026, 3, 11}, Kind: DayHoliday, Name: "Nghỉ địa phương", AgencyCode: "000.00.07.H29"}})
	const day, hour = MinutesPerWorkingDay, 60
	tests := []struct {
		name    string
		cal     *Calendar
		from    string
		minutes int64
		start   string // CountingStart
		due     string
	}{
		// Tết 2024: Thu 8/2 - Wed 14/2.
		{"Tết 2024, the day before", def, "2024-02-07 16:00", 1 * day, "2024-02-07 16:00", "2024-02-15 16:00"},
		{"Tết 2024, received on the holiday, half a day", def, "2024-02-08 10:00", day / 2, "2024-02-15 08:00", "2024-02-15 12:00"},
		// Tết 2025: Sat 25/1 - Sun 2/2.
		{"Tết 2025, received 16:59", def, "2025-01-24 16:59", 1 * hour, "2025-01-24 16:59", "2025-02-03 08:59"},
		{"Tết 2025, received 17:00", def, "2025-01-24 17:00", 1 * day, "2025-02-03 08:00", "2025-02-03 17:00"},
		{"Tết 2025, received on the Saturday", def, "2025-01-25 10:00", 2 * day, "2025-02-03 08:00", "2025-02-04 17:00"},
		// Tết 2026: weekdays off Mon 16/2 - Fri 20/2.
		{"Tết 2026, two days across", def, "2026-02-13 14:00", 2 * day, "2026-02-13 14:00", "2026-02-24 14:00"},
		{"Tết 2026, received mid-break", def, "2026-02-18 09:00", 3 * hour, "2026-02-23 08:00", "2026-02-23 11:00"},
		// 30/4-1/5 2025: make-up Saturday 26/4 (Monday hours), 30/4-2/5 off.
		{"make-up Saturday 26/4/2025", def, "2025-04-25 16:00", 1 * day, "2025-04-25 16:00", "2025-04-26 16:00"},
		{"make-up Saturday 26/4/2025, early arrival", def, "2025-04-26 07:30", 4 * hour, "2025-04-26 08:00", "2025-04-26 12:00"},
		{"30/4-4/5/2025 break", def, "2025-04-29 15:00", 1 * day, "2025-04-29 15:00", "2025-05-05 15:00"},
		// 2024: Mon 29/4 swapped for Saturday 4/5.
		{"30/4/2024 swap", def, "2024-04-26 16:00", 2 * hour, "2024-04-26 16:00", "2024-05-02 09:00"},
		{"make-up Saturday 4/5/2024", def, "2024-05-03 16:00", 2 * hour, "2024-05-03 16:00", "2024-05-04 09:00"},
		// 2026: make-up Saturday 22/8, Mon 31/8 - Wed 2/9 off.
		{"make-up Saturday 22/8/2026, deadline at 12:00", def, "2026-08-21 17:00", 4 * hour, "2026-08-22 08:00", "2026-08-22 12:00"},
		{"National Day 2026", def, "2026-08-28 09:00", 2 * day, "2026-08-28 09:00", "2026-09-04 09:00"},
		// National Day 2024: Mon 2/9, Tue 3/9 off; 2025: Mon 1/9, Tue 2/9 off.
		{"National Day 2024, Friday evening", def, "2024-08-30 16:30", 1 * hour, "2024-08-30 16:30", "2024-09-04 08:30"},
		{"National Day 2025, deadline at 12:00", def, "2025-08-29 12:30", 1 * day, "2025-08-29 13:00", "2025-09-03 12:00"},
		// Hùng Kings 2026: Sun 26/4, made up Mon 27/4; then Thu 30/4, Fri 1/5.
		{"Hùng Kings 2026 made up on Monday", def, "2026-04-24 16:00", 1 * day, "2026-04-24 16:00", "2026-04-28 16:00"},
		{"received on Mon 27/4/2026", def, "2026-04-27 10:00", 3 * day, "2026-04-28 08:00", "2026-05-04 17:00"},
		{"Hùng Kings 2025", def, "2025-04-04 16:00", 2 * hour, "2025-04-04 16:00", "2025-04-08 09:00"},
		// New Year 2026 (Thu 1/1).
		{"New Year 2026", def, "2025-12-31 16:00", 2 * hour, "2025-12-31 16:00", "2026-01-02 09:00"},
		// Ordinary weeks.
		{"received 12:30", def, "2026-03-11 12:30", 1 * hour, "2026-03-11 13:00", "2026-03-11 14:00"},
		{"received 12:00", def, "2026-03-11 12:00", 1 * hour, "2026-03-11 13:00", "2026-03-11 14:00"},
		{"received 16:59:30, seconds kept", def, "2026-03-11 16:59:30", 1, "2026-03-11 16:59:30", "2026-03-12 08:00:30"},
		{"received on a Saturday", def, "2026-03-14 10:00", day / 2, "2026-03-16 08:00", "2026-03-16 12:00"},
		{"Friday evening", def, "2026-03-13 19:45", 1 * day, "2026-03-16 08:00", "2026-03-16 17:00"},
		{"before opening", def, "2026-03-09 06:00", 30, "2026-03-09 08:00", "2026-03-09 08:30"},
		{"an hour and a half", def, "2026-03-12 11:15", 90, "2026-03-12 11:15", "2026-03-12 13:45"},
		{"half a day from the afternoon", def, "2026-03-10 14:00", day / 2, "2026-03-10 14:00", "2026-03-11 09:00"},
		{"deadline exactly 17:00", def, "2026-03-09 08:00", 1 * day, "2026-03-09 08:00", "2026-03-09 17:00"},
		{"deadline exactly 12:00", def, "2026-03-09 08:00", 4 * hour, "2026-03-09 08:00", "2026-03-09 12:00"},
		{"deadline exactly 17:00 from the afternoon", def, "2026-03-09 13:00", 4 * hour, "2026-03-09 13:00", "2026-03-09 17:00"},
		{"three days", def, "2026-03-09 10:00", 3 * day, "2026-03-09 10:00", "2026-03-12 10:00"},
		{"ten days", def, "2026-03-02 08:00", 10 * day, "2026-03-02 08:00", "2026-03-13 17:00"},
		{"zero is the counting start", def, "2026-03-13 17:00", 0, "2026-03-16 08:00", "2026-03-16 08:00"},
		{"a local day off", local, "2026-03-10 16:00", 2 * hour, "2026-03-10 16:00", "2026-03-12 09:00"},
		// An agency open on Saturday mornings.
		{"Saturday morning agency, Friday afternoon", sat, "2026-03-13 16:00", 4 * hour, "2026-03-13 16:00", "2026-03-14 11:00"},
		{"Saturday morning agency, Saturday 11:00", sat, "2026-03-14 11:00", 2 * hour, "2026-03-14 11:00", "2026-03-16 09:00"},
		{"Saturday morning agency, deadline Saturday 12:00", sat, "2026-03-14 08:00", 4 * hour, "2026-03-14 08:00", "2026-03-14 12:00"},
		{"Saturday morning agency, Tết Saturday", sat, "2026-02-14 09:00", 1 * hour, "2026-02-23 08:00", "2026-02-23 09:00"},
		{"Saturday morning agency, make-up Saturday", sat, "2025-04-25 16:00", 6 * hour, "2025-04-25 16:00", "2025-04-28 09:00"},
		// An agency with 07:00-11:30 and 13:30-17:00.
		{"07:00-11:30 agency, across lunch", early, "2026-03-09 11:00", 1 * hour, "2026-03-09 11:00", "2026-03-09 14:00"},
		{"07:00-11:30 agency, before opening", early, "2026-03-09 06:00", 1 * day, "2026-03-09 07:00", "2026-03-09 17:00"},
		{"07:00-11:30 agency, received 11:30", early, "2026-03-09 11:30", 30, "2026-03-09 13:30", "2026-03-09 14:00"},
		{"07:00-11:30 agency, deadline 11:30", early, "2026-03-09 07:00", 270, "2026-03-09 07:00", "2026-03-09 11:30"},
		{"07:00-11:30 agency, make-up Saturday", early, "2026-08-21 16:00", 6 * hour, "2026-08-21 16:00", "2026-08-22 14:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			from := calAt(t, tc.from)
			if got := tc.cal.CountingStart(from); !got.Equal(calAt(t, tc.start)) {
				t.Errorf("CountingStart(%s) = %s, want %s", tc.from, got, tc.start)
			}
			got := tc.cal.Add(from, tc.minutes)
			if !got.Equal(calAt(t, tc.due)) {
				t.Errorf("Add(%s, %d) = %s, want %s", tc.from, tc.minutes, got, tc.due)
			}
			if got.Location() != vietnam {
				t.Errorf("location %s", got.Location())
			}
			if b := tc.cal.Between(from, got); b != tc.minutes {
				t.Errorf("Between = %d, want %d", b, tc.minutes)
			}
		})
	}
}

func TestAddAcceptsAnyLocation(t *testing.T) {
	t.Parallel()
	c := NewCalendar(DefaultOfficeHours(), nil)
	utc := time.Date(2026, 3, 9, 1, 0, 0, 0, time.UTC) // 08:00 in Vietnam
	if got := c.Add(utc, 60); !got.Equal(calAt(t, "2026-03-09 09:00")) || got.Location() != vietnam {
		t.Errorf("got %s", got)
	}
	cet := time.FixedZone("CET", 3600) // 11:00 CET is 17:00 in Vietnam: counting starts the next morning
	if got := c.CountingStart(time.Date(2026, 3, 9, 11, 0, 0, 0, cet)); !got.Equal(calAt(t, "2026-03-10 08:00")) {
		t.Errorf("got %s", got)
	}
	if got := c.Add(calAt(t, "2026-03-09 09:00"), -5); !got.Equal(calAt(t, "2026-03-09 09:00")) {
		t.Errorf("negative minutes: %s", got)
	}
}

func TestBetween(t *testing.T) {
	t.Parallel()
	c := NewCalendar(DefaultOfficeHours(), nil)
	tests := []struct {
		a, b string
		want int64
	}{
		{"2026-03-09 08:00", "2026-03-09 08:00", 0},
		{"2026-03-09 09:00", "2026-03-09 08:00", 0},
		{"2026-03-09 08:00:00", "2026-03-09 08:00:59", 0},
		{"2026-03-09 08:00:30", "2026-03-09 08:02:00", 1},
		{"2026-03-09 11:59:30", "2026-03-09 13:00:30", 1},
		{"2026-03-09 08:00", "2026-03-09 17:00", 480},
		{"2026-03-09 00:00", "2026-03-10 00:00", 480},
		{"2026-03-13 16:00", "2026-03-16 09:00", 120},
		{"2025-01-24 16:00", "2025-02-03 09:00", 120},
		{"2025-04-25 08:00", "2025-05-06 08:00", 5 * 480},   // Fri, make-up Sat, Mon, Tue, Mon 5/5
		{"2026-01-01 00:00", "2027-01-01 00:00", 250 * 480}, // 261 weekdays - 12 days off + Sat 22/8
	}
	for _, tc := range tests {
		if got := c.Between(calAt(t, tc.a), calAt(t, tc.b)); got != tc.want {
			t.Errorf("Between(%s, %s) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}

// refCal is a plain day-by-day reference built from the same inputs.
type refCal struct {
	hours    OfficeHours
	recorded map[Date]CalendarDay
	national map[int]map[Date]CalendarDay
}

func newRefCal(hours OfficeHours, recorded []CalendarDay) *refCal {
	r := &refCal{hours: hours, recorded: map[Date]CalendarDay{}, national: map[int]map[Date]CalendarDay{}}
	for _, d := range recorded {
		if old, ok := r.recorded[d.Date]; ok && old.AgencyCode != "" && d.AgencyCode == "" {
			continue
		}
		r.recorded[d.Date] = d
	}
	return r
}

func (r *refCal) periods(d Date) []Interval {
	day, ok := r.recorded[d]
	if !ok {
		if r.national[d.Year] == nil {
			m := map[Date]CalendarDay{}
			for _, x := range NationalDays(d.Year) {
				m[x.Date] = x
			}
			r.national[d.Year] = m
		}
		day, ok = r.national[d.Year][d]
	}
	wd := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
	switch {
	case !ok:
		return r.hours[wd]
	case day.Kind != DayWorkday:
		return nil
	case len(r.hours[wd]) > 0:
		return r.hours[wd]
	case len(r.hours[time.Monday]) > 0:
		return r.hours[time.Monday]
	}
	for _, w := range []time.Weekday{time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if len(r.hours[w]) > 0 {
			return r.hours[w]
		}
	}
	return nil
}

func (r *refCal) add(t time.Time, minutes int64) time.Time {
	t = t.In(vietnam)
	need := time.Duration(minutes) * time.Minute
	y, m, dd := t.Date()
	for d := 0; ; d++ {
		mid := time.Date(y, m, dd+d, 0, 0, 0, 0, vietnam)
		ny, nm, nd := mid.Date()
		for _, p := range r.periods(Date{ny, nm, nd}) {
			ps, pe := mid.Add(time.Duration(p.Start)*time.Minute), mid.Add(time.Duration(p.End)*time.Minute)
			if !t.Before(pe) {
				continue
			}
			if t.Before(ps) {
				t = ps
			}
			if avail := pe.Sub(t); need <= avail {
				return t.Add(need)
			} else {
				need -= avail
			}
			t = pe
		}
	}
}

func (r *refCal) between(a, b time.Time) int64 {
	var total time.Duration
	a, b = a.In(vietnam), b.In(vietnam)
	y, m, dd := a.Date()
	for d := 0; ; d++ {
		mid := time.Date(y, m, dd+d, 0, 0, 0, 0, vietnam)
		if !mid.Before(b) {
			break
		}
		ny, nm, nd := mid.Date()
		for _, p := range r.periods(Date{ny, nm, nd}) {
			ps, pe := mid.Add(time.Duration(p.Start)*time.Minute), mid.Add(time.Duration(p.End)*time.Minute)
			if ps.Before(a) {
				ps = a
			}
			if pe.After(b) {
				pe = b
			}
			if pe.After(ps) {
				total += pe.Sub(ps)
			}
		}
	}
	return int64(total / time.Minute)
}

// testCalendars are the calendars of the property tests, with their references.
func testCalendars() (cals []*Calendar, refs []*refCal) {
	weird := OfficeHours{
		time.Tuesday:  {{0, 60}, {600, 601}, {1439, 1440}},
		time.Thursday: {{720, 1440}},
		time.Sunday:   {{300, 900}},
	}
	recorded := []CalendarDay{
		{Date: Date{2027, 2, 4}, Kind: DayHoliday, Name: NameTet},
		{Date: Date{2027, 2, 11}, Kind: DayWorkday, Name: "Đi làm"},
		{Date: Date{2027, 2, 13}, Kind: DayWorkday, Name: NameMakeUp},
		{Date: Date{2028, 6, 15}, Kind: DayHoliday, Name: "Nghỉ địa phương", AgencyCode: "000.00.07.H29"},
		{Date: Date{2028, 6, 15}, Kind: DayWorkday, Name: "national", AgencyCode: ""},
		{Date: Date{2030, 12, 31}, Kind: DayHoliday, Name: "Nghỉ"},
		{Date: Date{2031, 1, 4}, Kind: DayWorkday, Name: NameMakeUp},
	}
	for _, h := range []OfficeHours{DefaultOfficeHours(), saturdayMorningHours(), earlyHours(), weird} {
		cals = append(cals, NewCalendar(h, recorded))
		refs = append(refs, newRefCal(h.normalized(), recorded))
	}
	// Random recorded days over the test years.
	rng := rand.New(rand.NewPCG(7, 11))
	var random []CalendarDay
	for range 300 {
		d := dateOfDay(daysFromCivil(2020, 1, 1) + rng.Int64N(16*366))
		kind := DayHoliday
		if rng.IntN(3) == 0 {
			kind = DayWorkday
		}
		random = append(random, CalendarDay{Date: d, Kind: kind, Name: "random", AgencyCode: []string{"", "X.1"}[rng.IntN(2)]})
	}
	cals = append(cals, NewCalendar(DefaultOfficeHours(), random))
	refs = append(refs, newRefCal(DefaultOfficeHours(), random))
	return cals, refs
}

var (
	propStart = time.Date(2020, 1, 1, 0, 0, 0, 0, vietnam)
	propSpan  = time.Date(2036, 1, 1, 0, 0, 0, 0, vietnam).Sub(propStart)
)

func randomInstant(rng *rand.Rand) time.Time {
	t := propStart.Add(time.Duration(rng.Int64N(int64(propSpan))))
	switch rng.IntN(4) { // often on whole minutes and on period edges
	case 0:
		return t.Truncate(time.Minute)
	case 1:
		return t.Truncate(30 * time.Minute)
	}
	return t
}

func randomMinutes(rng *rand.Rand) int64 {
	switch rng.IntN(4) {
	case 0:
		return rng.Int64N(481)
	case 1:
		return rng.Int64N(20*480 + 1)
	case 2:
		return 240 * rng.Int64N(2001) // half days up to 1000 days
	}
	return rng.Int64N(1000*480 + 1)
}

func TestAddProperties(t *testing.T) {
	t.Parallel()
	cals, refs := testCalendars()
	n := 600
	if testing.Short() {
		n = 100
	}
	for i := range cals {
		t.Run("", func(t *testing.T) {
			t.Parallel()
			c, ref := cals[i], refs[i]
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			for range n {
				from := randomInstant(rng)
				m := randomMinutes(rng)
				start, due := c.CountingStart(from), c.Add(from, m)
				if want := ref.add(from, m); !due.Equal(want) {
					t.Fatalf("Add(%s, %d) = %s, reference %s", from, m, due, want)
				}
				if want := ref.add(from, 0); !start.Equal(want) {
					t.Fatalf("CountingStart(%s) = %s, reference %s", from, start, want)
				}
				if start.Before(from) || !c.IsWorkingDay(DateOf(start)) {
					t.Fatalf("CountingStart(%s) = %s", from, start)
				}
				if got := c.Between(start, due); got != m {
					t.Fatalf("Between(CountingStart, Add(%s, %d)) = %d", from, m, got)
				}
				later := from.Add(time.Duration(rng.Int64N(int64(30 * 24 * time.Hour))))
				if c.Add(later, m).Before(due) {
					t.Fatalf("a later start %s gives an earlier deadline than %s (%d min)", later, from, m)
				}
				a := rng.Int64N(m + 1)
				if got := c.Add(c.Add(from, a), m-a); !got.Equal(due) {
					t.Fatalf("Add(Add(%s, %d), %d) = %s, want %s", from, a, m-a, got, due)
				}
				if got, want := c.Between(from, later), ref.between(from, later); got != want {
					t.Fatalf("Between(%s, %s) = %d, reference %d", from, later, got, want)
				}
			}
		})
	}
}

// TestCalendarConcurrentUse shares one calendar among goroutines that make
// it build its years at the same time (run with -race).
func TestCalendarConcurrentUse(t *testing.T) {
	t.Parallel()
	c := NewCalendar(DefaultOfficeHours(), nil)
	ref := NewCalendar(DefaultOfficeHours(), nil)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 1))
			for range 200 {
				from := randomInstant(rng)
				m := randomMinutes(rng)
				if got := c.Add(from, m); got.IsZero() {
					t.Error("zero")
				}
				_ = c.Days(2020 + rng.IntN(20))
				_ = c.Between(from, from.Add(time.Duration(rng.Int64N(int64(100*24*time.Hour)))))
			}
		})
	}
	wg.Wait()
	for y := 2020; y < 2040; y++ {
		if a, b := dayList(c.Days(y)), dayList(ref.Days(y)); len(a) != len(b) {
			t.Errorf("%d: %d days vs %d", y, len(a), len(b))
		}
	}
}

func TestExtremeInstantsDoNotPanicOrHang(t *testing.T) {
	t.Parallel()
	c := NewCalendar(saturdayMorningHours(), []CalendarDay{{Date: Date{2026, 3, 11}, Kind: DayHoliday}})
	for _, tm := range []time.Time{{}, time.Unix(0, 0), time.Unix(-1<<40, 0), time.Unix(1<<40, 0), time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		_ = c.Add(tm, maxAddMinutes*10)
		_ = c.CountingStart(tm)
		_ = c.Between(tm, time.Unix(1<<40, 0))
		_ = c.Between(time.Unix(-1<<40, 0), tm)
	}
	if got := c.Between(time.Date(1000, 1, 1, 0, 0, 0, 0, vietnam), time.Date(3000, 1, 1, 0, 0, 0, 0, vietnam)); got < 2000*52*5*480 {
		t.Errorf("Between over 2000 years = %d", got)
	}
}

func TestDurationConversions(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		days float64
		want int64
		ok   bool
	}{
		{1, 480, true}, {0.5, 240, true}, {2.5, 1200, true}, {1000, 480000, true},
		{0, 0, false}, {-1, 0, false}, {0.25, 0, false}, {1000.5, 0, false}, {1e-12, 0, false},
		{math.NaN(), 0, false}, {math.Inf(1), 0, false},
	} {
		got, err := WorkingDaysToMinutes(tc.days)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("WorkingDaysToMinutes(%v) = %d, %v", tc.days, got, err)
		}
		if err != nil && KindOf(err) != Invalid {
			t.Errorf("WorkingDaysToMinutes(%v): kind %v", tc.days, KindOf(err))
		}
	}
	for _, tc := range []struct {
		hours float64
		want  int64
		ok    bool
	}{
		{1, 60, true}, {1.5, 90, true}, {0.25, 15, true}, {1.1, 66, true}, {8000, 480000, true}, {1.0 / 60, 1, true},
		{0, 0, false}, {-2, 0, false}, {0.01, 0, false}, {8000.5, 0, false}, {1e-12, 0, false},
		{math.NaN(), 0, false}, {math.Inf(-1), 0, false},
	} {
		got, err := WorkingHoursToMinutes(tc.hours)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("WorkingHoursToMinutes(%v) = %d, %v", tc.hours, got, err)
		}
	}
}

func FuzzAdd(f *testing.F) {
	f.Add(int64(1767225600), int64(480), int64(60), int64(3600), uint8(0))
	f.Add(int64(1737712740), int64(60), int64(0), int64(0), uint8(1))
	f.Add(int64(-62135596800), int64(1<<40), int64(-5), int64(1<<50), uint8(2))
	f.Add(int64(1745600000), int64(1000*480), int64(480), int64(-1), uint8(3))
	cals, refs := testCalendars()
	f.Fuzz(func(t *testing.T, sec, m, a, delta int64, which uint8) {
		i := int(which) % len(cals)
		c, ref := cals[i], refs[i]
		// Any input: no panic.
		raw := time.Unix(sec, delta)
		_ = c.Add(raw, m)
		_ = c.CountingStart(raw)
		_ = c.Between(raw, time.Unix(sec+delta, 0))
		// Within 2020-2035 and 1000 working days: the properties.
		from := propStart.Add(time.Duration(uint64(sec) % uint64(propSpan)))
		m = int64(uint64(m) % (1000*480 + 1))
		a = int64(uint64(a) % uint64(m+1))
		later := from.Add(time.Duration(uint64(delta) % uint64(60*24*time.Hour)))
		due := c.Add(from, m)
		start := c.CountingStart(from)
		if start.Before(from) || due.Before(start) {
			t.Fatalf("from %s: start %s, due %s", from, start, due)
		}
		if got := c.Between(start, due); got != m {
			t.Fatalf("Between(CountingStart(%s), Add(.., %d)) = %d", from, m, got)
		}
		if got := c.Add(c.Add(from, a), m-a); !got.Equal(due) {
			t.Fatalf("Add(Add(%s, %d), %d) = %s, want %s", from, a, m-a, got, due)
		}
		if c.Add(later, m).Before(due) {
			t.Fatalf("later start %s gives an earlier deadline", later)
		}
		if m <= 20*480 {
			if want := ref.add(from, m); !due.Equal(want) {
				t.Fatalf("Add(%s, %d) = %s, reference %s", from, m, due, want)
			}
		}
	})
}

// BenchmarkAdd measures Add on a warm, shared calendar (as the service
// caches it) from varied starts in 2024-2027.
func BenchmarkAdd(b *testing.B) {
	c := NewCalendar(DefaultOfficeHours(), nil)
	rng := rand.New(rand.NewPCG(1, 2))
	starts := make([]time.Time, 1024)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, vietnam)
	for i := range starts {
		starts[i] = base.Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
	}
	for y := 2024; y <= 2031; y++ {
		_ = c.Days(y) // warm the per-year data
	}
	for _, bc := range []struct {
		name    string
		minutes int64
	}{{"1h", 60}, {"1d", 480}, {"20d", 20 * 480}, {"250d", 250 * 480}} {
		b.Run(bc.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				_ = c.Add(starts[i&1023], bc.minutes)
				i++
			}
		})
	}
}

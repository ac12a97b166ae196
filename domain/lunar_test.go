package domain

import (
	"bufio"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func mustDate(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// Published Vietnamese Tết dates (UTC+7); 2007 and 2030 differ from China's.
var tetTable = map[int]string{
	2000: "2000-02-05", 2001: "2001-01-24", 2002: "2002-02-12", 2003: "2003-02-01", 2004: "2004-01-22",
	2005: "2005-02-09", 2006: "2006-01-29", 2007: "2007-02-17", 2008: "2008-02-07", 2009: "2009-01-26",
	2010: "2010-02-14", 2011: "2011-02-03", 2012: "2012-01-23", 2013: "2013-02-10", 2014: "2014-01-31",
	2015: "2015-02-19", 2016: "2016-02-08", 2017: "2017-01-28", 2018: "2018-02-16", 2019: "2019-02-05",
	2020: "2020-01-25", 2021: "2021-02-12", 2022: "2022-02-01", 2023: "2023-01-22", 2024: "2024-02-10",
	2025: "2025-01-29", 2026: "2026-02-17", 2027: "2027-02-06", 2028: "2028-01-26", 2029: "2029-02-13",
	2030: "2030-02-02",
	1985: "1985-01-21", // China: 1985-02-20 (the winter solstice of 1984 at 23:23 UTC+7)
}

func TestLunarNewYear(t *testing.T) {
	t.Parallel()
	for y, want := range tetTable {
		t.Run(strconv.Itoa(y), func(t *testing.T) {
			t.Parallel()
			if got := LunarNewYear(y); got != mustDate(t, want) {
				t.Errorf("LunarNewYear(%d) = %s, want %s", y, got, want)
			}
			if got := LunarToSolar(y, 1, 1, false); got != mustDate(t, want) {
				t.Errorf("LunarToSolar(%d, 1, 1) = %s, want %s", y, got, want)
			}
			if ly, m, d, leap := SolarToLunar(mustDate(t, want)); ly != y || m != 1 || d != 1 || leap {
				t.Errorf("SolarToLunar(%s) = %d/%d/%d leap %v", want, ly, m, d, leap)
			}
			// The day before Tết is the last day (29 or 30) of month 12.
			ly, m, d, _ := SolarToLunar(mustDate(t, want).AddDays(-1))
			if ly != y-1 || m != 12 || (d != 29 && d != 30) {
				t.Errorf("day before Tết %d = %d/%d/%d", y, ly, m, d)
			}
		})
	}
}

func TestHungKingsDay(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		year int
		want string
	}{{2009, "2009-04-04"} /* China: 04-05 */, {2023, "2023-04-29"}, {2024, "2024-04-18"}, {2025, "2025-04-07"}, {2026, "2026-04-26"}, {2027, "2027-04-16"}} {
		if got := HungKingsDay(tc.year); got != mustDate(t, tc.want) {
			t.Errorf("HungKingsDay(%d) = %s, want %s", tc.year, got, tc.want)
		}
	}
}

func TestLunarLeapMonths(t *testing.T) {
	t.Parallel()
	// Vietnamese leap months; 1984/85 and 1987 differ from China's (leap 10 in 1984, leap 6 in 1987).
	for y, want := range map[int]int{2001: 4, 2004: 2, 2006: 7, 2009: 5, 2012: 4, 2014: 9, 2017: 6, 2020: 4, 2023: 2, 2025: 6, 2028: 5, 2024: 0, 2026: 0, 1984: 0, 1985: 2, 1987: 7} {
		if got := LunarLeapMonth(y); got != want {
			t.Errorf("LunarLeapMonth(%d) = %d, want %d", y, got, want)
		}
	}
	if a, b := LunarToSolar(2025, 6, 1, false), LunarToSolar(2025, 6, 1, true); a != mustDate(t, "2025-06-25") || b != mustDate(t, "2025-07-25") {
		t.Errorf("2025 month 6 and leap 6 begin %s and %s", a, b)
	}
	if got := LunarToSolar(2026, 6, 1, true); got != LunarToSolar(2026, 6, 1, false) {
		t.Errorf("a leap flag on a month that is not leap should mean the ordinary month, got %s", got)
	}
}

// localTimeOfDay returns the hour of the day, UTC+7, of a Julian ephemeris day.
func localTimeOfDay(jde float64) float64 {
	jd := jde - deltaT(jdYear(jde))/86400 + vietnamHours/24
	return (jd + 0.5 - math.Floor(jd+0.5)) * 24
}

// nearMidnightEvent reports whether a new moon or a principal solar term
// falls between 23:00 and 24:00 UTC+7 (i.e. on the next day at UTC+8)
// within 40 days of day n: what makes the two calendars differ. Six
// minutes of margin allow for the predicted ΔT of future years (2057-09-28:
// new moon at 22:59:57 UTC+7 by our ΔT).
func nearMidnightEvent(n int64) bool {
	for k := lunationNear(n) - 2; k <= lunationNear(n)+2; k++ {
		if d := newMoonDay(k); d >= n-40 && d <= n+40 && localTimeOfDay(newMoonJDE(k)) >= 22.9 {
			return true
		}
	}
	for d := n - 40; d <= n+40; d++ {
		a, b := sunLongitudeAtDayStart(d), sunLongitudeAtDayStart(d+1)
		if int(a/30) != int(b/30) { // a term on day d: is it in the last hour?
			jd := float64(d+unixEpochJD) + 0.5 - vietnamHours/24 - 1.1/24 // 22:54 local of day d
			if int(sunLongitude(jd+deltaT(jdYear(jd))/86400)/30) == int(a/30) {
				return true
			}
		}
	}
	return false
}

// TestLunarAgainstChineseCalendar compares every month 1901-2099 with the
// Chinese calendar of lunar-go (UTC+8, testdata/lunar-go-cn.txt): the two
// must agree except where a new moon or a principal term falls in the hour
// before midnight UTC+7.
func TestLunarAgainstChineseCalendar(t *testing.T) {
	t.Parallel()
	f, err := os.Open("testdata/lunar-go-cn.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	months, differ := 0, map[int]bool{}
	for sc.Scan() {
		if strings.HasPrefix(sc.Text(), "#") {
			continue
		}
		fs := strings.Fields(sc.Text())
		ly, _ := strconv.Atoi(fs[0])
		lm, _ := strconv.Atoi(fs[1])
		first := mustDate(t, fs[2])
		leap := lm < 0
		if leap {
			lm = -lm
		}
		months++
		gotStart := LunarToSolar(ly, lm, 1, leap)
		y2, m2, d2, l2 := SolarToLunar(first)
		if gotStart == first && y2 == ly && m2 == lm && d2 == 1 && l2 == leap {
			continue
		}
		differ[ly] = true
		if !nearMidnightEvent(first.dayNumber()) {
			t.Errorf("lunar %d/%d (leap %v): China begins it %s, we %s (and read %s as %d/%d/%d leap %v) with no event near midnight",
				ly, lm, leap, first, gotStart, first, y2, m2, d2, l2)
		}
	}
	if months < 2400 {
		t.Fatalf("read only %d months", months)
	}
	for _, y := range []int{2007, 2030, 2053, 1985} {
		if !differ[y] {
			t.Errorf("lunar year %d should differ from China's", y)
		}
	}
}

func TestLunarRoundTripAndShape(t *testing.T) {
	t.Parallel()
	for y := 1900; y <= 2200; y++ {
		months := lunarYearMonths(y)
		if n := len(months); n != 12 && n != 13 {
			t.Fatalf("lunar year %d has %d months", y, n)
		}
		tet := dateOfDay(months[0].start)
		if tet.Before(Date{y, 1, 19}) || (Date{y, 2, 21}).Before(tet) {
			t.Errorf("Tết %d on %s", y, tet)
		}
		for i, m := range months {
			if m.days != 29 && m.days != 30 {
				t.Errorf("lunar %d/%d has %d days", y, m.month, m.days)
			}
			if i > 0 && m.start != months[i-1].start+int64(months[i-1].days) {
				t.Errorf("lunar %d/%d does not follow the month before", y, m.month)
			}
		}
		if last := months[len(months)-1]; last.start+int64(last.days) != LunarNewYear(y+1).dayNumber() {
			t.Errorf("lunar year %d does not end the day before Tết %d", y, y+1)
		}
	}
	start, end := mustDate(t, "2019-01-01").dayNumber(), mustDate(t, "2031-12-31").dayNumber()
	for n := start; n <= end; n++ {
		d := dateOfDay(n)
		y, m, day, leap := SolarToLunar(d)
		if back := LunarToSolar(y, m, day, leap); back != d {
			t.Fatalf("%s -> %d/%d/%d leap %v -> %s", d, y, m, day, leap, back)
		}
	}
}

func TestLunarFarYearsDoNotPanic(t *testing.T) {
	t.Parallel()
	for y := 1; y <= 9999; y += 97 {
		tet := LunarNewYear(y)
		if tet.Year != y || tet.Month > time.March {
			t.Errorf("Tết %d on %s", y, tet)
		}
		_ = StatutoryDays(y)
	}
}

func TestDayNumbers(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"1970-01-01", "2000-02-29", "1900-03-01", "2100-12-31", "0001-01-01", "9999-12-31"} {
		d := mustDate(t, s)
		n := d.dayNumber()
		want := int64(math.Floor(float64(time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Unix()) / 86400))
		if n != want || dateOfDay(n) != d {
			t.Errorf("%s: day %d (want %d), back %s", s, n, want, dateOfDay(n))
		}
		if d.Weekday() != time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Weekday() {
			t.Errorf("%s: weekday %s", s, d.Weekday())
		}
	}
	if got := (Date{2024, 12, 31}).AddDays(1); got != (Date{2025, 1, 1}) {
		t.Errorf("AddDays: %s", got)
	}
	if got := (Date{2025, 2, 30}).AddDays(0); got != (Date{2025, 3, 2}) {
		t.Errorf("AddDays should normalise like time.Date: %s", got)
	}
}

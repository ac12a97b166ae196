package domain

import "math"

// The Vietnamese lunisolar calendar (âm lịch), computed astronomically for
// the meridian of UTC+7 (the Chinese calendar uses UTC+8, hence the rare
// differences, e.g. Tết 2007 and 2030):
//   - a month begins on the local day of a new moon;
//   - month 11 is the month containing the winter solstice;
//   - when 13 months separate two months 11, the first of them (after month
//     11) that contains no principal solar term (the sun's apparent longitude
//     crossing a multiple of 30°) is a leap month and repeats the number of
//     the month before it.
//
// New moons follow Meeus, Astronomical Algorithms (2nd ed.), ch. 49 with the
// periodic and planetary corrections (error of seconds); the sun's apparent
// longitude follows ch. 25 (error about 0.01°, i.e. about 15 minutes of a
// solar term). UTC+7 is used for every year, although northern Vietnam kept
// UTC+8 until 1967.

const (
	unixEpochJD  = 2440588 // Julian day number of 1970-01-01
	vietnamHours = 7.0
	synodicMonth = 29.530588861
	degToRad     = math.Pi / 180
)

// newMoonJDE returns the instant (Julian ephemeris day, TT) of the new moon
// of lunation k, k = 0 being the one of 6 January 2000.
func newMoonJDE(k int) float64 {
	kf := float64(k)
	t := kf / 1236.85
	t2, t3, t4 := t*t, t*t*t, t*t*t*t
	jde := 2451550.09766 + synodicMonth*kf + 0.00015437*t2 - 0.000000150*t3 + 0.00000000073*t4
	e := 1 - 0.002516*t - 0.0000074*t2
	m := (2.5534 + 29.10535670*kf - 0.0000014*t2 - 0.00000011*t3) * degToRad                      // sun's mean anomaly
	mm := (201.5643 + 385.81693528*kf + 0.0107582*t2 + 0.00001238*t3 - 0.000000058*t4) * degToRad // moon's mean anomaly
	f := (160.7108 + 390.67050284*kf - 0.0016118*t2 - 0.00000227*t3 + 0.000000011*t4) * degToRad  // argument of latitude
	om := (124.7746 - 1.56375588*kf + 0.0020672*t2 + 0.00000215*t3) * degToRad                    // ascending node
	s := math.Sin
	jde += -0.40720*s(mm) + 0.17241*e*s(m) + 0.01608*s(2*mm) + 0.01039*s(2*f) +
		0.00739*e*s(mm-m) - 0.00514*e*s(mm+m) + 0.00208*e*e*s(2*m) - 0.00111*s(mm-2*f) -
		0.00057*s(mm+2*f) + 0.00056*e*s(2*mm+m) - 0.00042*s(3*mm) + 0.00042*e*s(m+2*f) +
		0.00038*e*s(m-2*f) - 0.00024*e*s(2*mm-m) - 0.00017*s(om) - 0.00007*s(mm+2*m) +
		0.00004*s(2*mm-2*f) + 0.00004*s(3*m) + 0.00003*s(mm+m-2*f) + 0.00003*s(2*mm+2*f) -
		0.00003*s(mm+m+2*f) + 0.00003*s(mm-m+2*f) - 0.00002*s(mm-m-2*f) - 0.00002*s(3*mm+m) +
		0.00002*s(4*mm)
	// Planetary arguments.
	planetary := [14][3]float64{
		{299.77, 0.107408, 0.000325}, {251.88, 0.016321, 0.000165}, {251.83, 26.651886, 0.000164},
		{349.42, 36.412478, 0.000126}, {84.66, 18.206239, 0.000110}, {141.74, 53.303771, 0.000062},
		{207.14, 2.453732, 0.000060}, {154.84, 7.306860, 0.000056}, {34.52, 27.261239, 0.000047},
		{207.19, 0.121824, 0.000042}, {291.34, 1.844379, 0.000040}, {161.72, 24.198154, 0.000037},
		{239.56, 25.513099, 0.000035}, {331.55, 3.592518, 0.000023},
	}
	for i, p := range planetary {
		a := p[0] + p[1]*kf
		if i == 0 {
			a -= 0.009173 * t2
		}
		jde += p[2] * s(a*degToRad)
	}
	return jde
}

// deltaT returns TT - UT in seconds around the given (fractional) year, from
// the polynomial fits of Espenak and Meeus; a minute of error is harmless here.
func deltaT(y float64) float64 {
	switch {
	case y >= 1900 && y < 1920:
		t := y - 1900
		return -2.79 + 1.494119*t - 0.0598939*t*t + 0.0061966*t*t*t - 0.000197*t*t*t*t
	case y >= 1920 && y < 1941:
		t := y - 1920
		return 21.20 + 0.84493*t - 0.076100*t*t + 0.0020936*t*t*t
	case y >= 1941 && y < 1961:
		t := y - 1950
		return 29.07 + 0.407*t - t*t/233 + t*t*t/2547
	case y >= 1961 && y < 1986:
		t := y - 1975
		return 45.45 + 1.067*t - t*t/260 - t*t*t/718
	case y >= 1986 && y < 2005:
		t := y - 2000
		return 63.86 + 0.3345*t - 0.060374*t*t + 0.0017275*t*t*t + 0.000651814*t*t*t*t + 0.00002373599*t*t*t*t*t
	case y >= 2005 && y < 2050:
		t := y - 2000
		return 62.92 + 0.32217*t + 0.005589*t*t
	case y >= 2050 && y < 2150:
		u := (y - 1820) / 100
		return -20 + 32*u*u - 0.5628*(2150-y)
	default:
		u := (y - 1820) / 100
		return -20 + 32*u*u
	}
}

// jdYear is the approximate Gregorian year of a Julian day.
func jdYear(jd float64) float64 { return 2000 + (jd-2451545)/365.2425 }

// newMoonDay returns the local (UTC+7) day number, days since 1970-01-01, on
// which the new moon of lunation k falls.
func newMoonDay(k int) int64 {
	jde := newMoonJDE(k)
	jd := jde - deltaT(jdYear(jde))/86400 + vietnamHours/24
	return int64(math.Floor(jd+0.5)) - unixEpochJD
}

// sunLongitude returns the sun's apparent geocentric longitude in degrees,
// [0, 360), at the Julian ephemeris day jde.
func sunLongitude(jde float64) float64 {
	t := (jde - 2451545) / 36525
	l0 := 280.46646 + 36000.76983*t + 0.0003032*t*t
	m := (357.52911 + 35999.05029*t - 0.0001537*t*t) * degToRad
	c := (1.914602-0.004817*t-0.000014*t*t)*math.Sin(m) + (0.019993-0.000101*t)*math.Sin(2*m) + 0.000289*math.Sin(3*m)
	om := (125.04 - 1934.136*t) * degToRad
	l := l0 + c - 0.00569 - 0.00478*math.Sin(om)
	l = math.Mod(l, 360)
	if l < 0 {
		l += 360
	}
	return l
}

// sunLongitudeAtDayStart returns the sun's longitude at local (UTC+7)
// midnight beginning the given day number.
func sunLongitudeAtDayStart(day int64) float64 {
	jd := float64(day+unixEpochJD) - 0.5 - vietnamHours/24
	return sunLongitude(jd + deltaT(jdYear(jd))/86400)
}

// lunationNear returns a lunation whose new moon is within a month before
// the given day number.
func lunationNear(day int64) int {
	jd := float64(day + unixEpochJD)
	return int(math.Floor((jd - 2451550.09766) / synodicMonth))
}

// month11 returns the lunation that begins month 11, the month containing
// the winter solstice of Gregorian year y. A solar term counts in the month
// whose local day it falls on.
func month11(y int) int {
	k := lunationNear(daysFromCivil(y, 11, 1)) // a new moon in October
	for i := 0; i < 4 && sunLongitudeAtDayStart(newMoonDay(k+1)) < 270; i++ {
		k++
	}
	return k
}

// lunarMonth is one month of the lunar calendar.
type lunarMonth struct {
	year, month int  // lunar year (the Gregorian year its Tết falls in) and month 1-12
	leap        bool // a leap month (tháng nhuận)
	start       int64
	days        int
}

// lunarSpan returns the months from month 11 before the winter solstice of
// Gregorian year y-1 to the month before month 11 of year y, numbered.
func lunarSpan(y int) []lunarMonth {
	k0, k1 := month11(y-1), month11(y)
	n := min(max(k1-k0, 12), 13) // always 12 or 13; clamped against nonsense far from our era
	starts := make([]int64, n+1)
	for i := range starts {
		starts[i] = newMoonDay(k0 + i)
	}
	leap := -1
	if n == 13 {
		sector := func(i int) int { return int(sunLongitudeAtDayStart(starts[i]) / 30) }
		prev := sector(1)
		for i := 1; i < n; i++ {
			next := sector(i + 1)
			if next == prev { // no principal term from start i to start i+1
				leap = i
				break
			}
			prev = next
		}
	}
	months := make([]lunarMonth, n)
	num, year := 11, y-1
	for i := 0; i < n; i++ {
		if i > 0 && i != leap {
			num++
			if num == 13 {
				num, year = 1, y
			}
		}
		months[i] = lunarMonth{year: year, month: num, leap: i == leap, start: starts[i], days: int(starts[i+1] - starts[i])}
	}
	return months
}

// lunarYearMonths returns the 12 or 13 months of lunar year y, from Tết
// (1st of month 1, in Gregorian year y) to the last day of month 12.
func lunarYearMonths(y int) []lunarMonth {
	var out []lunarMonth
	for _, m := range lunarSpan(y) {
		if m.year == y {
			out = append(out, m)
		}
	}
	for _, m := range lunarSpan(y + 1) {
		if m.year == y {
			out = append(out, m)
		}
	}
	return out
}

// LunarNewYear returns Tết Nguyên đán of year y: the first day of the first
// lunar month, which falls between 21 January and 20 February of y.
func LunarNewYear(y int) Date {
	span := lunarSpan(y)
	for _, m := range span {
		if m.year == y {
			return dateOfDay(m.start)
		}
	}
	return dateOfDay(span[len(span)-1].start) // unreachable: a span always holds month 1
}

// LunarLeapMonth returns the number of the leap month of lunar year y (the
// month it repeats), or 0 when the year has none.
func LunarLeapMonth(y int) int {
	for _, m := range lunarYearMonths(y) {
		if m.leap {
			return m.month
		}
	}
	return 0
}

// LunarToSolar returns the Gregorian date of day `day` of lunar month `month`
// (leap: the leap month of that number) of lunar year y. A leap flag on a
// month that is not leap that year means the ordinary month; a day past the
// month's end (a 30th in a 29-day month) runs on into the next days, as
// time.Date normalises; month outside 1-12 is clamped.
func LunarToSolar(y, month, day int, leap bool) Date {
	month = min(max(month, 1), 12)
	months := lunarYearMonths(y)
	found := months[0]
	for _, m := range months {
		if m.month == month && !m.leap {
			found = m
		}
	}
	for _, m := range months {
		if m.month == month && m.leap && leap {
			found = m
		}
	}
	return dateOfDay(found.start + int64(day-1))
}

// SolarToLunar returns the lunar date of a Gregorian date: lunar year (the
// Gregorian year of its Tết), month 1-12, day 1-30, and whether the month is
// a leap month.
func SolarToLunar(d Date) (year, month, day int, leap bool) {
	n := d.dayNumber()
	y := d.Year
	if n < LunarNewYear(y).dayNumber() {
		y--
	}
	months := lunarYearMonths(y)
	m := months[0]
	for _, c := range months {
		if c.start <= n {
			m = c
		}
	}
	return y, m.month, int(n-m.start) + 1, m.leap
}

// HungKingsDay returns Giỗ Tổ Hùng Vương of year y: the 10th day of the 3rd
// lunar month.
func HungKingsDay(y int) Date { return LunarToSolar(y, 3, 10, false) }

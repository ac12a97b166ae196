package domain

import (
	"math"
	"slices"
	"time"
)

// Working-time arithmetic. Instants become a local day number and the
// nanoseconds since local midnight, so seconds are kept exactly; amounts are
// counted in nanoseconds of working time. Ordinary days are never walked one
// by one: between two exceptions (days whose periods differ from the weekly
// pattern) whole weeks are skipped with the week's working time, so the cost
// grows with the number of days off and make-up days crossed, not with the
// length of the duration.

const minuteNs = int64(time.Minute)

// maxAddMinutes caps what Add counts: ten times the longest duration a
// procedure may have (1,000 working days), far beyond any real use.
const maxAddMinutes = 10 * 1000 * MinutesPerWorkingDay

// position returns the local day number of t and the nanoseconds since its
// local midnight.
func position(t time.Time) (day, off int64) {
	lt := t.In(vietnam)
	y, m, d := lt.Date()
	h, mi, s := lt.Clock()
	return daysFromCivil(y, m, d), (int64(h*60+mi)*60+int64(s))*int64(time.Second) + int64(lt.Nanosecond())
}

// instant is the inverse of position, in the Vietnam location.
func instant(day, off int64) time.Time {
	d := dateOfDay(day)
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, int(off), vietnam)
}

// CountingStart returns when counting begins for something received at t:
// t itself inside a working period, otherwise (in a gap, after hours, on a
// day off, or exactly at the end of a period such as 12:00 or 17:00) the
// start of the next working period. It equals Add(t, 0).
func (c *Calendar) CountingStart(t time.Time) time.Time { return c.Add(t, 0) }

// Add returns the instant reached by counting minutes of working time from t
// (from CountingStart(t) when t is outside working time). A total that ends
// exactly at the end of a working period is that end (17:00, not the next
// morning). Seconds of t are kept. Negative minutes count as 0; more than
// 10,000 working days are capped there. The result is in the Vietnam
// location, whatever t's.
func (c *Calendar) Add(t time.Time, minutes int64) time.Time {
	minutes = min(max(minutes, 0), maxAddMinutes)
	day, off := position(t)
	day, off = c.advance(day, off, minutes*minuteNs)
	return instant(day, off)
}

// advance counts r nanoseconds of working time from (day, off).
func (c *Calendar) advance(day, off, r int64) (int64, int64) {
	if o, ok := walkDay(c.periods(day), off, &r); ok {
		return day, o
	}
	day++
	const horizon = 4 * 366 // days looked ahead for an exception at a time
	for {
		e, isException := c.nextException(day, day+horizon)
		if w := c.ordinaryMinutes(day, e) * minuteNs; w > 0 && r <= w {
			// r ends within the ordinary days [day, e).
			if weekNs := c.weekMin * minuteNs; r > weekNs {
				k := (r - 1) / weekNs
				day += 7 * k
				r -= k * weekNs
			}
			for {
				wd := weekdayOfDay(day)
				if dn := c.dayMin[wd] * minuteNs; dn > 0 && r <= dn {
					o, _ := walkDay(c.hours[wd], 0, &r)
					return day, o
				} else {
					r -= dn
				}
				day++
			}
		} else {
			r -= w
		}
		day = e
		if isException {
			if o, ok := walkDay(c.periods(day), 0, &r); ok {
				return day, o
			}
			day++
		}
	}
}

// walkDay counts *r from off through a day's periods: it returns where the
// count ends and true, or subtracts the day's working time from *r and
// returns false. With *r == 0 it returns the first working instant not
// before off (never the end of a period).
func walkDay(ps []Interval, off int64, r *int64) (int64, bool) {
	for _, p := range ps {
		s, e := int64(p.Start)*minuteNs, int64(p.End)*minuteNs
		if off >= e {
			continue
		}
		from := max(off, s)
		if avail := e - from; *r <= avail {
			return from + *r, true
		} else {
			*r -= avail
		}
	}
	return 0, false
}

// ordinaryMinutes returns the working minutes of the days [from, to) as if
// none of them were an exception.
func (c *Calendar) ordinaryMinutes(from, to int64) int64 {
	if to <= from {
		return 0
	}
	n := to - from
	w := int(weekdayOfDay(from))
	r := int(n % 7)
	return (n/7)*c.weekMin + c.prefixMin[w+r] - c.prefixMin[w]
}

// nextException returns the first exception day in [from, limit), and true,
// or limit and false.
func (c *Calendar) nextException(from, limit int64) (int64, bool) {
	for from < limit {
		y := dateOfDay(from).Year
		if y > c.hi {
			return limit, false
		}
		if y < c.lo {
			from = daysFromCivil(c.lo, 1, 1)
			continue
		}
		yd := c.year(y)
		if i, _ := slices.BinarySearch(yd.exceptions, from); i < len(yd.exceptions) {
			if e := yd.exceptions[i]; e < limit {
				return e, true
			}
			return limit, false
		}
		from = yd.first + int64(len(yd.kinds))
	}
	return limit, false
}

// Between returns the whole working minutes in [a, b) (0 when b is not after
// a); seconds count, and the total is rounded down.
func (c *Calendar) Between(a, b time.Time) int64 {
	if !b.After(a) {
		return 0
	}
	da, oa := position(a)
	db, ob := position(b)
	if db < da {
		return 0
	}
	if da == db {
		return overlap(c.periods(da), oa, ob) / minuteNs
	}
	// Whole days in whole minutes (no overflow however far apart a and b
	// are), the two partial days in nanoseconds.
	whole := c.ordinaryMinutes(da+1, db)
	for n := da + 1; ; n++ {
		e, ok := c.nextException(n, db)
		if !ok {
			break
		}
		whole += periodsMinutes(c.periods(e)) - c.dayMin[weekdayOfDay(e)]
		n = e
	}
	partial := overlap(c.periods(da), oa, math.MaxInt64) + overlap(c.periods(db), 0, ob)
	return whole + partial/minuteNs
}

// overlap returns the working time of a day's periods within [lo, hi).
func overlap(ps []Interval, lo, hi int64) int64 {
	var sum int64
	for _, p := range ps {
		s, e := max(int64(p.Start)*minuteNs, lo), min(int64(p.End)*minuteNs, hi)
		if e > s {
			sum += e - s
		}
	}
	return sum
}

// maxDurationMinutes is the longest duration a procedure or step may have.
const maxDurationMinutes = 1000 * MinutesPerWorkingDay

// WorkingDaysToMinutes converts working days, whole or half (0.5, 1, 1.5,
// ...), to working minutes (a working day is 480 minutes). It rejects zero or
// less, NaN, infinities, other fractions and more than 1,000 working days
// with an Invalid error.
func WorkingDaysToMinutes(days float64) (int64, error) {
	if math.IsNaN(days) || math.IsInf(days, 0) || days <= 0 {
		return 0, Invalidf("working days must be a number greater than 0")
	}
	if days > 1000 {
		return 0, Invalidf("working days must be at most 1000")
	}
	halves, ok := whole(days * 2)
	if !ok || halves < 1 {
		return 0, Invalidf("working days must be whole or half days (e.g. 0.5, 1, 2.5), not %v", days)
	}
	return halves * MinutesPerWorkingDay / 2, nil
}

// WorkingHoursToMinutes converts working hours to working minutes; the
// hours must come to whole minutes (1.5 or 0.25, not 0.01). It rejects zero
// or less, NaN, infinities and more than 8,000 hours (1,000 working days)
// with an Invalid error.
func WorkingHoursToMinutes(hours float64) (int64, error) {
	if math.IsNaN(hours) || math.IsInf(hours, 0) || hours <= 0 {
		return 0, Invalidf("working hours must be a number greater than 0")
	}
	if hours*60 > maxDurationMinutes {
		return 0, Invalidf("working hours must be at most 8000 (1000 working days)")
	}
	m, ok := whole(hours * 60)
	if !ok || m < 1 {
		return 0, Invalidf("working hours must come to whole minutes (e.g. 1.5 or 0.25), not %v", hours)
	}
	return m, nil
}

// whole returns x as an integer when it is one, up to floating-point noise
// (1.1 hours * 60 is 66.00000000000001).
func whole(x float64) (int64, bool) {
	r := math.Round(x)
	if math.Abs(x-r) > 1e-9*math.Max(1, math.Abs(x)) {
		return 0, false
	}
	return int64(r), true
}

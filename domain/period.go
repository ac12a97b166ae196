package domain

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// MaxPeriodYears caps a report period: from and to at most five years apart
// (to before the same day five years after from).
const MaxPeriodYears = 5

// Period is a reporting period of local dates, both included
// (docs/reports.md).
type Period struct {
	// Name is how the period was asked for ("2026-Q1", "stat:2026-03"), or ""
	// for a from/to range.
	Name     string
	From, To Date
}

// Start is local midnight at the beginning of From.
func (p Period) Start() time.Time { return p.From.Time() }

// End is local midnight after To: the period is [Start, End).
func (p Period) End() time.Time { return p.To.AddDays(1).Time() }

// Slug names the period in a file name: the name with ':' written as '-', or
// "FROM_TO".
func (p Period) Slug() string {
	if p.Name != "" {
		return strings.ReplaceAll(p.Name, ":", "-")
	}
	return p.From.String() + "_" + p.To.String()
}

// Label is the period in Vietnamese for headings: "từ 15/12/2025 đến 14/03/2026".
func (p Period) Label() string {
	f := func(d Date) string { return fmt.Sprintf("%02d/%02d/%04d", d.Day, d.Month, d.Year) }
	return "từ " + f(p.From) + " đến " + f(p.To)
}

// NewPeriod checks a from/to range: both real dates, from not after to, and
// at most MaxPeriodYears long.
func NewPeriod(from, to Date) (Period, error) {
	var f Fields
	if to.Before(from) {
		f.Add("from", "must not be after to")
	} else if !to.Before(from.addYears(MaxPeriodYears)) {
		f.Add("to", "the period is longer than %d years", MaxPeriodYears)
	}
	if from.Year < 1900 || to.Year > 2299 {
		f.Add("from", "the period must lie within 1900-2299")
	}
	if err := f.Err(); err != nil {
		return Period{}, err
	}
	return Period{From: from, To: to}, nil
}

// ParsePeriod reads a named period (docs/reports.md):
//
//	2026-03       a calendar month
//	2026-Q1       a calendar quarter
//	2026          a calendar year
//	stat:2026-03  a statistical month, 15/02/2026 to 14/03/2026
//	stat:2026-Q1  a statistical quarter, 15/12/2025 to 14/03/2026
//	stat:2026     a statistical year, 15/12/2025 to 14/12/2026
//
// The statistical periods are the government's reporting periods, which run
// from the 15th of the month before to the 14th (Circular 01/2018/TT-VPCP
// art. 25, kept by Circular 03/2025/TT-VPCP): a period's name is the month,
// quarter or year it ends in.
func ParsePeriod(s string) (Period, error) {
	bad := func() (Period, error) {
		return Period{}, &Error{Kind: Invalid, Code: CodeValidationFailed, Detail: "unknown period " + strconv.Quote(s),
			Fields: []FieldError{{Field: "period", Message: "must be YYYY, YYYY-MM or YYYY-Qn, optionally prefixed by stat: (e.g. 2026-03, 2026-Q1, stat:2026-Q1)"}}}
	}
	body, stat := strings.CutPrefix(s, "stat:")
	if len(body) < 4 || len(body) > 7 {
		return bad()
	}
	year, err := strconv.Atoi(body[:4])
	if err != nil || body[0] == '+' || body[0] == '-' || year < 1900 || year > 2299 {
		return bad()
	}
	m1, m2, ok := periodMonths(body[4:])
	if !ok {
		return bad()
	}
	if !stat {
		from := Date{year, time.Month(m1), 1}
		to := Date{year, time.Month(m2), daysIn(year, time.Month(m2))}
		return Period{Name: s, From: from, To: to}, nil
	}
	// 15th of the month before the first month to the 14th of the last.
	from := Date{year, time.Month(m1), 15}.AddMonths(-1)
	to := Date{year, time.Month(m2), 14}
	return Period{Name: s, From: from, To: to}, nil
}

// periodMonths reads what follows a period's year ("", -MM or -Qn) as the
// first and last month of the period, 1-12.
func periodMonths(rest string) (m1, m2 int, ok bool) {
	switch {
	case rest == "":
		return 1, 12, true
	case len(rest) == 3 && rest[0] == '-' && rest[1] >= '0' && rest[1] <= '1' && rest[2] >= '0' && rest[2] <= '9':
		m, _ := strconv.Atoi(rest[1:])
		return m, m, m >= 1 && m <= 12
	case len(rest) == 3 && rest[:2] == "-Q" && rest[2] >= '1' && rest[2] <= '4':
		q := int(rest[2] - '0')
		return 3*q - 2, 3 * q, true
	}
	return 0, 0, false
}

// AddMonths moves the date by n months, keeping the day (clipped to the
// month's length).
func (d Date) AddMonths(n int) Date {
	m := int(d.Month) - 1 + n
	y := d.Year + m/12
	m %= 12
	if m < 0 {
		m += 12
		y--
	}
	out := Date{y, time.Month(m + 1), d.Day}
	if dd := daysIn(y, out.Month); out.Day > dd {
		out.Day = dd
	}
	return out
}

func (d Date) addYears(n int) Date { return d.AddMonths(12 * n) }

// DayNumber is the date as the integer YYYYMMDD, the key of daily roll-ups.
func (d Date) DayNumber() int { return d.Year*10000 + int(d.Month)*100 + d.Day }

// MonthNumber is the date's month as the integer YYYYMM, the key of monthly
// roll-ups.
func (d Date) MonthNumber() int { return d.Year*100 + int(d.Month) }

// StatMonthNumber is the statistical month the date falls in, as the
// integer YYYYMM of the month it ends in: from the 15th on, the next month
// (15/02-14/03 is 202603), the key of statistical-month roll-ups.
func (d Date) StatMonthNumber() int {
	if d.Day >= 15 {
		return d.AddMonths(1).MonthNumber()
	}
	return d.MonthNumber()
}

// DateOfNumber is the inverse of DayNumber.
func DateOfNumber(n int) Date { return Date{n / 10000, time.Month(n / 100 % 100), n % 100} }

// FirstOfMonth is the first day of the date's month.
func (d Date) FirstOfMonth() Date { return Date{d.Year, d.Month, 1} }

// LastOfMonth is the last day of the date's month.
func (d Date) LastOfMonth() Date { return Date{d.Year, d.Month, daysIn(d.Year, d.Month)} }

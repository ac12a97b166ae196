package domain

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Interval is a working period of a day, in minutes after local midnight:
// [Start, End), 0 <= Start < End <= 1440.
type Interval struct{ Start, End int }

// OfficeHours maps each weekday (time.Weekday index) to its working periods,
// in order and without overlaps. A day without periods is closed.
type OfficeHours [7][]Interval

const minutesPerDay = 24 * 60

// DefaultOfficeHours is Monday-Friday 08:00-12:00 and 13:00-17:00.
func DefaultOfficeHours() OfficeHours {
	var h OfficeHours
	for wd := time.Monday; wd <= time.Friday; wd++ {
		h[wd] = []Interval{{8 * 60, 12 * 60}, {13 * 60, 17 * 60}}
	}
	return h
}

// dayKeys are the keys of the office_hours field, by time.Weekday.
var dayKeys = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// ParseOfficeHours reads the office_hours field of an agency: keys mon, tue,
// wed, thu, fri, sat and sun, each a list of "HH:MM-HH:MM" local periods in
// order, without overlaps, within 00:00-24:00. A day left out (or with an
// empty list) is closed; at least one day must have hours. The errors are
// plain English, naming the day and the value.
func ParseOfficeHours(m map[string][]string) (OfficeHours, error) {
	var h OfficeHours
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys) // report errors in a stable order
	for _, k := range keys {
		wd := slices.Index(dayKeys[:], k)
		if wd < 0 {
			return OfficeHours{}, fmt.Errorf("unknown day %q: use mon, tue, wed, thu, fri, sat or sun", k)
		}
	}
	for wd := time.Sunday; wd <= time.Saturday; wd++ {
		k := dayKeys[wd]
		for _, v := range m[k] {
			iv, err := parseInterval(v)
			if err != nil {
				return OfficeHours{}, fmt.Errorf("%s: %q %v", k, v, err)
			}
			if n := len(h[wd]); n > 0 && iv.Start < h[wd][n-1].End {
				return OfficeHours{}, fmt.Errorf("%s: %q overlaps or comes before %q: list the periods of a day in order, without overlaps",
					k, v, formatInterval(h[wd][n-1]))
			}
			h[wd] = append(h[wd], iv)
		}
	}
	if err := h.Validate(); err != nil {
		return OfficeHours{}, err
	}
	return h, nil
}

// parseInterval reads "HH:MM-HH:MM".
func parseInterval(s string) (Interval, error) {
	from, to, ok := strings.Cut(strings.TrimSpace(s), "-")
	if !ok {
		return Interval{}, errors.New("is not a period HH:MM-HH:MM")
	}
	a, okA := parseClock(strings.TrimSpace(from))
	b, okB := parseClock(strings.TrimSpace(to))
	if !okA || !okB {
		return Interval{}, errors.New("is not a period HH:MM-HH:MM within 00:00-24:00")
	}
	if a >= b {
		return Interval{}, errors.New("must start before it ends")
	}
	return Interval{a, b}, nil
}

// parseClock reads HH:MM, 00:00 to 24:00, in minutes.
func parseClock(s string) (int, bool) {
	if len(s) != 5 || s[2] != ':' {
		return 0, false
	}
	for _, i := range []int{0, 1, 3, 4} {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	hh := int(s[0]-'0')*10 + int(s[1]-'0')
	mm := int(s[3]-'0')*10 + int(s[4]-'0')
	if mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, false
	}
	return hh*60 + mm, true
}

func formatClock(m int) string { return fmt.Sprintf("%02d:%02d", m/60, m%60) }

func formatInterval(iv Interval) string { return formatClock(iv.Start) + "-" + formatClock(iv.End) }

// Format returns the office_hours field: the days with hours, each a list of
// "HH:MM-HH:MM" periods; ParseOfficeHours reads it back.
func (h OfficeHours) Format() map[string][]string {
	out := map[string][]string{}
	for wd, ps := range h {
		if len(ps) == 0 {
			continue
		}
		list := make([]string, len(ps))
		for i, p := range ps {
			list[i] = formatInterval(p)
		}
		out[dayKeys[wd]] = list
	}
	return out
}

// IsZero reports whether no day has office hours.
func (h OfficeHours) IsZero() bool {
	for _, ps := range h {
		if len(ps) > 0 {
			return false
		}
	}
	return true
}

// Validate checks that every period lies within 00:00-24:00 and starts
// before it ends, that each day's periods are in order without overlaps, and
// that at least one day has hours.
func (h OfficeHours) Validate() error {
	for wd, ps := range h {
		for i, p := range ps {
			if p.Start < 0 || p.End > minutesPerDay || p.Start >= p.End {
				return fmt.Errorf("%s: period %d (%d-%d minutes) must lie within 00:00-24:00 and start before it ends", dayKeys[wd], i+1, p.Start, p.End)
			}
			if i > 0 && p.Start < ps[i-1].End {
				return fmt.Errorf("%s: %q overlaps or comes before %q: list the periods of a day in order, without overlaps",
					dayKeys[wd], formatInterval(p), formatInterval(ps[i-1]))
			}
		}
	}
	if h.IsZero() {
		return errors.New("office hours must give at least one day with hours (mon, tue, wed, thu, fri, sat or sun)")
	}
	return nil
}

// normalized returns a copy of h that the arithmetic can trust: periods
// clipped to the day, sorted, with overlapping or touching ones merged.
// Hours with no period at all become the default hours.
func (h OfficeHours) normalized() OfficeHours {
	var out OfficeHours
	for wd, ps := range h {
		var list []Interval
		for _, p := range ps {
			p.Start, p.End = max(p.Start, 0), min(p.End, minutesPerDay)
			if p.Start < p.End {
				list = append(list, p)
			}
		}
		slices.SortFunc(list, func(a, b Interval) int { return a.Start - b.Start })
		var merged []Interval
		for _, p := range list {
			if n := len(merged); n > 0 && p.Start <= merged[n-1].End {
				merged[n-1].End = max(merged[n-1].End, p.End)
				continue
			}
			merged = append(merged, p)
		}
		out[wd] = merged
	}
	if out.IsZero() {
		return DefaultOfficeHours()
	}
	return out
}

// makeUpHours returns the periods of a make-up working day (a Saturday or
// Sunday the government or an administrator made a working day) whose
// weekday has no hours of its own: the Monday hours, or, when Monday is
// closed, those of the first weekday after it (Tuesday ... Sunday) with hours.
func (h OfficeHours) makeUpHours() []Interval {
	for _, wd := range []time.Weekday{time.Monday, time.Tuesday, time.Wednesday, time.Thursday, time.Friday, time.Saturday, time.Sunday} {
		if len(h[wd]) > 0 {
			return h[wd]
		}
	}
	return nil
}

package domain

import (
	"fmt"
	"time"
	"unicode/utf8"
)

// Input bounds every adapter applies before a command runs
// (docs/security.md, "Input").

// MinTime and MaxTime bound every time and date accepted from outside:
// 1900-01-01 to 2200-01-01 (exclusive) UTC. Older or later instants are not
// dossier times, the holiday rules are not defined for them, and they stay
// well inside what both databases and JSON clients handle.
var (
	MinTime = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// TimeBoundsMessage names the bounds in a field error.
const TimeBoundsMessage = "must be from 1900-01-01 to 2199-12-31"

// ValidTime reports whether t is within MinTime (inclusive) and MaxTime.
func ValidTime(t time.Time) bool { return !t.Before(MinTime) && t.Before(MaxTime) }

// MaxAmount is the largest money amount (VND) accepted: 2^53-1, the largest
// integer every JSON client (IEEE 754 doubles) reads exactly.
const MaxAmount int64 = 1<<53 - 1

// TextProblem says what is wrong with a text from outside, "" when nothing:
// NUL and the other control characters except tab and newline (C0, DEL,
// C1), bidirectional embeddings, overrides and isolates (U+202A-U+202E,
// U+2066-U+2069: they make a name display as another, "Trojan Source"),
// and invalid UTF-8. PostgreSQL refuses NUL in text; the others are never
// part of a name, an address or a reason.
func TextProblem(s string) string {
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			if _, n := utf8.DecodeRuneInString(s[i:]); n <= 1 {
				return "is not valid UTF-8"
			}
		case r == '\t' || r == '\n':
		case r < 0x20 || (r >= 0x7f && r <= 0x9f):
			return "must not contain control characters (only tab and newline)"
		case (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			return "must not contain bidirectional override characters"
		}
	}
	return ""
}

// checkText adds a field error when a text breaks TextProblem.
func checkText(f *Fields, field, s string) {
	if msg := TextProblem(s); msg != "" {
		f.Add(field, "%s", msg)
	}
}

// ParseInputDate is ParseDate for a date from outside: within the years of
// MinTime and MaxTime.
func ParseInputDate(s string) (Date, error) {
	d, err := ParseDate(s)
	if err != nil {
		return Date{}, err
	}
	if d.Year < MinTime.Year() || d.Year >= MaxTime.Year() {
		return Date{}, fmt.Errorf("date out of range (%s): %q", TimeBoundsMessage, s)
	}
	return d, nil
}

package domain

import (
	"testing"
	"time"
)

func TestTextProblem(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"Nguyễn Văn An", true}, {"dòng 1\ndòng 2\tcột", true}, {"", true}, {"\u200fRLM mark", true},
		{"a\x00b", false}, {"a\rb", false}, {"\x1b[31m", false}, {"a\x7f", false}, {"a\u0085", false},
		{"abc\u202edcb", false}, {"\u2066x\u2069", false}, {"\xff\xfe", false},
	} {
		if got := TextProblem(tc.in) == ""; got != tc.ok {
			t.Errorf("TextProblem(%q) ok=%v, want %v", tc.in, got, tc.ok)
		}
	}
}

func TestValidTime(t *testing.T) {
	for _, tc := range []struct {
		t  time.Time
		ok bool
	}{
		{time.Date(2026, 3, 16, 8, 0, 0, 0, time.UTC), true}, {MinTime, true}, {MaxTime.Add(-time.Nanosecond), true},
		{MinTime.Add(-time.Nanosecond), false}, {MaxTime, false}, {time.Date(9999, 6, 1, 8, 0, 0, 0, time.UTC), false}, {time.Time{}, false},
	} {
		if ValidTime(tc.t) != tc.ok {
			t.Errorf("ValidTime(%v) != %v", tc.t, tc.ok)
		}
	}
}

package domain

import (
	"testing"
	"time"
)

func TestRate(t *testing.T) {
	now := time.Date(2026, 4, 20, 3, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name    string
		status  Status
		rated   bool
		rating  int
		comment string
		code    string
	}{
		{"a good rating", StatusReturned, false, 5, "Nhanh", ""},
		{"too low", StatusReturned, false, 0, "", "validation_failed"},
		{"too high", StatusReturned, false, 6, "", "validation_failed"},
		{"a comment too long", StatusReturned, false, 3, string(make([]byte, 2001)), "validation_failed"},
		{"before the result", StatusProcessed, false, 4, "", "not_returned"},
		{"twice", StatusReturned, true, 4, "", "already_rated"},
	} {
		d := &Dossier{Status: c.status, Version: 3}
		if c.rated {
			d.RatedAt = &now
		}
		ch, err := d.Rate(c.rating, c.comment, now)
		if c.code != "" {
			if e, ok := err.(*Error); !ok || e.Code != c.code || d.Version != 3 {
				t.Errorf("%s: %v (version %d), want %s and nothing changed", c.name, err, d.Version, c.code)
			}
			continue
		}
		if err != nil || d.Rating != c.rating || d.RatedAt == nil || d.Version != 4 || len(ch.History) != 1 ||
			ch.History[0].Action != HistoryRate || ch.History[0].Note != "rating 5" || len(ch.Events) != 0 {
			t.Errorf("%s: %+v %+v, %v", c.name, d, ch, err)
		}
	}
}

package handlers

import (
	"net/url"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// LateQueryOf reads the list's lateness filter (late_unit, late_officer,
// from, to, late_first: docs/api.md), for the API and the console's list;
// nil when none of its parameters is given. Bad values are added to f.
func LateQueryOf(q url.Values, f *domain.Fields) *service.LateQuery {
	if q.Get("late_unit") == "" && q.Get("late_officer") == "" && q.Get("from") == "" && q.Get("to") == "" && q.Get("late_first") == "" {
		return nil
	}
	l := &service.LateQuery{Unit: q.Get("late_unit"), Officer: q.Get("late_officer")}
	switch q.Get("late_first") {
	case "", "false":
	case "true":
		l.First = true
	default:
		f.Add("late_first", "must be true or false")
	}
	for _, p := range []struct {
		name string
		dst  **domain.Date
	}{{"from", &l.From}, {"to", &l.To}} {
		if v := q.Get(p.name); v != "" {
			d, err := domain.ParseInputDate(v)
			if err != nil {
				f.Add(p.name, "must be a date YYYY-MM-DD")
				continue
			}
			*p.dst = &d
		}
	}
	return l
}

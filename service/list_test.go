package service

import (
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
)

func TestListFilter(t *testing.T) {
	day := domain.Date{Year: 2026, Month: 3, Day: 16}
	next := domain.Date{Year: 2026, Month: 3, Day: 17}
	cursor := encodeCursor(DossierCursor{ReceivedAt: time.Date(2026, 3, 16, 2, 0, 0, 5000, time.UTC), ID: 42})
	bad := []struct {
		q     ListQuery
		field string
	}{
		{ListQuery{Limit: -1}, "limit"},
		{ListQuery{Limit: 501}, "limit"},
		{ListQuery{Status: "nonsense"}, "status"},
		{ListQuery{ProcedureCode: "abc"}, "procedure_code"},
		{ListQuery{AgencyCode: "x"}, "agency_code"},
		{ListQuery{ReceivedFrom: &next, ReceivedTo: &day}, "received_from"},
		{ListQuery{Cursor: "!!"}, "cursor"},
		{ListQuery{Cursor: encodeCursor(DossierCursor{ID: 0})}, "cursor"},
	}
	for _, tc := range bad {
		_, err := listFilter(tc.q)
		e, ok := err.(*domain.Error)
		if !ok || e.Kind != domain.Invalid || len(e.Fields) != 1 || e.Fields[0].Field != tc.field {
			t.Errorf("%+v: %v, want one field error on %s", tc.q, err, tc.field)
		}
	}

	f, err := listFilter(ListQuery{})
	if err != nil || f.Limit != 50 || f.Status != 0 || f.After != nil || f.ReceivedFrom != nil || f.ReceivedTo != nil {
		t.Errorf("empty query: %+v, %v; want the default limit 50 and nothing else", f, err)
	}
	f, err = listFilter(ListQuery{Status: "processing", ReceivedFrom: &day, ReceivedTo: &day, Limit: 10, Cursor: cursor,
		ProcedureCode: "1.001612"})
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != domain.StatusProcessing || f.Limit != 10 || f.ProcedureCode != "1.001612" {
		t.Errorf("filter %+v", f)
	}
	// One day's range: from its start to the next day's start.
	if !f.ReceivedFrom.Equal(day.Time()) || !f.ReceivedTo.Equal(next.Time()) {
		t.Errorf("range %v to %v, want %v to %v", f.ReceivedFrom, f.ReceivedTo, day.Time(), next.Time())
	}
	if f.After == nil || f.After.ID != 42 || f.After.ReceivedAt.UnixMicro() != time.Date(2026, 3, 16, 2, 0, 0, 5000, time.UTC).UnixMicro() {
		t.Errorf("cursor %+v, want id 42 at the microsecond given", f.After)
	}
}

func TestCursorRoundTrip(t *testing.T) {
	for _, c := range []DossierCursor{{ReceivedAt: time.Unix(0, 0).UTC(), ID: 1},
		{ReceivedAt: time.Date(2026, 12, 31, 23, 59, 59, 999999000, time.UTC), ID: 1 << 40}} {
		got, ok := decodeCursor(encodeCursor(c))
		if !ok || got.ID != c.ID || !got.ReceivedAt.Equal(c.ReceivedAt) {
			t.Errorf("%+v came back as %+v, %v", c, got, ok)
		}
	}
	for _, s := range []string{"", "bm90IGEgY3Vyc29y", "MTIz", "YS5i", "MTIzLi0x"} {
		if _, ok := decodeCursor(s); ok {
			t.Errorf("%q decoded as a cursor", s)
		}
	}
}

package domain

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseOfficeHours(t *testing.T) {
	t.Parallel()
	def := map[string][]string{}
	for _, k := range []string{"mon", "tue", "wed", "thu", "fri"} {
		def[k] = []string{"08:00-12:00", "13:00-17:00"}
	}
	tests := []struct {
		name    string
		in      map[string][]string
		wantErr string // substring; "" for success
		check   func(t *testing.T, h OfficeHours)
	}{
		{name: "default", in: def, check: func(t *testing.T, h OfficeHours) {
			if !reflect.DeepEqual(h, DefaultOfficeHours()) {
				t.Errorf("got %v", h)
			}
		}},
		{name: "saturday morning and a 24:00 end", in: map[string][]string{"sat": {"08:00-12:00"}, "sun": {"20:00-24:00"}}, check: func(t *testing.T, h OfficeHours) {
			if !reflect.DeepEqual(h[time.Saturday], []Interval{{480, 720}}) || !reflect.DeepEqual(h[time.Sunday], []Interval{{1200, 1440}}) || len(h[time.Monday]) != 0 {
				t.Errorf("got %v", h)
			}
		}},
		{name: "07:00-11:30 and 13:30-17:00", in: map[string][]string{"mon": {"07:00-11:30", "13:30-17:00"}}, check: func(t *testing.T, h OfficeHours) {
			if !reflect.DeepEqual(h[time.Monday], []Interval{{420, 690}, {810, 1020}}) {
				t.Errorf("got %v", h)
			}
		}},
		{name: "touching periods", in: map[string][]string{"mon": {"08:00-12:00", "12:00-13:00"}}},
		{name: "empty list is closed", in: map[string][]string{"mon": {"08:00-12:00"}, "sat": {}}},
		{name: "nothing", in: map[string][]string{}, wantErr: "at least one day"},
		{name: "nil", in: nil, wantErr: "at least one day"},
		{name: "all empty", in: map[string][]string{"mon": {}}, wantErr: "at least one day"},
		{name: "unknown day", in: map[string][]string{"monday": {"08:00-12:00"}}, wantErr: `unknown day "monday"`},
		{name: "bad format", in: map[string][]string{"tue": {"8-12"}}, wantErr: `tue: "8-12"`},
		{name: "single digit hour", in: map[string][]string{"tue": {"8:00-12:00"}}, wantErr: `tue: "8:00-12:00" is not a period`},
		{name: "past midnight", in: map[string][]string{"wed": {"20:00-24:30"}}, wantErr: "within 00:00-24:00"},
		{name: "25h", in: map[string][]string{"wed": {"08:00-25:00"}}, wantErr: "within 00:00-24:00"},
		{name: "minutes 60", in: map[string][]string{"wed": {"08:60-12:00"}}, wantErr: "within 00:00-24:00"},
		{name: "reversed", in: map[string][]string{"thu": {"13:00-12:00"}}, wantErr: `thu: "13:00-12:00" must start before it ends`},
		{name: "empty period", in: map[string][]string{"thu": {"12:00-12:00"}}, wantErr: "must start before it ends"},
		{name: "overlap", in: map[string][]string{"fri": {"08:00-12:00", "11:00-14:00"}}, wantErr: `fri: "11:00-14:00" overlaps or comes before "08:00-12:00"`},
		{name: "unsorted", in: map[string][]string{"fri": {"13:00-17:00", "08:00-12:00"}}, wantErr: "in order"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h, err := ParseOfficeHours(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.check != nil {
				tc.check(t, h)
			}
			// Format reads back the same.
			again, err := ParseOfficeHours(h.Format())
			if err != nil || !reflect.DeepEqual(again, h) {
				t.Errorf("round trip: %v, %v (format %v)", again, err, h.Format())
			}
		})
	}
}

func TestOfficeHoursFormatAndZero(t *testing.T) {
	t.Parallel()
	got := DefaultOfficeHours().Format()
	if len(got) != 5 || !reflect.DeepEqual(got["mon"], []string{"08:00-12:00", "13:00-17:00"}) || got["sat"] != nil {
		t.Errorf("Format() = %v", got)
	}
	var zero OfficeHours
	if !zero.IsZero() || DefaultOfficeHours().IsZero() {
		t.Error("IsZero")
	}
	if err := zero.Validate(); err == nil {
		t.Error("zero hours should not validate")
	}
	if err := (OfficeHours{1: {{600, 500}}}).Validate(); err == nil {
		t.Error("a reversed period should not validate")
	}
	if err := DefaultOfficeHours().Validate(); err != nil {
		t.Error(err)
	}
}

func TestOfficeHoursNormalizedAndMakeUp(t *testing.T) {
	t.Parallel()
	h := OfficeHours{time.Tuesday: {{780, 1020}, {-5, 720}, {700, 790}, {1500, 1600}}}
	n := h.normalized()
	if !reflect.DeepEqual(n[time.Tuesday], []Interval{{0, 1020}}) {
		t.Errorf("normalized: %v", n[time.Tuesday])
	}
	if !reflect.DeepEqual((OfficeHours{}).normalized(), DefaultOfficeHours()) {
		t.Error("zero hours should become the default hours")
	}
	if got := n.makeUpHours(); !reflect.DeepEqual(got, []Interval{{0, 1020}}) {
		t.Errorf("make-up hours without Monday should be Tuesday's, got %v", got)
	}
	if got := DefaultOfficeHours().makeUpHours(); !reflect.DeepEqual(got, []Interval{{480, 720}, {780, 1020}}) {
		t.Errorf("make-up hours: %v", got)
	}
	// NewCalendar does not keep the caller's slices.
	hours := DefaultOfficeHours()
	c := NewCalendar(hours, nil)
	hours[time.Monday][0] = Interval{0, 1}
	if c.hours[time.Monday][0] != (Interval{480, 720}) {
		t.Error("the calendar shares the caller's slices")
	}
}

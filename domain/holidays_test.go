package domain

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// dayList renders days as "YYYY-MM-DD kind name source" lines.
func dayList(days []CalendarDay) []string {
	var out []string
	for _, d := range days {
		out = append(out, fmt.Sprintf("%s %s %s %s", d.Date, d.Kind, d.Name, d.Source))
	}
	return out
}

func TestOfficialSchedules(t *testing.T) {
	t.Parallel()
	want := map[int][]string{
		2024: {
			"2024-01-01 holiday Tết Dương lịch official",
			"2024-02-08 holiday Tết Nguyên đán official",
			"2024-02-09 holiday Tết Nguyên đán official",
			"2024-02-12 holiday Tết Nguyên đán official",
			"2024-02-13 holiday Tết Nguyên đán official",
			"2024-02-14 holiday Tết Nguyên đán official",
			"2024-04-18 holiday Giỗ Tổ Hùng Vương official",
			"2024-04-29 holiday Nghỉ hoán đổi official",
			"2024-04-30 holiday Ngày Chiến thắng official",
			"2024-05-01 holiday Quốc tế Lao động official",
			"2024-05-04 workday Làm bù official",
			"2024-09-02 holiday Quốc khánh official",
			"2024-09-03 holiday Quốc khánh official",
		},
		2025: {
			"2025-01-01 holiday Tết Dương lịch official",
			"2025-01-27 holiday Tết Nguyên đán official",
			"2025-01-28 holiday Tết Nguyên đán official",
			"2025-01-29 holiday Tết Nguyên đán official",
			"2025-01-30 holiday Tết Nguyên đán official",
			"2025-01-31 holiday Tết Nguyên đán official",
			"2025-04-07 holiday Giỗ Tổ Hùng Vương official",
			"2025-04-26 workday Làm bù official",
			"2025-04-30 holiday Ngày Chiến thắng official",
			"2025-05-01 holiday Quốc tế Lao động official",
			"2025-05-02 holiday Nghỉ hoán đổi official",
			"2025-09-01 holiday Quốc khánh official",
			"2025-09-02 holiday Quốc khánh official",
		},
		2026: {
			"2026-01-01 holiday Tết Dương lịch official",
			"2026-02-16 holiday Tết Nguyên đán official",
			"2026-02-17 holiday Tết Nguyên đán official",
			"2026-02-18 holiday Tết Nguyên đán official",
			"2026-02-19 holiday Tết Nguyên đán official",
			"2026-02-20 holiday Tết Nguyên đán official",
			"2026-04-27 holiday Nghỉ bù Giỗ Tổ Hùng Vương official",
			"2026-04-30 holiday Ngày Chiến thắng official",
			"2026-05-01 holiday Quốc tế Lao động official",
			"2026-08-22 workday Làm bù official",
			"2026-08-31 holiday Nghỉ hoán đổi official",
			"2026-09-01 holiday Quốc khánh official",
			"2026-09-02 holiday Quốc khánh official",
		},
		// Statutory: Tết is the day before plus four days; a weekend holiday
		// is made up on the next free weekday; 2/9 on a Thursday takes 3/9.
		2027: {
			"2027-01-01 holiday Tết Dương lịch statutory",
			"2027-02-05 holiday Tết Nguyên đán statutory",
			"2027-02-08 holiday Tết Nguyên đán statutory",
			"2027-02-09 holiday Tết Nguyên đán statutory",
			"2027-02-10 holiday Nghỉ bù Tết Nguyên đán statutory",
			"2027-02-11 holiday Nghỉ bù Tết Nguyên đán statutory",
			"2027-04-16 holiday Giỗ Tổ Hùng Vương statutory",
			"2027-04-30 holiday Ngày Chiến thắng statutory",
			"2027-05-03 holiday Nghỉ bù Quốc tế Lao động statutory",
			"2027-09-02 holiday Quốc khánh statutory",
			"2027-09-03 holiday Quốc khánh statutory",
		},
		// 2023 by the statutory rules: all but Tết match what was announced
		// (Hùng Kings on Sat 29/4 and 30/4 on Sunday made up on 2/5 and 3/5;
		// 2/9 on a Saturday with 1/9 and Monday 4/9).
		2023: {
			"2023-01-02 holiday Nghỉ bù Tết Dương lịch statutory",
			"2023-01-23 holiday Tết Nguyên đán statutory",
			"2023-01-24 holiday Tết Nguyên đán statutory",
			"2023-01-25 holiday Tết Nguyên đán statutory",
			"2023-01-26 holiday Nghỉ bù Tết Nguyên đán statutory",
			"2023-01-27 holiday Nghỉ bù Tết Nguyên đán statutory",
			"2023-05-01 holiday Quốc tế Lao động statutory",
			"2023-05-02 holiday Nghỉ bù Giỗ Tổ Hùng Vương statutory",
			"2023-05-03 holiday Nghỉ bù Ngày Chiến thắng statutory",
			"2023-09-01 holiday Quốc khánh statutory",
			"2023-09-04 holiday Nghỉ bù Quốc khánh statutory",
		},
	}
	c := NewCalendar(DefaultOfficeHours(), nil)
	for y, w := range want {
		t.Run(fmt.Sprint(y), func(t *testing.T) {
			t.Parallel()
			got := dayList(c.Days(y))
			if !slices.Equal(got, w) {
				t.Errorf("Days(%d):\n%s\nwant\n%s", y, strings.Join(got, "\n"), strings.Join(w, "\n"))
			}
		})
	}
}

func TestStatutoryRules(t *testing.T) {
	t.Parallel()
	for y := 1990; y <= 2100; y++ {
		days := StatutoryDays(y)
		weekdays := 0
		for i, d := range days {
			if d.Kind != DayHoliday || d.Source != SourceStatutory || d.AgencyCode != "" || d.Date.Year != y {
				t.Fatalf("%d: odd day %+v", y, d)
			}
			if i > 0 && !days[i-1].Date.Before(d.Date) {
				t.Fatalf("%d: not sorted or duplicate at %s", y, d.Date)
			}
			if !isWeekend(d.Date.Weekday()) {
				weekdays++
			}
		}
		// 11 holidays a year (1 + 5 + 1 + 1 + 1 + 2), each a weekday off
		// either itself or through its compensation day.
		if weekdays != 11 {
			t.Errorf("%d: %d weekdays off, want 11: %v", y, weekdays, dayList(days))
		}
		tet := LunarNewYear(y)
		for n := -1; n <= 3; n++ {
			if !slices.ContainsFunc(days, func(d CalendarDay) bool { return d.Date == tet.AddDays(n) && d.Name == NameTet }) {
				t.Errorf("%d: Tết day %d missing", y, n)
			}
		}
		// The day next to 2/9.
		national := Date{y, 9, 2}
		adjacent := national.AddDays(-1)
		if wd := national.Weekday(); wd == time.Monday || wd == time.Thursday {
			adjacent = national.AddDays(1)
		}
		if !slices.ContainsFunc(days, func(d CalendarDay) bool { return d.Date == adjacent && d.Name == NameNationalDay }) {
			t.Errorf("%d: adjacent day %s missing", y, adjacent)
		}
	}
	if NationalDays(2025)[0].Source != SourceOfficial || NationalDays(2027)[0].Source != SourceStatutory {
		t.Error("sources")
	}
	// NationalDays keeps the weekend days of a break (for agencies open on Saturdays).
	if !slices.ContainsFunc(NationalDays(2025), func(d CalendarDay) bool { return d.Date == (Date{2025, 1, 25}) && d.Name == NameTet }) {
		t.Error("Sat 25/1/2025 should be part of the Tết break")
	}
}

func TestWorkingDaysAndRecordedDays(t *testing.T) {
	t.Parallel()
	satMorning := DefaultOfficeHours()
	satMorning[time.Saturday] = []Interval{{480, 720}}
	recorded := []CalendarDay{
		{Date: Date{2026, 9, 1}, Kind: DayWorkday, Name: "Đi làm", AgencyCode: ""},                        // national: overrides the official holiday
		{Date: Date{2026, 3, 11}, Kind: DayHoliday, Name: "Nghỉ địa phương", AgencyCode: "000.00.07.H29"}, // the agency's own
		{Date: Date{2026, 3, 11}, Kind: DayWorkday, Name: "national says work", AgencyCode: ""},           // loses to the agency's
		{Date: Date{2026, 3, 14}, Kind: DayHoliday, Name: "Nghỉ thứ Bảy", AgencyCode: ""},                 // a weekend holiday is listed too
		{Date: Date{2027, 2, 4}, Kind: DayHoliday, Name: NameTet, AgencyCode: ""},                         // an administrator records 2027's schedule
		{Date: Date{2027, 2, 11}, Kind: DayWorkday, Name: "Đi làm", AgencyCode: ""},                       // and cancels a statutory day
		{Date: Date{2026, 3, 15}, Kind: DayWorkday, Name: "Làm bù Chủ nhật", AgencyCode: "000.00.07.H29"}, // a make-up Sunday
	}
	def := NewCalendar(DefaultOfficeHours(), recorded)
	sat := NewCalendar(satMorning, nil)
	tests := []struct {
		cal  *Calendar
		date string
		want bool
	}{
		{def, "2026-03-10", true},
		{def, "2026-03-11", false}, // agency's own day off wins
		{def, "2026-03-14", false},
		{def, "2026-03-15", true}, // recorded make-up Sunday
		{def, "2026-03-21", false},
		{def, "2026-09-01", true}, // recorded workday over the official holiday
		{def, "2026-09-02", false},
		{def, "2026-08-22", true}, // official make-up Saturday
		{def, "2025-04-26", true},
		{def, "2024-05-04", true},
		{def, "2025-05-02", false},
		{def, "2026-04-27", false},
		{def, "2027-02-04", false},
		{def, "2027-02-11", true},
		{def, "2027-02-10", false},
		{sat, "2026-03-14", true},
		{sat, "2026-02-14", false}, // Saturday inside the Tết break
		{sat, "2025-05-03", false},
		{sat, "2025-04-26", true},
		{sat, "2026-03-15", false},
	}
	for _, tc := range tests {
		if got := tc.cal.IsWorkingDay(mustDate(t, tc.date)); got != tc.want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v", tc.date, got, tc.want)
		}
	}
	days := dayList(def.Days(2026))
	for _, w := range []string{
		"2026-03-11 holiday Nghỉ địa phương recorded",
		"2026-03-14 holiday Nghỉ thứ Bảy recorded",
		"2026-03-15 workday Làm bù Chủ nhật recorded",
		"2026-09-01 workday Đi làm recorded",
		"2026-09-02 holiday Quốc khánh official",
	} {
		if !slices.Contains(days, w) {
			t.Errorf("Days(2026) lacks %q: %v", w, days)
		}
	}
	if slices.ContainsFunc(days, func(s string) bool { return strings.HasPrefix(s, "2026-09-01 holiday") }) {
		t.Error("a recorded day must replace the official one of its date")
	}
	if !slices.Contains(dayList(sat.Days(2026)), "2026-02-14 holiday Tết Nguyên đán official") {
		t.Error("an agency open on Saturdays should see a Saturday of the Tết break listed")
	}
	if slices.Contains(dayList(NewCalendar(DefaultOfficeHours(), nil).Days(2026)), "2026-02-14 holiday Tết Nguyên đán official") {
		t.Error("an agency closed on Saturdays should not see a Saturday of the Tết break listed")
	}
	// Days returns a copy.
	d := def.Days(2026)
	d[0].Name = "changed"
	if def.Days(2026)[0].Name == "changed" {
		t.Error("Days shares its slice")
	}
}

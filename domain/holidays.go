package domain

import (
	"slices"
	"time"
)

// Names of the days off and make-up working days.
const (
	NameNewYear      = "Tết Dương lịch"
	NameTet          = "Tết Nguyên đán"
	NameHungKings    = "Giỗ Tổ Hùng Vương"
	NameVictory      = "Ngày Chiến thắng"
	NameLabour       = "Quốc tế Lao động"
	NameNationalDay  = "Quốc khánh"
	NameSwapped      = "Nghỉ hoán đổi" // a working day given off in exchange for a make-up Saturday
	NameMakeUp       = "Làm bù"        // a make-up working day
	compensationName = "Nghỉ bù "      // + the name of the holiday that fell on a weekend
)

// Sources of a CalendarDay.
const (
	SourceStatutory = "statutory" // computed from the Labour Code
	SourceOfficial  = "official"  // the schedule announced for state agencies, shipped as data
	SourceRecorded  = "recorded"  // recorded by an administrator
)

// officialRange is a run of days of an announced schedule.
type officialRange struct {
	from, to Date
	kind     DayKind
	name     string
}

// officialSchedules are the days off (weekend days inside a break included)
// and make-up working days announced for civil servants and state agencies
// (the Prime Minister's decisions on Tết and National Day, swaps for make-up
// Saturdays). For these years they replace the statutory computation.
var officialSchedules = map[int][]officialRange{
	2024: {
		{Date{2024, 1, 1}, Date{2024, 1, 1}, DayHoliday, NameNewYear},
		{Date{2024, 2, 8}, Date{2024, 2, 14}, DayHoliday, NameTet}, // Thu 29 tháng Chạp - Wed mùng 5
		{Date{2024, 4, 18}, Date{2024, 4, 18}, DayHoliday, NameHungKings},
		{Date{2024, 4, 27}, Date{2024, 4, 28}, DayHoliday, NameVictory},
		{Date{2024, 4, 29}, Date{2024, 4, 29}, DayHoliday, NameSwapped}, // for Sat 4/5
		{Date{2024, 4, 30}, Date{2024, 4, 30}, DayHoliday, NameVictory},
		{Date{2024, 5, 1}, Date{2024, 5, 1}, DayHoliday, NameLabour},
		{Date{2024, 5, 4}, Date{2024, 5, 4}, DayWorkday, NameMakeUp},
		{Date{2024, 8, 31}, Date{2024, 9, 3}, DayHoliday, NameNationalDay},
	},
	2025: {
		{Date{2025, 1, 1}, Date{2025, 1, 1}, DayHoliday, NameNewYear},
		{Date{2025, 1, 25}, Date{2025, 2, 2}, DayHoliday, NameTet}, // weekdays off Mon 27/1 - Fri 31/1
		{Date{2025, 4, 7}, Date{2025, 4, 7}, DayHoliday, NameHungKings},
		{Date{2025, 4, 26}, Date{2025, 4, 26}, DayWorkday, NameMakeUp},
		{Date{2025, 4, 30}, Date{2025, 4, 30}, DayHoliday, NameVictory},
		{Date{2025, 5, 1}, Date{2025, 5, 1}, DayHoliday, NameLabour},
		{Date{2025, 5, 2}, Date{2025, 5, 2}, DayHoliday, NameSwapped}, // for Sat 26/4
		{Date{2025, 5, 3}, Date{2025, 5, 4}, DayHoliday, NameLabour},
		{Date{2025, 8, 30}, Date{2025, 9, 2}, DayHoliday, NameNationalDay},
	},
	2026: {
		{Date{2026, 1, 1}, Date{2026, 1, 1}, DayHoliday, NameNewYear},
		{Date{2026, 2, 14}, Date{2026, 2, 22}, DayHoliday, NameTet}, // weekdays off Mon 16/2 - Fri 20/2
		{Date{2026, 4, 26}, Date{2026, 4, 26}, DayHoliday, NameHungKings},
		{Date{2026, 4, 27}, Date{2026, 4, 27}, DayHoliday, compensationName + NameHungKings},
		{Date{2026, 4, 30}, Date{2026, 4, 30}, DayHoliday, NameVictory},
		{Date{2026, 5, 1}, Date{2026, 5, 1}, DayHoliday, NameLabour},
		{Date{2026, 8, 22}, Date{2026, 8, 22}, DayWorkday, NameMakeUp},
		{Date{2026, 8, 31}, Date{2026, 8, 31}, DayHoliday, NameSwapped}, // for Sat 22/8
		{Date{2026, 9, 1}, Date{2026, 9, 2}, DayHoliday, NameNationalDay},
	},
}

// NationalDays returns the national days off and make-up working days of a
// year, sorted by date, weekend days inside a break included: the official
// schedule where one is shipped (Source "official", 2024-2026), otherwise
// the statutory holidays (Source "statutory"). Days an administrator records
// override these per date (see NewCalendar).
func NationalDays(year int) []CalendarDay {
	if sched, ok := officialSchedules[year]; ok {
		var out []CalendarDay
		for _, r := range sched {
			for n := r.from.dayNumber(); n <= r.to.dayNumber(); n++ {
				out = append(out, CalendarDay{Date: dateOfDay(n), Kind: r.kind, Name: r.name, Source: SourceOfficial})
			}
		}
		sortDays(out)
		return out
	}
	return StatutoryDays(year)
}

// StatutoryDays returns the public holidays of the Labour Code 2019, art. 112,
// for a year, with the days off they give (sorted by date; Source
// "statutory"; empty outside years 1-9999). Where the Prime Minister has not
// fixed the days (art. 112(3)):
//   - Tết is the last day of the old lunar year (the day before Tết, 29 or
//     30 tháng Chạp) and the first four days of the new one;
//   - the day adjacent to National Day 2/9 is 1/9, except when 2/9 is a
//     Monday or a Thursday, when it is 3/9: the choice that joins the
//     weekend, as in every schedule announced from 2021 to 2026;
//   - a holiday on a Saturday or Sunday (the weekly rest of state agencies)
//     gives a day off ("Nghỉ bù ...") on the next Monday-Friday that is not
//     already a holiday or a day off for another (art. 111(3)).
//
// The lunar dates come from the UTC+7 lunar calendar (LunarNewYear,
// HungKingsDay).
func StatutoryDays(year int) []CalendarDay {
	if year < 1 || year > 9999 {
		return nil
	}
	var out []CalendarDay
	add := func(n int64, name string) {
		out = append(out, CalendarDay{Date: dateOfDay(n), Kind: DayHoliday, Name: name, Source: SourceStatutory})
	}
	add(daysFromCivil(year, 1, 1), NameNewYear)
	tet := LunarNewYear(year).dayNumber()
	for n := tet - 1; n <= tet+3; n++ {
		add(n, NameTet)
	}
	add(HungKingsDay(year).dayNumber(), NameHungKings)
	add(daysFromCivil(year, 4, 30), NameVictory)
	add(daysFromCivil(year, 5, 1), NameLabour)
	national := daysFromCivil(year, 9, 2)
	add(national, NameNationalDay)
	if wd := weekdayOfDay(national); wd == time.Monday || wd == time.Thursday {
		add(national+1, NameNationalDay)
	} else {
		add(national-1, NameNationalDay)
	}
	sortDays(out)
	taken := map[int64]bool{}
	for _, d := range out {
		taken[d.Date.dayNumber()] = true
	}
	for _, d := range slices.Clone(out) {
		n := d.Date.dayNumber()
		if !isWeekend(weekdayOfDay(n)) {
			continue
		}
		c := n + 1
		for isWeekend(weekdayOfDay(c)) || taken[c] {
			c++
		}
		taken[c] = true
		add(c, compensationName+d.Name)
	}
	sortDays(out)
	return out
}

func isWeekend(wd time.Weekday) bool { return wd == time.Saturday || wd == time.Sunday }

func sortDays(days []CalendarDay) {
	slices.SortStableFunc(days, func(a, b CalendarDay) int {
		an, bn := a.Date.dayNumber(), b.Date.dayNumber()
		switch {
		case an < bn:
			return -1
		case an > bn:
			return 1
		}
		return 0
	})
}

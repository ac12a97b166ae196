package service

import (
	"context"
	"time"

	"github.com/motcua/motcua/domain"
)

// Calendar returns the working-time calendar of an agency ("" for the
// national calendar with default hours), cached for CalendarTTL.
func (s *Service) Calendar(ctx context.Context, agency string) (*domain.Calendar, error) {
	now := time.Now()
	s.calMu.Lock()
	c, ok := s.calendars[agency]
	s.calMu.Unlock()
	if ok && now.Sub(c.loaded) < s.opts.CalendarTTL {
		return c.cal, nil
	}
	hours := domain.DefaultOfficeHours()
	if agency != "" {
		a, err := s.store.Agency(ctx, agency)
		if err != nil {
			return nil, err
		}
		hours = a.OfficeHours()
	}
	days, err := s.store.CalendarDays(ctx, agency)
	if err != nil {
		return nil, err
	}
	cal := domain.NewCalendar(hours, days)
	s.calMu.Lock()
	s.calendars[agency] = cachedCalendar{cal: cal, loaded: now}
	s.calMu.Unlock()
	return cal, nil
}

func (s *Service) forgetCalendars() {
	s.calMu.Lock()
	clear(s.calendars)
	s.calMu.Unlock()
	s.namesMu.Lock()
	clear(s.names)
	s.namesMu.Unlock()
}

// DeadlineQuery asks when counting starts and ends for a duration from an instant.
type DeadlineQuery struct {
	From       time.Time
	Unit       domain.DurationUnit
	Amount     float64
	AgencyCode string
}

// Deadline answers GET /calendar/deadline: the start of counting and the due time.
func (s *Service) Deadline(ctx context.Context, q DeadlineQuery) (startsAt, dueAt time.Time, err error) {
	minutes, err := domain.DurationMinutes(q.Unit, q.Amount)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	if q.AgencyCode != "" && !domain.ValidAgencyCode(q.AgencyCode) {
		return time.Time{}, time.Time{}, domain.NotFoundf("no agency %q", q.AgencyCode)
	}
	cal, err := s.Calendar(ctx, q.AgencyCode)
	if err != nil {
		return time.Time{}, time.Time{}, err
	}
	start := cal.CountingStart(q.From)
	return start, cal.Add(start, minutes), nil
}

// DayCmd records a day off or a make-up working day, national or for one agency.
type DayCmd struct {
	Date       domain.Date
	Kind       domain.DayKind
	Name       string
	AgencyCode string
}

// PutDay records a day (admin) and, in the same transaction, moves the
// deadlines of the open dossiers it touches, writing the change into each
// dossier's history, so a newly announced holiday never makes a dossier late.
func (s *Service) PutDay(ctx context.Context, actor domain.Actor, cmd DayCmd) (moved int, err error) {
	if !actor.IsAdmin() {
		return 0, domain.Forbiddenf("only an administrator may change the calendar")
	}
	var f domain.Fields
	if cmd.Kind != domain.DayHoliday && cmd.Kind != domain.DayWorkday {
		f.Add("kind", "must be holiday or workday")
	}
	if len(cmd.Name) > 200 {
		f.Add("name", "at most 200 characters")
	}
	if cmd.AgencyCode != "" && !domain.ValidAgencyCode(cmd.AgencyCode) {
		f.Add("agency_code", "is not a valid agency code")
	}
	if err := f.Err(); err != nil {
		return 0, err
	}
	return s.changeDays(ctx, actor, cmd, false)
}

// DeleteDay removes a recorded day (admin) and moves the deadlines back.
func (s *Service) DeleteDay(ctx context.Context, actor domain.Actor, date domain.Date, agency string) (int, error) {
	if !actor.IsAdmin() {
		return 0, domain.Forbiddenf("only an administrator may change the calendar")
	}
	if agency != "" && !domain.ValidAgencyCode(agency) {
		return 0, domain.NotFoundf("no agency %q", agency)
	}
	return s.changeDays(ctx, actor, DayCmd{Date: date, AgencyCode: agency}, true)
}

func (s *Service) changeDays(ctx context.Context, actor domain.Actor, cmd DayCmd, remove bool) (int, error) {
	now := s.clock.Now()
	moved := 0
	err := s.store.InTx(ctx, func(tx Tx) error {
		if cmd.AgencyCode != "" {
			if _, err := tx.Agency(ctx, cmd.AgencyCode); err != nil {
				if domain.KindOf(err) == domain.NotFound {
					return fieldError("agency_code", "no agency has this code")
				}
				return err
			}
		}
		if remove {
			if err := tx.DeleteCalendarDay(ctx, cmd.Date, cmd.AgencyCode); err != nil {
				return err
			}
		} else if err := tx.SaveCalendarDay(ctx, domain.CalendarDay{Date: cmd.Date, Kind: cmd.Kind, Name: cmd.Name, AgencyCode: cmd.AgencyCode}, now); err != nil {
			return err
		}
		dossiers, err := tx.RunningDossiers(ctx, cmd.Date.Time(), cmd.AgencyCode)
		if err != nil {
			return err
		}
		calendars := map[string]*domain.Calendar{}
		for _, d := range dossiers {
			cal, ok := calendars[d.AgencyCode]
			if !ok {
				if cal, err = s.calendarIn(ctx, tx, d.AgencyCode); err != nil {
					return err
				}
				calendars[d.AgencyCode] = cal
			}
			note := "Ngày " + cmd.Date.String() + " được ghi nhận là ngày nghỉ"
			switch {
			case remove:
				note = "Ngày " + cmd.Date.String() + " không còn là ngày được ghi nhận riêng"
			case cmd.Kind == domain.DayWorkday:
				note = "Ngày " + cmd.Date.String() + " được ghi nhận là ngày làm việc bù"
			}
			read := d.Version
			ch, changed := d.FollowCalendar(cal, actor, now, note)
			if !changed {
				continue
			}
			d.PlanNextCheck(cal, s.opts.DueSoonLead)
			if err := tx.UpdateDossier(ctx, d, read, ch); err != nil {
				return err
			}
			moved++
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	s.forgetCalendars()
	return moved, nil
}

// Days lists the days off and make-up working days of a year, national or
// as an agency sees them.
func (s *Service) Days(ctx context.Context, year int, agency string) ([]domain.CalendarDay, error) {
	if year < 1900 || year > 2200 {
		return nil, fieldError("year", "must be a year from 1900 to 2200")
	}
	if agency != "" && !domain.ValidAgencyCode(agency) {
		return nil, domain.NotFoundf("no agency %q", agency)
	}
	cal, err := s.Calendar(ctx, agency)
	if err != nil {
		return nil, err
	}
	return cal.Days(year), nil
}

// calendarIn builds an agency's calendar from inside a transaction, so a day
// recorded in the same transaction counts.
func (s *Service) calendarIn(ctx context.Context, tx Tx, agency string) (*domain.Calendar, error) {
	a, err := tx.Agency(ctx, agency)
	if err != nil {
		return nil, err
	}
	days, err := tx.CalendarDays(ctx, agency)
	if err != nil {
		return nil, err
	}
	return domain.NewCalendar(a.OfficeHours(), days), nil
}

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

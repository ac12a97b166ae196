package service

import (
	"context"
	"time"

	"github.com/motcua/motcua/domain"
)

// Calendar returns the working-time calendar of an agency ("" for the
// national calendar with default hours), cached per catalogue version: one
// read of the version counter, and the calendar is loaded again only when
// something changed since, on any instance.
func (s *Service) Calendar(ctx context.Context, agency string) (*domain.Calendar, error) {
	v, err := s.catalogueVersion(ctx)
	if err != nil {
		return nil, err
	}
	return s.calendarAt(ctx, s.store, agency, v)
}

// calendarAt returns the calendar cached at version v, or loads it through r
// (read after v was, so never older than v).
func (s *Service) calendarAt(ctx context.Context, r CalendarReader, agency string, v int64) (*domain.Calendar, error) {
	if cal, ok := s.calendars.get(agency, v); ok {
		return cal, nil
	}
	hours := domain.DefaultOfficeHours()
	if agency != "" {
		a, err := r.Agency(ctx, agency)
		if err != nil {
			return nil, err
		}
		hours = a.OfficeHours()
	}
	days, err := r.CalendarDays(ctx, agency)
	if err != nil {
		return nil, err
	}
	cal := domain.NewCalendar(hours, days)
	s.calendars.put(agency, v, cal)
	return cal, nil
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

// PutDay records a day (admin). The open dossiers it touches move in
// batches (RecomputeBatch dossiers a transaction) driven by a durable job
// recorded in the same transaction as the day: the request works the job
// for up to RecomputeInline and answers with it, finished or not; the
// background runner (RunRecomputes) finishes what is left, on whichever
// instance leads, after a crash or restart too.
func (s *Service) PutDay(ctx context.Context, actor domain.Actor, cmd DayCmd) (Recompute, error) {
	if !actor.IsAdmin() {
		return Recompute{}, domain.Forbiddenf("only an administrator may change the calendar")
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
		return Recompute{}, err
	}
	return s.changeDays(ctx, actor, cmd, false)
}

// DeleteDay removes a recorded day (admin) and moves the deadlines back, as
// PutDay does.
func (s *Service) DeleteDay(ctx context.Context, actor domain.Actor, date domain.Date, agency string) (Recompute, error) {
	if !actor.IsAdmin() {
		return Recompute{}, domain.Forbiddenf("only an administrator may change the calendar")
	}
	if agency != "" && !domain.ValidAgencyCode(agency) {
		return Recompute{}, domain.NotFoundf("no agency %q", agency)
	}
	return s.changeDays(ctx, actor, DayCmd{Date: date, AgencyCode: agency}, true)
}

// Recompute is a durable job that moves the open deadlines a recorded or
// removed day touches, in batches of dossiers in id order. AfterID is the
// last dossier done; Seen and Moved count the dossiers looked at and those
// whose deadline moved.
type Recompute struct {
	ID         int64
	Date       domain.Date
	AgencyCode string // "" for a national day
	Action     string // holiday, workday or removed
	Note       string // the history line each moved dossier gets
	Actor      string
	AfterID    int64
	Seen       int64
	Moved      int64
	Batches    int
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt *time.Time
}

// Done tells whether the job has finished.
func (j Recompute) Done() bool { return j.FinishedAt != nil }

// covers tells whether the job still has to look at dossier d: one of its
// agency's (or any, for a national day) not reached yet.
func (j Recompute) covers(d *domain.Dossier) bool {
	return d.ID > j.AfterID && (j.AgencyCode == "" || j.AgencyCode == d.AgencyCode)
}

func (s *Service) changeDays(ctx context.Context, actor domain.Actor, cmd DayCmd, remove bool) (Recompute, error) {
	now := s.clock.Now()
	job := Recompute{Date: cmd.Date, AgencyCode: cmd.AgencyCode, Actor: actor.Sub, CreatedAt: now, UpdatedAt: now}
	switch {
	case remove:
		job.Action = "removed"
		job.Note = "Ngày " + cmd.Date.String() + " không còn là ngày được ghi nhận riêng"
	case cmd.Kind == domain.DayWorkday:
		job.Action = string(domain.DayWorkday)
		job.Note = "Ngày " + cmd.Date.String() + " được ghi nhận là ngày làm việc bù"
	default:
		job.Action = string(domain.DayHoliday)
		job.Note = "Ngày " + cmd.Date.String() + " được ghi nhận là ngày nghỉ"
	}
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
		return tx.CreateRecompute(ctx, &job)
	})
	if err != nil {
		return Recompute{}, err
	}
	if s.opts.RecomputeInline <= 0 {
		return job, nil
	}
	// Jobs go oldest first, so each moved dossier's history lines follow
	// the order the days were recorded in.
	until := time.Now().Add(s.opts.RecomputeInline)
	for !job.Done() && time.Now().Before(until) {
		next, worked, err := s.recomputeBatch(ctx, 0)
		if err != nil {
			return job, err
		}
		if !worked {
			// Another runner finished it meanwhile.
			return s.store.Recompute(ctx, job.ID)
		}
		if next.ID == job.ID {
			job = next
		}
	}
	return job, nil
}

// RunRecomputes works every pending recompute job to its end, batch by
// batch, and returns how many batches it ran; it stops early when ctx ends.
// The background runner calls it on the instance that holds the lease.
func (s *Service) RunRecomputes(ctx context.Context) (int, error) {
	batches := 0
	for ctx.Err() == nil {
		_, worked, err := s.recomputeBatch(ctx, 0)
		if err != nil || !worked {
			return batches, err
		}
		batches++
	}
	return batches, nil
}

// RecomputeBatch runs one batch of the oldest pending job (for tests and
// the operator's tools); worked is false when no job is pending.
func (s *Service) RecomputeBatch(ctx context.Context) (Recompute, bool, error) {
	return s.recomputeBatch(ctx, 0)
}

// recomputeBatch moves the deadlines of the next RecomputeBatch dossiers of
// a job (id 0: the oldest pending), writes each moved dossier's history line
// and the job's progress in one transaction. The job's row is locked for the
// batch, so two runners never work the same batch; a crash loses at most the
// batch in flight, which the next run does again.
func (s *Service) recomputeBatch(ctx context.Context, id int64) (Recompute, bool, error) {
	var (
		job    Recompute
		worked bool
	)
	err := s.store.InTx(ctx, func(tx Tx) error {
		var (
			found bool
			err   error
		)
		job, found, err = tx.LockRecompute(ctx, id)
		if err != nil || !found {
			return err
		}
		worked = true
		now := s.clock.Now()
		dossiers, err := tx.RunningDossiersAfter(ctx, job.Date.Time(), job.AgencyCode, job.AfterID, s.opts.RecomputeBatch)
		if err != nil {
			return err
		}
		actor := domain.Actor{Sub: job.Actor}
		v, err := tx.CatalogueVersion(ctx)
		if err != nil {
			return err
		}
		for _, d := range dossiers {
			cal, err := s.calendarAt(ctx, tx, d.AgencyCode, v)
			if err != nil {
				return err
			}
			moved, err := s.followCalendar(ctx, tx, d, cal, actor, now, job.Note)
			if err != nil {
				return err
			}
			if moved {
				job.Moved++
			}
			job.AfterID = d.ID
		}
		job.Seen += int64(len(dossiers))
		job.Batches++
		job.UpdatedAt = now
		if len(dossiers) < s.opts.RecomputeBatch {
			job.FinishedAt = &now
		}
		return tx.SaveRecompute(ctx, job)
	})
	if err != nil {
		return Recompute{}, false, err
	}
	if worked && job.Done() {
		s.log.Info("calendar recompute finished", "job", job.ID, "date", job.Date.String(), "agency", job.AgencyCode,
			"seen", job.Seen, "moved", job.Moved, "batches", job.Batches)
	}
	return job, worked, nil
}

// followCalendar recomputes a locked dossier's deadlines on cal and, when
// they move, writes it with its calendar_changed history line.
func (s *Service) followCalendar(ctx context.Context, tx DossierWriter, d *domain.Dossier, cal *domain.Calendar, actor domain.Actor, now time.Time, note string) (bool, error) {
	read := d.Version
	ch, changed := d.FollowCalendar(cal, actor, now, note, s.opts.DueSoonLead)
	if !changed {
		return false, nil
	}
	return true, tx.UpdateDossier(ctx, d, read, ch)
}

// catchUp applies, to a locked dossier that a pending recompute job has not
// reached yet, the calendar change that job is about, before a command or
// the watcher judges its deadline: a dossier never gets a false overdue (or
// a wrong verdict) while its new deadline waits to be written. It returns
// the history change, to be written with the command's (the dossier's
// version is moved on in d); the job then finds nothing left to do for it.
func catchUp(pending []Recompute, d *domain.Dossier, cal *domain.Calendar, now time.Time, lead int64) (domain.Change, bool) {
	for _, j := range pending {
		if j.covers(d) {
			return d.FollowCalendar(cal, domain.Actor{Sub: j.Actor}, now, j.Note, lead)
		}
	}
	return domain.Change{}, false
}

// Recomputes lists the latest calendar recompute jobs (admin).
func (s *Service) Recomputes(ctx context.Context, actor domain.Actor) ([]Recompute, error) {
	if !actor.IsAdmin() {
		return nil, domain.Forbiddenf("only an administrator may see the calendar's recomputes")
	}
	return s.store.Recomputes(ctx, 100)
}

// RecomputeJob returns one calendar recompute job (admin).
func (s *Service) RecomputeJob(ctx context.Context, actor domain.Actor, id int64) (Recompute, error) {
	if !actor.IsAdmin() {
		return Recompute{}, domain.Forbiddenf("only an administrator may see the calendar's recomputes")
	}
	return s.store.Recompute(ctx, id)
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

// calendarIn returns an agency's calendar inside a transaction, cached per
// the catalogue version the transaction reads and holds (FOR SHARE on
// PostgreSQL): a calendar change waits for the commands that computed
// deadlines on the calendar before it, so its recompute job finds what they
// wrote, even a dossier its query would not have matched before the command
// (a paused dossier resumed). A transaction that changes the catalogue must
// not call it (see the caches in cache.go).
func (s *Service) calendarIn(ctx context.Context, tx CalendarSource, agency string) (*domain.Calendar, error) {
	v, err := tx.CatalogueVersionShared(ctx)
	if err != nil {
		return nil, err
	}
	return s.calendarAt(ctx, tx, agency, v)
}

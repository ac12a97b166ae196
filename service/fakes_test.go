package service

import (
	"context"
	"time"

	"github.com/motcua/motcua/domain"
)

// Small fakes of the narrow ports, for the use cases' unit tests: each
// keeps in memory what its port writes, so a test reads what was written.

const (
	fakeUnit = "000.00.10.H29"
	fakeDept = "000.00.07.H29"
)

// fakeCalendars is a CalendarSource: every agency known, with default
// office hours and the recorded days given; the catalogue at its version.
type fakeCalendars struct {
	days    []domain.CalendarDay
	version int64
}

func (fakeCalendars) Agency(_ context.Context, code string) (domain.Agency, error) {
	return domain.Agency{Code: code, Name: "Đơn vị " + code}, nil
}

func (f fakeCalendars) CalendarDays(context.Context, string) ([]domain.CalendarDay, error) {
	return f.days, nil
}

func (f fakeCalendars) CatalogueVersionShared(context.Context) (int64, error) { return f.version, nil }

// fakeDossiers is a DossierWriter that keeps the changes it was given.
type fakeDossiers struct {
	updated []domain.Change
	reads   []int
}

func (f *fakeDossiers) UpdateDossier(_ context.Context, d *domain.Dossier, read int, ch domain.Change) error {
	f.updated = append(f.updated, ch)
	f.reads = append(f.reads, read)
	return nil
}

// fakeWatch is a WatchStore: the dossiers it holds are due when their
// NextCheckAt is at or before now; claims are kept once.
type fakeWatch struct {
	fakeCalendars
	fakeDossiers
	dossiers []*domain.Dossier
	pending  []Recompute
	claimed  map[Claim]bool
	next     map[int64]*time.Time
	events   []domain.Event
}

func (f *fakeWatch) NextChecksDue(_ context.Context, now time.Time, limit int) ([]*domain.Dossier, error) {
	var out []*domain.Dossier
	for _, d := range f.dossiers {
		if d.NextCheckAt != nil && !d.NextCheckAt.After(now) && len(out) < limit {
			out = append(out, d)
		}
	}
	return out, nil
}

func (f *fakeWatch) ClaimChecks(_ context.Context, claims []Claim, _ time.Time) (map[Claim]bool, error) {
	if f.claimed == nil {
		f.claimed = map[Claim]bool{}
	}
	fresh := map[Claim]bool{}
	for _, c := range claims {
		if !f.claimed[c] {
			f.claimed[c], fresh[c] = true, true
		}
	}
	return fresh, nil
}

func (f *fakeWatch) SetNextCheckAt(_ context.Context, next map[int64]*time.Time) error {
	f.next = next
	for _, d := range f.dossiers {
		if at, ok := next[d.ID]; ok {
			d.NextCheckAt = at
		}
	}
	return nil
}

func (f *fakeWatch) WriteEvents(_ context.Context, events []domain.Event) error {
	f.events = append(f.events, events...)
	return nil
}

func (f *fakeWatch) PendingRecomputes(context.Context) ([]Recompute, error) { return f.pending, nil }

// fakeIntake is an IntakeTx: a counter per agency and day, and what was
// inserted and keyed.
type fakeIntake struct {
	fakeCalendars
	seq      map[string]int64
	inserted []*domain.Dossier
	changes  []domain.Change
	keys     map[string]string // key -> sealed PIN
}

func (f *fakeIntake) NextSequence(_ context.Context, agency, day string) (int64, error) {
	if f.seq == nil {
		f.seq = map[string]int64{}
	}
	f.seq[agency+"|"+day]++
	return f.seq[agency+"|"+day], nil
}

func (f *fakeIntake) InsertDossier(_ context.Context, d *domain.Dossier, ch domain.Change) error {
	d.ID = int64(len(f.inserted) + 1)
	f.inserted = append(f.inserted, d)
	f.changes = append(f.changes, ch)
	return nil
}

func (f *fakeIntake) SaveIdempotencyKey(_ context.Context, _, key, _, _, pin string, _ time.Time) error {
	if f.keys == nil {
		f.keys = map[string]string{}
	}
	f.keys[key] = pin
	return nil
}

// fixed is a clock that stands still.
type fixed struct{ t time.Time }

func (c *fixed) Now() time.Time { return c.t }

// vn is a time in Vietnam, in UTC to the microsecond as the service keeps it.
func vn(y int, m time.Month, d, h, min int) time.Time {
	return time.Date(y, m, d, h, min, 0, 0, domain.Vietnam()).UTC()
}

// unitService is a service on no store, for the parts that take their
// narrow port as an argument.
func unitService(now time.Time) (*Service, *fixed) {
	c := &fixed{t: now}
	return New(nil, c, nil, Options{}), c
}

// oneDayProcedure is a procedure of one working day, in two steps of half a
// day each, the second at another unit.
func oneDayProcedure() domain.Procedure {
	p := domain.Procedure{Code: "1.001612", Version: 1, Name: "Thủ tục", AgencyCode: fakeDept, Unit: domain.UnitWorkingDays, Amount: 1,
		Minutes: domain.MinutesPerWorkingDay, SupplementClock: domain.ClockPause, Online: domain.OnlineFull,
		Steps: []domain.StepDef{{Name: "Thụ lý", AgencyCode: fakeUnit, Minutes: domain.MinutesPerWorkingDay / 2},
			{Name: "Phê duyệt", AgencyCode: fakeDept, Minutes: domain.MinutesPerWorkingDay / 2}}}
	p.Normalize()
	return p
}

// received is a counter dossier of oneDayProcedure received at t, with id.
func received(t time.Time, id int64, lead int64) *domain.Dossier {
	cal := domain.NewCalendar(domain.DefaultOfficeHours(), nil)
	in := domain.IntakeInput{Procedure: oneDayProcedure(), AgencyCode: fakeUnit, Channel: domain.ChannelCounter,
		Delivery: domain.DeliveryCounter, Applicant: domain.Applicant{Name: "Nguyễn Văn An", IDNumber: "001090001234"}, ReceivedAt: t}
	d, _ := domain.Receive(in, domain.DossierCode(fakeUnit, t.In(domain.Vietnam()), id), "hash", cal,
		domain.Actor{Sub: "clerk", Roles: []domain.Role{domain.RoleClerk}, Agency: fakeUnit}, t, lead)
	d.ID = id
	return d
}

package portal_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/events/eventstest"
	"github.com/motcua/motcua/portal"
	"github.com/motcua/motcua/portal/portaltest"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

const (
	root      = "000.00.00.H29"
	reception = "000.00.10.H29"
	dept      = "000.00.20.H29"
	dept2     = "000.00.21.H29"
	procCode  = "1.001612"
	unit      = "000.00.00.H29"
)

// longName is over 50 characters, with diacritics at the cut.
const longName = "Nguyễn Thị Phương Thảo Hoàng Lê Minh Khuê Đặng Quốc Việt"

var admin = domain.Actor{Sub: "u-admin", Name: longName, Title: "Chuyên viên", Roles: []domain.Role{domain.RoleAdmin}, Agency: root}

// env is a service on a real database with its relay on a real NATS, and a
// fake portal.
type env struct {
	t    *testing.T
	ctx  context.Context
	st   *store.Store
	svc  *service.Service
	conn *events.Conn
	fake *portaltest.Portal
}

func newEnv(t *testing.T, st *store.Store) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	conn, err := events.Connect(ctx, eventstest.Options(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(conn.Close)
	relay := events.NewRelay(conn, st, events.RelayOptions{Logger: storetest.Quiet(), PollInterval: 50 * time.Millisecond})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = relay.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	svc := service.New(st, service.SystemClock{}, relay, service.Options{Logger: storetest.Quiet(), Portal: st})
	e := &env{t: t, ctx: ctx, st: st, svc: svc, conn: conn, fake: portaltest.New("motcua", "s3cret-pass", unit)}
	t.Cleanup(e.fake.Close)
	for _, a := range []domain.Agency{{Code: root, Name: "UBND tỉnh"}, {Code: reception, Name: "Trung tâm Phục vụ hành chính công", ParentCode: root},
		{Code: dept, Name: "Sở Kế hoạch và Đầu tư", ParentCode: root}, {Code: dept2, Name: "Phòng Đăng ký kinh doanh", ParentCode: root}} {
		if _, err := svc.PutAgency(ctx, admin, a); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := svc.PutProcedure(ctx, admin, domain.Procedure{Code: procCode, Name: "Đăng ký hộ kinh doanh", AgencyCode: dept,
		Unit: domain.UnitWorkingDays, Amount: 3, Minutes: 3 * domain.MinutesPerWorkingDay, SupplementClock: domain.ClockPause, Online: domain.OnlineFull,
		Steps: []domain.StepDef{{Name: "Thẩm định", AgencyCode: dept, Minutes: 8 * 60}, {Name: "Phê duyệt", AgencyCode: dept2, Minutes: 16 * 60}}}); err != nil {
		t.Fatal(err)
	}
	return e
}

// client makes a portal client for the fake.
func (e *env) client(timeout time.Duration, m *portal.Metrics) *portal.Client {
	e.t.Helper()
	cfg := portal.Config{URL: e.fake.URL(), Username: "motcua", Password: "s3cret-pass", Unit: unit, Timeout: timeout}
	if m != nil {
		m.ClientHooks(&cfg)
	}
	c, err := portal.NewClient(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	return c
}

// start runs a syncer until the test ends (or stop is called); done gets
// Run's result.
func (e *env) start(o portal.Options, timeout time.Duration) (s *portal.Syncer, stop func(), done chan error) {
	e.t.Helper()
	if o.MaxBackoff == 0 {
		o.MaxBackoff = 200 * time.Millisecond
	}
	if o.MaxPause == 0 {
		o.MaxPause = 200 * time.Millisecond
	}
	if o.Sweep == 0 {
		o.Sweep = 50 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = eventstest.Logger()
	}
	m := portal.NewMetrics(nil)
	s = portal.New(e.conn, e.st, e.client(timeout, m), m, o)
	ctx, cancel := context.WithCancel(e.ctx)
	done = make(chan error, 1)
	finished := make(chan struct{})
	go func() { done <- s.Run(ctx); close(finished) }()
	stop = func() {
		cancel()
		<-finished
	}
	e.t.Cleanup(stop)
	return s, stop, done
}

var seq int

// intake takes a dossier in on a channel.
func (e *env) intake(ch domain.Channel) string {
	e.t.Helper()
	seq++
	del := domain.DeliveryCounter
	switch ch {
	case domain.ChannelPostal:
		del = domain.DeliveryPostal
	case domain.ChannelOnline:
		del = domain.DeliveryOnline
	}
	res, err := e.svc.Intake(e.ctx, admin, service.IntakeCmd{ProcedureCode: procCode, Channel: string(ch), Delivery: string(del),
		AgencyCode: reception, Applicant: domain.Applicant{Name: "Trần Văn An", IDNumber: fmt.Sprintf("0010%08d", seq), Phone: "0912345678", Email: "an@example.vn"}})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Dossier.Code
}

// do applies actions in order.
func (e *env) do(code string, ins ...domain.TransitionInput) {
	e.t.Helper()
	for _, in := range ins {
		d, err := e.st.Dossier(e.ctx, code)
		if err != nil {
			e.t.Fatal(err)
		}
		if in.Action == domain.ActionExtend {
			nd := d.Clock.DueAt.Add(10 * 24 * time.Hour)
			in.NewDueAt = &nd
		}
		if _, err := e.svc.Transition(e.ctx, admin, service.TransitionCmd{Code: code, Version: d.Version, Input: in}); err != nil {
			e.t.Fatalf("%s %s: %v", code, in.Action, err)
		}
	}
}

func act(a domain.Action) domain.TransitionInput { return domain.TransitionInput{Action: a} }

var (
	transfer = act(domain.ActionTransfer)
	complete = act(domain.ActionCompleteStep)
	approve  = domain.TransitionInput{Action: domain.ActionCompleteStep, Result: "approved"}
	deny     = domain.TransitionInput{Action: domain.ActionCompleteStep, Result: "denied"}
	accept   = act(domain.ActionAccept)
)

func returnBy(m domain.Delivery) domain.TransitionInput {
	return domain.TransitionInput{Action: domain.ActionReturnResult, Method: m}
}

func reason(a domain.Action, r string) domain.TransitionInput {
	return domain.TransitionInput{Action: a, Reason: r}
}

// waitSynced waits until no dossier of codes is pending with the portal.
func (e *env) waitSynced(within time.Duration, codes ...string) {
	e.t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := 0
		var last service.PortalState
		for _, c := range codes {
			st, found, err := e.st.PortalState(e.ctx, c)
			if err != nil {
				e.t.Fatal(err)
			}
			if !found || st.Pending {
				left++
				last = st
			}
		}
		if left == 0 {
			return
		}
		if time.Now().After(deadline) {
			b, _ := e.st.PortalBacklog(e.ctx, 5)
			e.t.Fatalf("%d of %d dossiers still pending after %s (one: %+v; backlog %+v)", left, len(codes), within, last, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

var portalTime = regexp.MustCompile(`^[0-9]{14}$`)

// check proves the portal holds the dossier as it is: its record sent
// first (isUpdating False) and last as it stands now, then one progress
// entry per history line, in order, none twice. dups lists the entries
// (1-based) allowed to have come twice.
func (e *env) check(code string, dups ...int) *domain.Dossier {
	e.t.Helper()
	d, err := e.st.Dossier(e.ctx, code)
	if err != nil {
		e.t.Fatal(err)
	}
	calls := e.fake.Accepted(code)
	if len(calls) == 0 || calls[0].Service != portal.ServiceRecord || calls[0].IsUpdating != "False" {
		e.t.Fatalf("%s: the first accepted call is not the record with isUpdating False: %+v", code, calls)
	}
	var lastRecord portal.Record
	var entries []portal.Progress
	for i, c := range calls {
		switch c.Service {
		case portal.ServiceRecord:
			if i > 0 && c.IsUpdating != "True" {
				e.t.Errorf("%s: record call %d has isUpdating %s", code, i, c.IsUpdating)
			}
			lastRecord = portal.Record{}
			if err := json.Unmarshal(c.Data, &lastRecord); err != nil {
				e.t.Fatal(err)
			}
		case portal.ServiceProgress:
			var p portal.Progress
			if err := json.Unmarshal(c.Data, &p); err != nil {
				e.t.Fatal(err)
			}
			entries = append(entries, p)
		}
	}
	names := portal.Names{Procedure: "Đăng ký hộ kinh doanh", Agencies: map[string]string{root: "UBND tỉnh",
		reception: "Trung tâm Phục vụ hành chính công", dept: "Sở Kế hoạch và Đầu tư", dept2: "Phòng Đăng ký kinh doanh"}}
	if want := portal.RecordOf(d, names); portal.Hash(want) != portal.Hash(lastRecord) {
		e.t.Errorf("%s: the portal's last record differs from the dossier:\n got %+v\nwant %+v", code, lastRecord, want)
	}
	if lastRecord.TrangThaiHoSo != d.Status.Code() {
		e.t.Errorf("%s: portal status %d, dossier %d", code, lastRecord.TrangThaiHoSo, d.Status.Code())
	}
	// Remove the allowed repeats (a call whose answer was lost).
	for _, n := range dups {
		if n < len(entries) && entries[n-1] == entries[n] {
			entries = append(entries[:n], entries[n+1:]...)
		} else {
			e.t.Errorf("%s: entry %d was expected twice", code, n)
		}
	}
	if len(entries) != len(d.History) {
		e.t.Fatalf("%s: %d progress entries for %d history lines", code, len(entries), len(d.History))
	}
	for i, h := range d.History {
		p := entries[i]
		if p.ThoiDiemXuLy != portal.Time(h.At) || p.TrangThai != h.To.Code() || p.MaHoSo != code {
			e.t.Errorf("%s: entry %d is %+v, history line %+v", code, i+1, p, h)
		}
		if !portalTime.MatchString(p.ThoiDiemXuLy) || !portalTime.MatchString(p.NgayBatDau) {
			e.t.Errorf("%s: entry %d times not yyyyMMddHHmmss: %+v", code, i+1, p)
		}
		if utf8.RuneCountInString(p.NguoiXuLy) > portal.MaxNameRunes || !utf8.ValidString(p.NguoiXuLy) || p.ChucDanh != "Chuyên viên" || p.PhongBanXuLy == "" || p.NoiDungXuLy == "" {
			e.t.Errorf("%s: entry %d person or unit: %+v", code, i+1, p)
		}
	}
	return d
}

func isCrash(err error) bool { return errors.Is(err, portal.ErrCrashed) }

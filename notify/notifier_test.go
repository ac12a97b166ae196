package notify_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/events/eventstest"
	"github.com/motcua/motcua/notify"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
	"github.com/motcua/motcua/store/storetest"
)

const (
	root   = "000.00.00.H29"
	dept   = "000.00.07.H29"
	office = "000.07.01.H29"
	center = "000.00.10.H29"
	proc   = "1.001612"
)

var admin = domain.Actor{Sub: "admin-1", Roles: []domain.Role{domain.RoleAdmin}, Agency: root}

// syncBuf is a log sink the test can read while the notifier writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// env is a real store, a real NATS stream fed by the real relay, the
// service, an SMS gateway and an SMTP server.
type env struct {
	t    testing.TB
	st   *store.Store
	conn *events.Conn
	svc  *service.Service
	sms  *smsGateway
	mail *mailServer
	logs *syncBuf
}

func newEnv(t testing.TB, st *store.Store) *env {
	t.Helper()
	conn := eventstest.Conn(t)
	relay := events.NewRelay(conn, st, events.RelayOptions{Logger: storetest.Quiet(), PollInterval: 50 * time.Millisecond})
	svc := service.New(st, service.SystemClock{}, relay, service.Options{Logger: storetest.Quiet()})
	// Right PINs' give-backs still being applied finish before the store closes.
	t.Cleanup(func() { _ = svc.Close(context.Background()) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("part", "relay"))) // BenchmarkNotify's profiles
		_ = relay.Run(ctx)
	}()
	t.Cleanup(func() { cancel(); <-done })
	e := &env{t: t, st: st, conn: conn, svc: svc, sms: newSMSGateway(t), mail: newMailServer(t, nil), logs: &syncBuf{}}
	for _, a := range []domain.Agency{{Code: root, Name: "Ủy ban nhân dân Thành phố Hà Nội"},
		{Code: dept, Name: "Sở Tài chính", ParentCode: root}, {Code: office, Name: "Phòng Đăng ký kinh doanh", ParentCode: dept},
		{Code: center, Name: "Trung tâm Phục vụ hành chính công", ParentCode: root}} {
		if _, err := svc.PutAgency(ctx, admin, a); err != nil {
			t.Fatal(err)
		}
	}
	p := domain.Procedure{Code: proc, Name: "Đăng ký thành lập hộ kinh doanh", AgencyCode: dept, Unit: domain.UnitWorkingDays,
		Amount: 3, Minutes: 3 * domain.MinutesPerWorkingDay, SupplementClock: domain.ClockRestart, Online: domain.OnlineFull,
		Steps: []domain.StepDef{{Name: "Thẩm định", AgencyCode: office, Minutes: 2 * domain.MinutesPerWorkingDay},
			{Name: "Phê duyệt", AgencyCode: dept, Minutes: domain.MinutesPerWorkingDay}}}
	if _, _, err := svc.PutProcedure(ctx, admin, p); err != nil {
		t.Fatal(err)
	}
	return e
}

// options are fast retries for tests, both channels on.
func (e *env) options() notify.Options {
	return notify.Options{
		SMS:       notify.NewSMS(e.sms.srv.URL, "sms-token", 2*time.Second),
		Email:     notify.NewMailer(notify.MailConfig{Host: "127.0.0.1", Port: e.mail.port(), From: "motcua@hanoi.gov.vn", Timeout: 5 * time.Second}),
		PublicURL: "https://dichvucong.hanoi.gov.vn", RetryBase: 50 * time.Millisecond, RetryMax: 200 * time.Millisecond,
		Lease: 10 * time.Second, Poll: 50 * time.Millisecond, Workers: 8,
		Logger: slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// start runs a notifier until the test ends (or stop is called); wait
// returns what Run returned.
func (e *env) start(o notify.Options) (stop func(), wait func() error) {
	e.t.Helper()
	n, err := notify.New(e.conn, e.st, o)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		pprof.SetGoroutineLabels(pprof.WithLabels(ctx, pprof.Labels("part", "notifier")))
		var runErr error
		_ = e.st.Lead(ctx, store.LockNotify, 100*time.Millisecond, func(ctx context.Context) error {
			runErr = n.Run(ctx)
			if errors.Is(runErr, notify.ErrCrashed) {
				cancel() // a crashed process does not take over again
			}
			return runErr
		})
		done <- runErr
	}()
	var once sync.Once
	var res error
	wait = func() error {
		once.Do(func() { res = <-done })
		return res
	}
	stop = func() { cancel(); wait() }
	e.t.Cleanup(stop)
	return stop, wait
}

const (
	phone = "0912345678"
	email = "nguyen.van.an@example.vn"
	idNum = "001090001234"
	addr  = "Số 12 phố Tràng Tiền"
)

// intake takes a dossier in with the given consent.
func (e *env) intake(phoneNo, mail string, notifyBy ...string) (*domain.Dossier, string) {
	e.t.Helper()
	res, err := e.svc.Intake(context.Background(), domain.Actor{Sub: "clerk-1", Roles: []domain.Role{domain.RoleClerk}, Agency: center},
		service.IntakeCmd{ProcedureCode: proc, Channel: "counter", Delivery: "counter",
			Applicant: domain.Applicant{Name: "Nguyễn Văn An", IDNumber: idNum, Phone: phoneNo, Email: mail, Address: addr},
			Documents: []string{"Giấy đề nghị"}, Notify: notifyBy})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.Dossier, res.PIN
}

// act applies transitions as an administrator.
func (e *env) act(d *domain.Dossier, inputs ...domain.TransitionInput) *domain.Dossier {
	e.t.Helper()
	for _, in := range inputs {
		var err error
		d, err = e.svc.Transition(context.Background(), admin, service.TransitionCmd{Code: d.Code, Version: d.Version, Input: in})
		if err != nil {
			e.t.Fatalf("%s: %v", in.Action, err)
		}
	}
	return d
}

// wholeLife moves a received dossier through every notified step but
// refusal and stop: supplement, apology, result, return.
func (e *env) wholeLife(d *domain.Dossier) *domain.Dossier {
	newDue := d.Clock.DueAt.AddDate(0, 0, 14)
	return e.act(d,
		domain.TransitionInput{Action: domain.ActionTransfer},
		domain.TransitionInput{Action: domain.ActionRequestSupplement, Reason: "Thiếu giấy tờ", Items: []string{"Bản sao CCCD"}},
		domain.TransitionInput{Action: domain.ActionReceiveSupplement},
		domain.TransitionInput{Action: domain.ActionExtend, Reason: "Cần xác minh thêm", NewDueAt: &newDue},
		domain.TransitionInput{Action: domain.ActionCompleteStep},
		domain.TransitionInput{Action: domain.ActionCompleteStep, Result: "approved"},
		domain.TransitionInput{Action: domain.ActionReturnResult, Method: domain.DeliveryCounter})
}

func (e *env) rows(code string) []domain.Notification {
	e.t.Helper()
	d, err := e.st.Dossier(context.Background(), code)
	if err != nil {
		e.t.Fatal(err)
	}
	return d.Notifications
}

func waitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// allSent waits until the dossier has want rows, all sent.
func (e *env) allSent(code string, want int) []domain.Notification {
	e.t.Helper()
	var rows []domain.Notification
	waitFor(e.t, 30*time.Second, fmt.Sprintf("%d notifications of %s sent", want, code), func() bool {
		rows = e.rows(code)
		if len(rows) != want {
			return false
		}
		for _, r := range rows {
			if r.Status != domain.NotificationSent {
				return false
			}
		}
		return true
	})
	return rows
}

var lifeEvents = []domain.EventType{domain.EventReceived, domain.EventSupplementRequested, domain.EventExtended,
	domain.EventProcessed, domain.EventReturned}

// checkPrivate fails if a message, a stored row or the log holds the PIN,
// the ID number, the address, or a full phone or e-mail address.
func (e *env) checkPrivate(pins []string) {
	e.t.Helper()
	smss, _ := e.sms.delivered()
	var texts []string
	for _, m := range smss {
		texts = append(texts, m.Text)
	}
	for _, m := range e.mail.messages() {
		texts = append(texts, m.Subject+"\n"+m.Body)
	}
	never := append([]string{idNum, addr, "Trang Tien"}, pins...)
	for _, text := range texts {
		for _, s := range never {
			if strings.Contains(text, s) {
				e.t.Errorf("a message holds %q:\n%s", s, text)
			}
		}
	}
	logs := e.logs.String()
	for _, s := range append(never, phone, "+84912345678", email) {
		if strings.Contains(logs, s) {
			e.t.Errorf("the log holds %q", s)
		}
	}
}

// TestLifeCycle: a dossier with both channels is told at each step, once per
// step and channel; one with e-mail only gets no SMS; one without consent
// gets nothing; refusal and stop are told with their reasons.
func TestLifeCycle(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.start(e.options())
		both, pin1 := e.intake(phone, email, "sms", "email")
		mailOnly, pin2 := e.intake(phone, email, "email")
		none, pin3 := e.intake(phone, email)
		refused, _ := e.intake(phone, "", "sms")
		stopped, _ := e.intake("", email, "email")
		e.wholeLife(both)
		e.wholeLife(mailOnly)
		e.wholeLife(none)
		e.act(refused, domain.TransitionInput{Action: domain.ActionRefuse, Reason: "Hồ sơ không thuộc thẩm quyền", Note: "ghi chú nội bộ"})
		e.act(stopped, domain.TransitionInput{Action: domain.ActionTransfer},
			domain.TransitionInput{Action: domain.ActionStop, Reason: "Người nộp đề nghị dừng"})

		rows := e.allSent(both.Code, 10)
		e.allSent(mailOnly.Code, 5)
		e.allSent(refused.Code, 2) // received and refused, SMS
		e.allSent(stopped.Code, 2) // received and stopped, e-mail
		for _, r := range rows {
			want := map[domain.NotifyChannel]string{domain.NotifySMS: "091****678", domain.NotifyEmail: "n***@example.vn"}[r.Channel]
			if r.To != want || r.Attempts != 1 || r.SentAt == nil {
				t.Errorf("row %+v", r)
			}
		}
		// Give the notifier time to do anything more it would wrongly do.
		time.Sleep(300 * time.Millisecond)
		if rows := e.rows(none.Code); len(rows) != 0 {
			t.Fatalf("no consent, yet %d rows", len(rows))
		}

		smss, most := e.sms.delivered()
		if most != 1 {
			t.Errorf("a ref was posted %d times", most)
		}
		var bothSMS []string
		perCode := map[string]int{}
		for _, m := range smss {
			perCode[strings.SplitN(m.Text, ":", 2)[0]]++
			if !domain.ValidSMS(m.Text) || m.To != "+84912345678" {
				t.Errorf("SMS %+v", m)
			}
			if strings.HasPrefix(m.Text, both.Code) {
				bothSMS = append(bothSMS, m.Text)
			}
		}
		if len(smss) != 7 || perCode[both.Code] != 5 || perCode[refused.Code] != 2 || perCode[mailOnly.Code] != 0 {
			t.Fatalf("SMS per dossier %v", perCode)
		}
		// In the order of the events, each saying its facts.
		for i, want := range []string{"da duoc tiep nhan", "Ban sao CCCD", "Can xac minh them", "Moi nhan tai Trung tam Phuc vu hanh chinh cong",
			"https://dichvucong.hanoi.gov.vn/tra-cuu?ma=" + both.Code} {
			if !strings.Contains(bothSMS[i], want) {
				t.Errorf("SMS %d %q lacks %q", i, bothSMS[i], want)
			}
		}
		mails := e.mail.messages()
		perMail := map[string][]string{}
		for _, m := range mails {
			subject := m.Subject
			code := strings.SplitN(subject, " ", 2)[0]
			perMail[code] = append(perMail[code], subject)
			if len(m.To) != 1 || m.To[0] != email || m.From != "motcua@hanoi.gov.vn" {
				t.Errorf("envelope %v from %s", m.To, m.From)
			}
			if !strings.Contains(m.header("Message-ID"), "notification-") {
				t.Errorf("Message-ID %q", m.header("Message-ID"))
			}
		}
		if len(perMail[both.Code]) != 5 || len(perMail[mailOnly.Code]) != 5 || len(perMail[stopped.Code]) != 2 || len(perMail[none.Code]) != 0 {
			t.Fatalf("e-mails per dossier %v", perMail)
		}
		// Subject and text in Vietnamese with diacritics; the subject starts with the code.
		if want := both.Code + " - Hồ sơ đã được tiếp nhận"; perMail[both.Code][0] != want {
			t.Errorf("subject %q, want %q", perMail[both.Code][0], want)
		}
		for _, m := range mails {
			if m.Subject == perMail[both.Code][0] && !strings.Contains(m.Body, "Thủ tục: Đăng ký thành lập hộ kinh doanh") {
				t.Errorf("body:\n%s", m.Body)
			}
		}
		var refusedSMS string
		for _, m := range smss {
			if strings.HasPrefix(m.Text, refused.Code) && strings.Contains(m.Text, "Ly do") {
				refusedSMS = m.Text
			}
		}
		if !strings.Contains(refusedSMS, "Ho so khong thuoc tham quyen") || strings.Contains(refusedSMS, "noi bo") {
			t.Errorf("refusal SMS %q", refusedSMS)
		}
		e.checkPrivate([]string{pin1, pin2, pin3})
	})
}

// TestGatewaysDown: while the SMS gateway and the mail server are away,
// dossiers move on; nothing is lost, nothing is sent twice, each dossier's
// messages go in order once they are back, and the errors are recorded
// without personal data.
func TestGatewaysDown(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.sms.setDown(true)
		e.mail.setDown(true)
		e.start(e.options())
		var ds []*domain.Dossier
		for range 3 {
			d, _ := e.intake(phone, email, "sms", "email")
			ds = append(ds, d)
		}
		// Retried while away.
		waitFor(t, 30*time.Second, "retries", func() bool {
			rows := e.rows(ds[0].Code)
			return len(rows) == 2 && rows[0].Attempts >= 2 && rows[1].Attempts >= 2
		})
		for _, d := range ds {
			e.wholeLife(d)
		}
		waitFor(t, 30*time.Second, "every row written", func() bool {
			for _, d := range ds {
				if len(e.rows(d.Code)) != 10 {
					return false
				}
			}
			return true
		})
		if got, _ := e.sms.delivered(); len(got) != 0 || len(e.mail.messages()) != 0 {
			t.Fatal("sent while down")
		}
		rep, err := st.NotificationStatus(context.Background(), time.Now().Add(-time.Hour), 10)
		if err != nil || rep.OldestPending == nil || rep.OldestPending.LastError == "" {
			t.Fatalf("status while down: %+v, %v", rep, err)
		}
		if le := rep.OldestPending.LastError; strings.Contains(le, email) || strings.Contains(le, phone) {
			t.Fatalf("last error holds personal data: %q", le)
		}
		e.sms.setDown(false)
		e.mail.setDown(false)
		for _, d := range ds {
			e.allSent(d.Code, 10)
		}
		smss, most := e.sms.delivered()
		if most != 1 || len(smss) != 15 {
			t.Fatalf("%d SMS, a ref posted up to %d times", len(smss), most)
		}
		for _, d := range ds {
			var seq []string
			for _, m := range smss {
				if strings.HasPrefix(m.Text, d.Code) {
					seq = append(seq, m.Text)
				}
			}
			for i, want := range []string{"tiep nhan", "bo sung", "Xin loi", "Da co ket qua", "Da tra ket qua"} {
				if !strings.Contains(seq[i], want) {
					t.Errorf("%s: SMS %d is %q, want %q (out of order?)", d.Code, i, seq[i], want)
				}
			}
		}
		if len(e.mail.messages()) != 15 {
			t.Fatalf("%d e-mails", len(e.mail.messages()))
		}
		e.checkPrivate(nil)
		if !strings.Contains(e.logs.String(), "will retry") {
			t.Error("retries were not logged")
		}
	})
}

// TestFailedAfterMaxAge: a message that cannot go for MaxAge is marked
// failed, visibly.
func TestFailedAfterMaxAge(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.sms.setDown(true)
		o := e.options()
		o.MaxAge = 2 * time.Second
		e.start(o)
		d, _ := e.intake(phone, "", "sms")
		waitFor(t, 30*time.Second, "the row failed", func() bool {
			rows := e.rows(d.Code)
			return len(rows) == 1 && rows[0].Status == domain.NotificationFailed
		})
		r := e.rows(d.Code)[0]
		if r.Attempts < 3 || r.SentAt != nil || !strings.Contains(r.LastError, "503") {
			t.Fatalf("failed row %+v", r)
		}
		rep, err := st.NotificationStatus(context.Background(), time.Now().Add(-time.Hour), 10)
		if err != nil || len(rep.Failed) != 1 || rep.Failed[0].DossierCode != d.Code {
			t.Fatalf("status %+v %v", rep, err)
		}
		if !strings.Contains(e.logs.String(), "failed for good") {
			t.Error("the failure was not logged")
		}
	})
}

// TestCrashBetweenSendAndRecord: the notifier stops after the gateway took
// a message and before its row was updated; started again, it sends the
// same ref (the gateway drops the repeat) and the row ends sent once.
func TestCrashBetweenSendAndRecord(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		o := e.options()
		o.Lease = 300 * time.Millisecond
		notify.CrashAfterSend(&o, func(domain.Notification) bool { return false })
		_, wait := e.start(o)
		d, _ := e.intake(phone, "", "sms")
		if err := wait(); !errors.Is(err, notify.ErrCrashed) {
			t.Fatalf("Run returned %v", err)
		}
		smss, _ := e.sms.delivered()
		rows := e.rows(d.Code)
		if len(smss) != 1 || len(rows) != 1 || rows[0].Status != domain.NotificationPending || rows[0].Attempts != 1 {
			t.Fatalf("after the crash: %d SMS, rows %+v", len(smss), rows)
		}
		e.start(e.options())
		rows = e.allSent(d.Code, 1)
		smss, most := e.sms.delivered()
		if len(smss) != 1 || most != 2 || smss[0].Ref != fmt.Sprint(rows[0].ID) || rows[0].Attempts != 2 {
			t.Fatalf("after the restart: %d SMS, ref posted %d times, row %+v", len(smss), most, rows[0])
		}
	})
}

// TestCrashAfterEmail: the same crash after the mail server took an
// e-mail: SMTP has no idempotency key, so the e-mail goes twice, with the
// same Message-ID (the row's), which mail clients show once.
func TestCrashAfterEmail(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		o := e.options()
		o.Lease = 300 * time.Millisecond
		notify.CrashAfterSend(&o, func(domain.Notification) bool { return false })
		_, wait := e.start(o)
		d, _ := e.intake("", email, "email")
		if err := wait(); !errors.Is(err, notify.ErrCrashed) {
			t.Fatalf("Run returned %v", err)
		}
		if n := len(e.mail.messages()); n != 1 {
			t.Fatalf("after the crash: %d e-mails", n)
		}
		e.start(e.options())
		rows := e.allSent(d.Code, 1)
		mails := e.mail.messages()
		want := fmt.Sprintf("<notification-%d@hanoi.gov.vn>", rows[0].ID)
		if len(mails) != 2 || mails[0].header("Message-ID") != want || mails[1].header("Message-ID") != want {
			t.Fatalf("after the restart: %d e-mails, Message-IDs %q, %q; want both %q", len(mails), mails[0].header("Message-ID"),
				mails[len(mails)-1].header("Message-ID"), want)
		}
	})
}

// TestTwoInstances: two notifiers on one database and one stream send each
// message once.
func TestTwoInstances(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		e.sms.delay = 20 * time.Millisecond
		e.start(e.options())
		e.start(e.options())
		var ds []*domain.Dossier
		for range 6 {
			d, _ := e.intake(phone, email, "sms", "email")
			ds = append(ds, d)
		}
		for _, d := range ds {
			e.wholeLife(d)
		}
		for _, d := range ds {
			e.allSent(d.Code, 10)
		}
		smss, most := e.sms.delivered()
		if len(smss) != 30 || most != 1 || len(e.mail.messages()) != 30 {
			t.Fatalf("%d SMS (a ref posted up to %d times), %d e-mails", len(smss), most, len(e.mail.messages()))
		}
	})
}

// TestBusySlowsSending: while the instance serves a command (Busy), the
// senders go at BusyRate; once it is idle they go at the cap again, and a
// backlog drains either way.
func TestBusySlowsSending(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		var busy atomic.Bool
		busy.Store(true)
		o := e.options()
		o.Rate, o.Busy, o.BusyRate = -1, busy.Load, 5
		var codes []string
		for range 6 {
			d, _ := e.intake(phone, email, "sms", "email") // 12 messages
			codes = append(codes, d.Code)
		}
		sent := func() int {
			n := 0
			for _, c := range codes {
				for _, r := range e.rows(c) {
					if r.Status == domain.NotificationSent {
						n++
					}
				}
			}
			return n
		}
		e.start(o)
		waitFor(t, 30*time.Second, "six sent while busy", func() bool { return sent() >= 6 })
		// Six sends at 5 a second with a burst of one: a second from the
		// first to the sixth (without the cap they go together).
		var at []time.Time
		for _, c := range codes {
			for _, r := range e.rows(c) {
				if r.SentAt != nil {
					at = append(at, *r.SentAt)
				}
			}
		}
		slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
		if spread := at[5].Sub(at[0]); spread < 700*time.Millisecond {
			t.Errorf("six sends while busy within %s: not slowed to 5 a second", spread)
		}
		busy.Store(false)
		waitFor(t, 30*time.Second, "the rest sent once idle", func() bool { return sent() == 12 })
	})
}

// TestBusySlowsTaking: while the instance is busy, the consumer turns the
// stream's events into rows at BusyTakeRate (the rest wait in the stream),
// and all of them once it is idle.
func TestBusySlowsTaking(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		e := newEnv(t, st)
		var busy atomic.Bool
		busy.Store(true)
		o := e.options()
		o.Busy, o.BusyTakeRate, o.Batch = busy.Load, 4, 2
		var codes []string
		for range 12 {
			d, _ := e.intake(phone, "", "sms") // one received event, one row each
			codes = append(codes, d.Code)
		}
		rows := func() int {
			n := 0
			for _, c := range codes {
				n += len(e.rows(c))
			}
			return n
		}
		e.start(o)
		waitFor(t, 30*time.Second, "a first row", func() bool { return rows() > 0 })
		start := time.Now()
		waitFor(t, 30*time.Second, "eight rows while busy", func() bool { return rows() >= 8 })
		// Batches of two at four events a second: half a second between
		// batches, so eight rows take at least a second and a half.
		if took := time.Since(start); took < 1200*time.Millisecond {
			t.Errorf("eight rows while busy in %s: not slowed to 4 events a second", took)
		}
		busy.Store(false)
		waitFor(t, 30*time.Second, "every row once idle", func() bool { return rows() == 12 })
	})
}

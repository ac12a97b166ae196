package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/time/rate"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/service"
)

// DefaultDurable is the notifier's durable consumer name.
const DefaultDurable = "motcua-notify"

// DefaultRate is the default cap on sends a second: 360,000 messages an
// hour, far above a province's need, at a third of the uncapped
// notifier's work a second (docs/operations.md, The notifier;
// docs/benchmarks.md, Notifications to applicants).
const DefaultRate = 100

// recordWindow is how long the recorder gathers outcomes into one
// transaction: longer means fewer commits taken from intake, and more
// messages sent again (same ref, same Message-ID) after a crash.
const recordWindow = 100 * time.Millisecond

var durableRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// DefaultBusyRate is the sends a second while the instance is busy with
// commands (Options.Busy): enough that a backlog still drains, little
// enough that intake does not feel it.
const DefaultBusyRate = 10

// DefaultBusyTakeRate is the stream events a second the consumer turns into
// notification rows while the instance is busy: each intake makes one, so
// a busy counter's events wait in the stream and are taken in its pauses.
const DefaultBusyTakeRate = 100

// Options tune a Notifier; zero values take defaults.
type Options struct {
	// Busy, when set, reports whether the instance is serving a clerk's
	// command right now; while it is, the senders go at BusyRate at most.
	// Sending can wait, a clerk at the counter cannot (docs/benchmarks.md,
	// "Notifications to applicants"). Only this instance's commands are
	// seen.
	Busy func() bool
	// BusyRate caps the sends a second while Busy; default DefaultBusyRate.
	BusyRate float64
	// BusyTakeRate caps the stream events a second turned into rows while
	// Busy (the rest wait in the stream); default DefaultBusyTakeRate.
	BusyTakeRate float64
	// SMS and Email send each channel; nil leaves the channel off (a
	// consented message for it is then marked failed, not dropped).
	SMS, Email Sender
	// PublicURL is the site's address, for the look-up link (no PIN).
	PublicURL string
	// Durable is the JetStream durable consumer's name; default motcua-notify.
	Durable string
	// MaxAge is how long a message is retried before it is marked failed,
	// and how far back a new consumer starts reading; default 24h.
	MaxAge time.Duration
	// RetryBase and RetryMax bound the back-off between attempts: RetryBase
	// doubled per attempt, at most RetryMax; defaults 30s and 30m.
	RetryBase, RetryMax time.Duration
	// Lease is how long an attempt holds its row: a process that dies
	// mid-attempt leaves the row to be tried again after it; default 2m
	// (longer than a send may take).
	Lease time.Duration
	// Workers is how many messages are sent at once (across dossiers; one
	// dossier's messages on a channel go one after the other); default 16,
	// about 300 a second through a 100 ms gateway when Rate allows it
	// (docs/benchmarks.md, Notifications to applicants).
	Workers int
	// Rate caps the sends a second (both channels together), so a backlog
	// drains at a steady pace instead of taking the CPU and the database
	// from intake; default DefaultRate, negative for no cap.
	Rate float64
	// Batch is how many stream messages one fetch takes; default 256.
	Batch int
	// Poll is how often the dispatcher looks for due rows when not woken;
	// default 1s.
	Poll    time.Duration
	Logger  *slog.Logger
	Metrics *Metrics
	// Now tells the time; default time.Now.
	Now func() time.Time

	// afterSend, when set (tests), is called after a gateway accepted a
	// message and before the row is updated; false stops the notifier
	// there, as a crash would.
	afterSend func(n domain.Notification) bool
}

// Notifier tells applicants about their dossiers: a durable consumer of
// the stream writes notification rows, a dispatcher sends them.
type Notifier struct {
	conn      *events.Conn
	st        service.NotificationStore
	o         Options
	log       *slog.Logger
	templates *Templates
	senders   map[domain.NotifyChannel]Sender
	wake      chan struct{}
	crashed   chan struct{}
	crashOnce sync.Once
	limiter   *rate.Limiter // nil: no cap
	busy      *rate.Limiter // while o.Busy(); nil without o.Busy

	mu       sync.Mutex
	names    map[string]string // "p:code:version" and "a:code" to names
	inflight map[int64]bool    // rows taken by this notifier, not yet recorded
}

// New makes a notifier.
func New(conn *events.Conn, st service.NotificationStore, o Options) (*Notifier, error) {
	if o.Durable == "" {
		o.Durable = DefaultDurable
	}
	if !durableRe.MatchString(o.Durable) {
		return nil, fmt.Errorf("notify: durable name %q: letters, digits, - and _ only", o.Durable)
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 24 * time.Hour
	}
	if o.RetryBase <= 0 {
		o.RetryBase = 30 * time.Second
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Minute
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.BusyRate <= 0 {
		o.BusyRate = DefaultBusyRate
	}
	if o.BusyTakeRate <= 0 {
		o.BusyTakeRate = DefaultBusyTakeRate
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ts, err := LoadTemplates()
	if err != nil {
		return nil, err
	}
	n := &Notifier{conn: conn, st: st, o: o, log: o.Logger, templates: ts, senders: map[domain.NotifyChannel]Sender{},
		wake: make(chan struct{}, 1), crashed: make(chan struct{}), names: map[string]string{}, inflight: map[int64]bool{}}
	if o.Rate > 0 {
		n.limiter = rate.NewLimiter(rate.Limit(o.Rate), max(1, int(o.Rate/10)))
	}
	if o.Busy != nil {
		n.busy = rate.NewLimiter(rate.Limit(o.BusyRate), 1)
	}
	if o.SMS != nil {
		n.senders[domain.NotifySMS] = o.SMS
	}
	if o.Email != nil {
		n.senders[domain.NotifyEmail] = o.Email
	}
	return n, nil
}

func (n *Notifier) now() time.Time { return n.o.Now().UTC().Truncate(time.Microsecond) }

// Wake makes the dispatcher look for due rows at once.
func (n *Notifier) Wake() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// errCrashed stops the notifier in a test, as a crash would.
var errCrashed = errors.New("notify: simulated crash")

// Run reads the stream and sends until ctx ends, then returns nil; it keeps
// trying while NATS, the database or a gateway is away.
func (n *Notifier) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer n.closeSenders()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); n.consume(ctx) }()
	go func() { defer wg.Done(); n.dispatch(ctx) }()
	select {
	case <-ctx.Done():
	case <-n.crashed:
		cancel()
		wg.Wait()
		return errCrashed
	}
	wg.Wait()
	return nil
}

// closeSenders lets the senders that hold connections (the Mailer) close
// them.
func (n *Notifier) closeSenders() {
	for _, s := range n.senders {
		if c, ok := s.(interface{ Close() error }); ok {
			_ = c.Close()
		}
	}
}

// FilterSubjects are the subjects the notifier takes: one per notified
// event, from every agency.
func (n *Notifier) FilterSubjects() []string {
	out := make([]string, len(domain.NotifyEvents))
	for i, k := range domain.NotifyEvents {
		out[i] = n.conn.SubjectPrefix() + domain.SubjectRoot + "*." + string(k)
	}
	return out
}

// consumer finds the durable consumer, or makes it reading from MaxAge ago
// (older events are past telling).
func (n *Notifier) consumer(ctx context.Context) (jetstream.Consumer, error) {
	js := n.conn.JetStream()
	c, err := js.Consumer(ctx, n.conn.StreamName(), n.o.Durable)
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return nil, fmt.Errorf("durable consumer %s: %w", n.o.Durable, err)
	}
	start := n.now().Add(-n.o.MaxAge)
	cfg := jetstream.ConsumerConfig{
		Durable:        n.o.Durable,
		Description:    "motcua notify: SMS and e-mail to applicants",
		DeliverPolicy:  jetstream.DeliverByStartTimePolicy,
		OptStartTime:   &start,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        30 * time.Second,
		MaxAckPending:  4 * n.o.Batch,
		FilterSubjects: n.FilterSubjects(),
	}
	if !events.MultipleFilters(n.conn.NATS().ConnectedServerVersion()) {
		// nats-server before 2.10 takes one filter subject: take every
		// event; the others are acknowledged and skipped.
		cfg.FilterSubjects, cfg.FilterSubject = nil, n.conn.SubjectPrefix()+domain.SubjectRoot+"*.*"
	}
	c, err = js.CreateConsumer(ctx, n.conn.StreamName(), cfg)
	if errors.Is(err, jetstream.ErrConsumerExists) {
		return js.Consumer(ctx, n.conn.StreamName(), n.o.Durable)
	}
	if err != nil {
		return nil, fmt.Errorf("durable consumer %s: %w", n.o.Durable, err)
	}
	return c, nil
}

func (n *Notifier) consume(ctx context.Context) {
	_ = events.Consume(ctx, events.Consumer{Name: "notify", Log: n.log, Batch: n.o.Batch, Open: n.consumer, Handle: n.take})
}

// take writes the rows for a fetched batch, then acknowledges it. Rows
// are unique per (event, channel), so a message delivered again adds
// nothing.
func (n *Notifier) take(ctx context.Context, msgs []jetstream.Msg) error {
	if len(msgs) == 0 {
		return nil
	}
	now := n.now()
	var evs []notice
	var codes []string
	for _, m := range msgs {
		if ev, ok := n.noticeOf(m, now); ok {
			evs = append(evs, ev)
			codes = append(codes, ev.dossier)
		}
	}
	contacts, err := n.st.Contacts(ctx, codes)
	if err != nil {
		return err // not acknowledged: delivered again
	}
	var rows []domain.Notification
	for _, ev := range evs {
		c, ok := contacts[ev.dossier]
		if !ok {
			continue // no consent (or a dossier this database does not hold)
		}
		for _, ch := range c.Notify {
			to := c.Phone
			if ch == domain.NotifyEmail {
				to = c.Email
			}
			if to == "" {
				continue
			}
			rows = append(rows, domain.Notification{EventID: ev.id, Channel: ch, DossierCode: ev.dossier, Event: ev.kind,
				To: domain.Mask(ch, to), OccurredAt: ev.occurred})
		}
	}
	added, err := n.st.AddNotifications(ctx, rows, now)
	if err != nil {
		return err
	}
	if added > 0 {
		n.o.Metrics.queued(added)
		n.Wake()
	}
	for _, m := range msgs {
		if err := m.Ack(); err != nil {
			n.log.Warn("notify: acknowledgement not sent", "err", err)
		}
	}
	// While the instance serves commands, the next batch waits as long as
	// this one took at BusyTakeRate: the stream keeps the events meanwhile.
	if n.o.Busy != nil && n.o.Busy() {
		events.Sleep(ctx, time.Duration(float64(len(msgs))/n.o.BusyTakeRate*float64(time.Second)))
	}
	return nil
}

// notice is what the notifier reads of an event.
type notice struct {
	id, dossier string
	kind        domain.EventType
	occurred    time.Time
}

// noticeOf reads a stream message; false for one that calls for nothing
// (another event, not a CloudEvent, too old to tell).
func (n *Notifier) noticeOf(m jetstream.Msg, now time.Time) (notice, bool) {
	ev, err := events.Decode(m.Data())
	if err != nil {
		n.log.Warn("notify: skipping a message that is not a CloudEvent", "subject", m.Subject(), "err", err)
		return notice{}, false
	}
	kind, _ := ev.Extensions()[events.ExtEventKind].(string)
	et := domain.EventType(kind)
	if !et.Notified() {
		return notice{}, false
	}
	var data struct {
		DossierCode string    `json:"dossier_code"`
		OccurredAt  time.Time `json:"occurred_at"`
	}
	if err := json.Unmarshal(ev.Data(), &data); err != nil || data.DossierCode == "" {
		n.log.Warn("notify: skipping an event without dossier_code", "id", ev.ID())
		return notice{}, false
	}
	occurred := data.OccurredAt
	if occurred.IsZero() {
		occurred = ev.Time()
	}
	if now.Sub(occurred) > n.o.MaxAge {
		n.o.Metrics.result("", et, "stale")
		return notice{}, false
	}
	return notice{id: ev.ID(), dossier: data.DossierCode, kind: et, occurred: occurred.UTC()}, true
}

func contact(d *domain.Dossier, ch domain.NotifyChannel) string {
	if ch == domain.NotifySMS {
		return d.Applicant.Phone
	}
	return d.Applicant.Email
}

// dispatch sends due rows until ctx ends: it takes the attempts on a
// batch of due rows in one statement and hands them to Workers senders;
// a recorder writes the outcomes in batches. A row taken but not yet
// recorded is not due (its next attempt is a lease away), so it is never
// taken twice, and a dossier's later row waits behind it.
func (n *Notifier) dispatch(ctx context.Context) {
	work := make(chan job, n.o.Workers)
	outs := make(chan service.AttemptOutcome, 4*n.o.Workers)
	var workers, recorder sync.WaitGroup
	for range n.o.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for j := range work {
				if !n.pace(ctx) {
					continue // stopping: the lease brings the row back
				}
				if o, ok := n.attempt(ctx, j.row, j.d); ok {
					outs <- o
				}
			}
		}()
	}
	recorder.Add(1)
	go func() { defer recorder.Done(); n.record(outs) }()
	defer func() {
		close(work)
		workers.Wait()
		close(outs)
		recorder.Wait()
	}()

	limit := 4 * n.o.Workers
	t := time.NewTimer(0)
	defer t.Stop()
	for ctx.Err() == nil {
		full, err := n.takeDue(ctx, limit, work)
		if err != nil && ctx.Err() == nil {
			n.log.Warn("notify: taking due notifications", "err", err)
		}
		if full && err == nil {
			continue // more may be due
		}
		t.Reset(n.o.Poll)
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
			if !t.Stop() {
				<-t.C
			}
		case <-t.C:
		}
	}
}

// takeDue takes the attempts on up to limit due rows and queues them for
// the senders; it reports whether limit rows were due.
func (n *Notifier) takeDue(ctx context.Context, limit int, work chan<- job) (bool, error) {
	now := n.now()
	due, err := n.st.DueNotifications(ctx, now, limit)
	if err != nil || len(due) == 0 {
		return false, err
	}
	// A row this notifier is still sending is not taken again, even when
	// its lease ran out (a slow send): only another instance may, then.
	ids := make([]int64, 0, len(due))
	n.mu.Lock()
	for _, r := range due {
		if !n.inflight[r.ID] {
			ids = append(ids, r.ID)
		}
	}
	n.mu.Unlock()
	won, err := n.st.BeginAttempts(ctx, ids, now, now.Add(n.o.Lease))
	if err != nil {
		return false, err
	}
	mine := make(map[int64]bool, len(won))
	n.mu.Lock()
	for _, id := range won {
		mine[id] = true
		n.inflight[id] = true
	}
	n.mu.Unlock()
	// The facts and contacts are read now, for the whole batch at once.
	var codes []string
	for _, row := range due {
		if mine[row.ID] {
			codes = append(codes, row.DossierCode)
		}
	}
	dossiers, err := n.st.DossiersForNotice(ctx, codes)
	if err != nil {
		n.mu.Lock()
		for _, id := range won {
			delete(n.inflight, id)
		}
		n.mu.Unlock()
		return false, err // the lease brings the rows back
	}
	for _, row := range due {
		if !mine[row.ID] {
			continue
		}
		row.Attempts++
		select {
		case work <- job{row, dossiers[row.DossierCode]}:
		case <-ctx.Done():
			return false, nil // the lease brings the row back
		}
	}
	return len(due) == limit, nil
}

// record writes outcomes in batches (what arrived within recordWindow, at
// most 256), until outs is closed.
func (n *Notifier) record(outs <-chan service.AttemptOutcome) {
	for o := range outs {
		batch := []service.AttemptOutcome{o}
		deadline := time.After(recordWindow)
	fill:
		for len(batch) < 256 {
			select {
			case o, ok := <-outs:
				if !ok {
					break fill
				}
				batch = append(batch, o)
			case <-deadline:
				break fill
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := n.st.FinishAttempts(ctx, batch, n.now()); err != nil {
			// Not recorded: the rows come back after their lease and go
			// again with the same ref.
			n.log.Warn("notify: recording outcomes; they are tried again after the lease", "count", len(batch), "err", err)
		}
		cancel()
		n.mu.Lock()
		for _, o := range batch {
			delete(n.inflight, o.ID)
		}
		n.mu.Unlock()
	}
}

// job is a row taken for sending, with its dossier as read for it (nil
// when the dossier is gone).
type job struct {
	row domain.Notification
	d   *domain.Dossier
}

// backoff is the wait after the attempts-th failed attempt, with jitter.
func (n *Notifier) backoff(attempts int) time.Duration {
	d := n.o.RetryBase << min(attempts-1, 20)
	if d > n.o.RetryMax || d <= 0 {
		d = n.o.RetryMax
	}
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// attempt sends one row this notifier has taken and returns the outcome
// to record (false: nothing to record, as after a crash).
func (n *Notifier) attempt(ctx context.Context, row domain.Notification, d *domain.Dossier) (service.AttemptOutcome, bool) {
	start := time.Now()
	sendErr := n.send(ctx, row, d)
	n.o.Metrics.took(row.Channel, time.Since(start))
	if sendErr == nil && n.o.afterSend != nil && !n.o.afterSend(row) {
		n.crashOnce.Do(func() { close(n.crashed) })
		return service.AttemptOutcome{}, false
	}
	end := n.now()
	o := service.AttemptOutcome{ID: row.ID, Status: domain.NotificationSent, Next: end}
	if sendErr != nil {
		o.Error = Scrub(sendErr.Error())
		o.Next = end.Add(n.backoff(row.Attempts))
		o.Status = domain.NotificationPending
		if IsPermanent(sendErr) || o.Next.Sub(row.CreatedAt) > n.o.MaxAge {
			o.Status = domain.NotificationFailed
		}
	}
	result := map[domain.NotificationStatus]string{domain.NotificationSent: "sent", domain.NotificationPending: "retry",
		domain.NotificationFailed: "failed"}[o.Status]
	n.o.Metrics.result(row.Channel, row.Event, result)
	switch o.Status {
	case domain.NotificationFailed:
		n.log.Error("notify: message failed for good", "id", row.ID, "dossier", row.DossierCode, "channel", row.Channel,
			"event", row.Event, "to", row.To, "attempts", row.Attempts, "err", o.Error)
	case domain.NotificationPending:
		n.log.Warn("notify: message not sent; will retry", "id", row.ID, "dossier", row.DossierCode, "channel", row.Channel,
			"event", row.Event, "to", row.To, "attempts", row.Attempts, "retry_at", o.Next, "err", o.Error)
	}
	return o, true
}

// send renders the row's message from the dossier as read for it and sends
// it, with the row's id as the ref.
func (n *Notifier) send(ctx context.Context, row domain.Notification, d *domain.Dossier) error {
	s := n.senders[row.Channel]
	if s == nil {
		return Permanent(fmt.Errorf("the %s channel is not configured", row.Channel))
	}
	if d == nil {
		return Permanent(errors.New("the dossier is gone"))
	}
	if !d.Notify.Has(row.Channel) {
		return Permanent(errors.New("the applicant withdrew consent for this channel"))
	}
	to := contact(d, row.Channel)
	if to == "" {
		return Permanent(errors.New("the applicant's contact was removed"))
	}
	f := FactsOf(d, row.Event, row.OccurredAt, n.name(ctx, "p", d.ProcedureCode, d.ProcedureVersion), n.name(ctx, "a", d.AgencyCode, 0), n.o.PublicURL)
	m, err := n.templates.Render(row.Event, row.Channel, f)
	if err != nil {
		return Permanent(err)
	}
	sctx, cancel := context.WithTimeout(ctx, n.o.Lease/2)
	defer cancel()
	return s.Send(sctx, to, strconv.FormatInt(row.ID, 10), m)
}

// name returns a procedure's or an agency's name, cached; "" when unknown.
func (n *Notifier) name(ctx context.Context, kind, code string, version int) string {
	key := kind + ":" + code + ":" + strconv.Itoa(version)
	n.mu.Lock()
	v, ok := n.names[key]
	n.mu.Unlock()
	if ok {
		return v
	}
	if kind == "p" {
		p, err := n.st.Procedure(ctx, code, version)
		if err != nil {
			return ""
		}
		v = p.Name
	} else {
		a, err := n.st.Agency(ctx, code)
		if err != nil {
			return ""
		}
		v = a.Name
	}
	n.mu.Lock()
	n.names[key] = v
	n.mu.Unlock()
	return v
}

// pace waits for a send's turn: under the cap, and under BusyRate while the
// instance serves a command (the busy limiter's burst is one, so an idle
// spell saves no sends up for the next command).
func (n *Notifier) pace(ctx context.Context) bool {
	if n.busy != nil && n.o.Busy() && n.busy.Wait(ctx) != nil {
		return false
	}
	return n.limiter == nil || n.limiter.Wait(ctx) == nil
}

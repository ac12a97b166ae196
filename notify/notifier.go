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

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/service"
)

// DefaultDurable is the notifier's durable consumer name.
const DefaultDurable = "motcua-notify"

var durableRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Options tune a Notifier; zero values take defaults.
type Options struct {
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
	// dossier's messages on a channel go one after the other); default 64.
	Workers int
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

	mu    sync.Mutex
	names map[string]string // "p:code:version" and "a:code" to names
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
		o.Workers = 64
	}
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
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
		wake: make(chan struct{}, 1), crashed: make(chan struct{}), names: map[string]string{}}
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
	if !multipleFilters(n.conn.NATS().ConnectedServerVersion()) {
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

func multipleFilters(version string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
		return true
	}
	return major > 2 || (major == 2 && minor >= 10)
}

func (n *Notifier) consume(ctx context.Context) {
	var cons jetstream.Consumer
	failures := 0
	for ctx.Err() == nil {
		err := func() error {
			if cons == nil {
				var err error
				if cons, err = n.consumer(ctx); err != nil {
					return err
				}
			}
			batch, err := cons.Fetch(n.o.Batch, jetstream.FetchMaxWait(time.Second))
			if err != nil {
				return fmt.Errorf("fetch: %w", err)
			}
			var msgs []jetstream.Msg
			for m := range batch.Messages() {
				msgs = append(msgs, m)
			}
			if err := n.take(ctx, msgs); err != nil {
				return err
			}
			if err := batch.Error(); err != nil && !errors.Is(err, nats.ErrTimeout) && !errors.Is(err, jetstream.ErrNoMessages) && !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("fetch: %w", err)
			}
			return nil
		}()
		if err == nil {
			failures = 0
			continue
		}
		if ctx.Err() != nil {
			return
		}
		if errors.Is(err, jetstream.ErrConsumerNotFound) || errors.Is(err, jetstream.ErrConsumerDeleted) {
			cons = nil
		}
		failures++
		d := min(time.Duration(failures)*250*time.Millisecond, 5*time.Second)
		n.log.Warn("notify: reading the stream: will retry", "err", err, "retry_in", d)
		if !sleep(ctx, d) {
			return
		}
	}
}

// take writes the rows for a fetched batch, then acknowledges it. Rows
// are unique per (event, channel), so a message delivered again adds
// nothing.
func (n *Notifier) take(ctx context.Context, msgs []jetstream.Msg) error {
	if len(msgs) == 0 {
		return nil
	}
	now := n.now()
	var rows []domain.Notification
	for _, m := range msgs {
		rs, err := n.rowsFor(ctx, m, now)
		if err != nil {
			return err // not acknowledged: delivered again
		}
		rows = append(rows, rs...)
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
	return nil
}

// rowsFor returns the notification rows one stream message calls for: one
// per channel the applicant consented to. Messages that call for nothing
// (another event, not a CloudEvent, a dossier this database does not hold,
// too old) give none; only a database error is returned.
func (n *Notifier) rowsFor(ctx context.Context, m jetstream.Msg, now time.Time) ([]domain.Notification, error) {
	ev, err := events.Decode(m.Data())
	if err != nil {
		n.log.Warn("notify: skipping a message that is not a CloudEvent", "subject", m.Subject(), "err", err)
		return nil, nil
	}
	kind, _ := ev.Extensions()[events.ExtEventKind].(string)
	et := domain.EventType(kind)
	if !et.Notified() {
		return nil, nil
	}
	var data struct {
		DossierCode string    `json:"dossier_code"`
		OccurredAt  time.Time `json:"occurred_at"`
	}
	if err := json.Unmarshal(ev.Data(), &data); err != nil || data.DossierCode == "" {
		n.log.Warn("notify: skipping an event without dossier_code", "id", ev.ID())
		return nil, nil
	}
	occurred := data.OccurredAt
	if occurred.IsZero() {
		occurred = ev.Time()
	}
	if now.Sub(occurred) > n.o.MaxAge {
		n.o.Metrics.result("", et, "stale")
		return nil, nil
	}
	d, err := n.st.Dossier(ctx, data.DossierCode)
	if domain.KindOf(err) == domain.NotFound {
		n.log.Warn("notify: event of a dossier this database does not hold", "dossier", data.DossierCode, "id", ev.ID())
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []domain.Notification
	for _, ch := range d.Notify {
		to := contact(d, ch)
		if to == "" {
			continue
		}
		out = append(out, domain.Notification{EventID: ev.ID(), Channel: ch, DossierCode: d.Code, Event: et,
			To: domain.Mask(ch, to), OccurredAt: occurred.UTC()})
	}
	return out, nil
}

func contact(d *domain.Dossier, ch domain.NotifyChannel) string {
	if ch == domain.NotifySMS {
		return d.Applicant.Phone
	}
	return d.Applicant.Email
}

// dispatch sends due rows until ctx ends.
func (n *Notifier) dispatch(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for ctx.Err() == nil {
		due, err := n.st.DueNotifications(ctx, n.now(), 4*n.o.Workers)
		if err != nil && ctx.Err() == nil {
			n.log.Warn("notify: reading due notifications", "err", err)
		}
		if len(due) > 0 {
			sem := make(chan struct{}, n.o.Workers)
			var wg sync.WaitGroup
			for _, row := range due {
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
				}
				if ctx.Err() != nil {
					break
				}
				wg.Add(1)
				go func() {
					defer func() { <-sem; wg.Done() }()
					n.attempt(ctx, row)
				}()
			}
			wg.Wait()
			if len(due) == 4*n.o.Workers {
				continue // more may be due
			}
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

// backoff is the wait after the attempts-th failed attempt, with jitter.
func (n *Notifier) backoff(attempts int) time.Duration {
	d := n.o.RetryBase << min(attempts-1, 20)
	if d > n.o.RetryMax || d <= 0 {
		d = n.o.RetryMax
	}
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// attempt sends one row, once this caller has taken the attempt.
func (n *Notifier) attempt(ctx context.Context, row domain.Notification) {
	now := n.now()
	ok, err := n.st.BeginAttempt(ctx, row.ID, now, now.Add(n.o.Lease))
	if err != nil || !ok {
		if err != nil && ctx.Err() == nil {
			n.log.Warn("notify: taking an attempt", "id", row.ID, "err", err)
		}
		return
	}
	row.Attempts++
	start := time.Now()
	sendErr := n.send(ctx, row)
	n.o.Metrics.took(row.Channel, time.Since(start))
	if sendErr == nil && n.o.afterSend != nil && !n.o.afterSend(row) {
		n.crashOnce.Do(func() { close(n.crashed) })
		return
	}
	// The outcome is recorded even while stopping.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	end := n.now()
	status, next, msg := domain.NotificationSent, end, ""
	if sendErr != nil {
		msg = Scrub(sendErr.Error())
		next = end.Add(n.backoff(row.Attempts))
		status = domain.NotificationPending
		if IsPermanent(sendErr) || next.Sub(row.CreatedAt) > n.o.MaxAge {
			status = domain.NotificationFailed
		}
	}
	if err := n.st.FinishAttempt(rctx, row.ID, status, msg, next, end); err != nil {
		n.log.Warn("notify: recording an attempt; it is tried again after the lease", "id", row.ID, "err", err)
		return
	}
	result := map[domain.NotificationStatus]string{domain.NotificationSent: "sent", domain.NotificationPending: "retry",
		domain.NotificationFailed: "failed"}[status]
	n.o.Metrics.result(row.Channel, row.Event, result)
	switch status {
	case domain.NotificationFailed:
		n.log.Error("notify: message failed for good", "id", row.ID, "dossier", row.DossierCode, "channel", row.Channel,
			"event", row.Event, "to", row.To, "attempts", row.Attempts, "err", msg)
	case domain.NotificationPending:
		n.log.Warn("notify: message not sent; will retry", "id", row.ID, "dossier", row.DossierCode, "channel", row.Channel,
			"event", row.Event, "to", row.To, "attempts", row.Attempts, "retry_at", next, "err", msg)
	}
}

// send renders the row's message from the dossier as it is now and sends
// it, with the row's id as the ref.
func (n *Notifier) send(ctx context.Context, row domain.Notification) error {
	s := n.senders[row.Channel]
	if s == nil {
		return Permanent(fmt.Errorf("the %s channel is not configured", row.Channel))
	}
	d, err := n.st.Dossier(ctx, row.DossierCode)
	if err != nil {
		if domain.KindOf(err) == domain.NotFound {
			return Permanent(errors.New("the dossier is gone"))
		}
		return fmt.Errorf("reading the dossier: %w", err)
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

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

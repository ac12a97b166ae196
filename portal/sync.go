package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/service"
)

// Store is the storage the sync needs; package store implements it. Every
// write is a transaction of its own; the claimed writes return
// service.ErrPortalClaimLost when the worker's lease is gone.
type Store interface {
	Dossier(ctx context.Context, code string) (*domain.Dossier, error)
	Agency(ctx context.Context, code string) (domain.Agency, error)
	Procedure(ctx context.Context, code string, version int) (domain.Procedure, error)
	PortalMark(ctx context.Context, codes []string, now time.Time) error
	PortalClaim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]service.PortalClaim, error)
	PortalBegin(ctx context.Context, c service.PortalClaim, inflight string, resent bool, leaseUntil time.Time) error
	PortalAckRecord(ctx context.Context, c service.PortalClaim, hash string, at time.Time) error
	PortalAckEntry(ctx context.Context, c service.PortalClaim, n int, at time.Time) error
	PortalRelease(ctx context.Context, c service.PortalClaim, at time.Time) error
	PortalRetry(ctx context.Context, c service.PortalClaim, msg string, next, at time.Time) error
	PortalPark(ctx context.Context, c service.PortalClaim, msg string, at time.Time) error
	PortalBacklog(ctx context.Context, failing int) (service.PortalBacklog, error)
}

// DefaultDurable is the sync's durable consumer name.
const DefaultDurable = "motcua-portal"

// LifecycleKinds are the events that change what the portal shows.
var LifecycleKinds = []domain.EventType{domain.EventReceived, domain.EventRefused, domain.EventTransferred,
	domain.EventStepCompleted, domain.EventSupplementRequested, domain.EventSupplementReceived,
	domain.EventPaymentRequested, domain.EventPaymentReceived, domain.EventExtended, domain.EventWithdrawn,
	domain.EventStopped, domain.EventProcessed, domain.EventReturned}

// Options tune a Syncer; zero values take defaults.
type Options struct {
	// Workers is how many dossiers are sent at once (each dossier by one
	// worker at a time, its calls in order); default 16.
	Workers int
	// Lease is how long a worker holds a dossier without a word: another
	// worker (or instance) takes it after that; default 2 minutes, renewed
	// before every call. It must be longer than the client's time-out.
	Lease time.Duration
	// MaxBackoff caps a dossier's wait after an error the portal answered;
	// default 10 minutes. MaxPause caps the wait of every dossier while the
	// portal is away; default 30s.
	MaxBackoff time.Duration
	MaxPause   time.Duration
	// Durable is the JetStream durable consumer's name.
	Durable string
	// Sweep is how often due retries are looked for without a wake; default 1s.
	Sweep  time.Duration
	Logger *slog.Logger
	// Registerer receives the metrics (nil: none).
	Registerer prometheus.Registerer
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
	// NoConsumer runs the workers without the stream consumer (the
	// benchmark marks dossiers itself).
	NoConsumer bool

	// crashAfterAnswer, in tests, stops the sync as a SIGKILL would, right
	// after the portal's answer and before the state's commit.
	crashAfterAnswer func(code, inflight string) bool
}

// Metrics are the sync's Prometheus metrics.
type Metrics struct {
	Backlog   prometheus.Gauge
	Oldest    prometheus.Gauge
	Parked    prometheus.Gauge
	Retrying  prometheus.Gauge
	Calls     *prometheus.CounterVec
	SignIns   *prometheus.CounterVec
	Resent    prometheus.Counter
	Processed prometheus.Counter
}

// NewMetrics registers the sync's metrics (reg may be nil).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Backlog: prometheus.NewGauge(prometheus.GaugeOpts{Name: "motcua_portal_backlog_dossiers",
			Help: "Dossiers with changes the national portal has not acknowledged yet (parked ones excluded)."}),
		Oldest: prometheus.NewGauge(prometheus.GaugeOpts{Name: "motcua_portal_backlog_oldest_seconds",
			Help: "Age of the oldest unacknowledged change of a pending dossier."}),
		Parked: prometheus.NewGauge(prometheus.GaugeOpts{Name: "motcua_portal_parked_dossiers",
			Help: "Dossiers whose content the portal refused, waiting for an operator."}),
		Retrying: prometheus.NewGauge(prometheus.GaugeOpts{Name: "motcua_portal_retrying_dossiers",
			Help: "Pending dossiers waiting after a failed call."}),
		Calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "motcua_portal_calls_total",
			Help: "Calls to the national portal by service and result (ok, refused, session_expired, timeout, unreachable, not_json, redirect, unknown_error_code, http_NNN)."},
			[]string{"service", "result"}),
		SignIns: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "motcua_portal_sign_ins_total",
			Help: "Sign-ins to the national portal by result."}, []string{"result"}),
		Resent: prometheus.NewCounter(prometheus.CounterOpts{Name: "motcua_portal_resent_calls_total",
			Help: "Calls made again because the answer to the same call was lost (crash or time-out)."}),
		Processed: prometheus.NewCounter(prometheus.CounterOpts{Name: "motcua_portal_events_total",
			Help: "Lifecycle events the sync read from the stream."}),
	}
	if reg != nil {
		reg.MustRegister(m.Backlog, m.Oldest, m.Parked, m.Retrying, m.Calls, m.SignIns, m.Resent, m.Processed)
	}
	return m
}

// ClientHooks wires a client's sign-in and call results to the metrics.
func (m *Metrics) ClientHooks(cfg *Config) {
	cfg.OnSignIn = func(r string) { m.SignIns.WithLabelValues(r).Inc() }
	cfg.OnCall = func(s, r string) { m.Calls.WithLabelValues(s, r).Inc() }
}

// Syncer keeps the portal's copy current: the consumer marks the dossiers
// events name as pending (in the database), and workers take due dossiers
// and send, per dossier in order, the record when it changed and then each
// history line the portal has not acknowledged, committing after each
// acknowledged call.
type Syncer struct {
	conn   *events.Conn
	st     Store
	client *Client
	o      Options
	log    *slog.Logger
	m      *Metrics

	wake       chan struct{}
	idle       atomic.Int64
	pauseMu    sync.Mutex
	pauseUntil time.Time
	pauses     int
	crashed    atomic.Bool
}

// New makes a Syncer; m may be nil (metrics kept unregistered).
func New(conn *events.Conn, st Store, client *Client, m *Metrics, o Options) *Syncer {
	if o.Workers <= 0 {
		o.Workers = 16
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 10 * time.Minute
	}
	if o.MaxPause <= 0 {
		o.MaxPause = 30 * time.Second
	}
	if o.Durable == "" {
		o.Durable = DefaultDurable
	}
	if o.Sweep <= 0 {
		o.Sweep = time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if m == nil {
		m = NewMetrics(o.Registerer)
	}
	return &Syncer{conn: conn, st: st, client: client, o: o, log: o.Logger, m: m, wake: make(chan struct{}, 1)}
}

// Wake makes the workers look for due dossiers at once.
func (s *Syncer) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

var errCrashed = errors.New("portal: simulated crash")

// Run follows the stream and sends until ctx ends; then it returns nil
// (the dossiers being sent are left to their leases).
func (s *Syncer) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	if !s.o.NoConsumer {
		wg.Add(1)
		go func() { defer wg.Done(); s.consume(ctx) }()
	}
	wg.Add(1)
	go func() { defer wg.Done(); s.gauges(ctx) }()
	work := make(chan service.PortalClaim)
	for range s.o.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				s.process(ctx, c)
				if s.crashed.Load() {
					cancel()
				}
				s.idle.Add(1)
				s.Wake()
			}
		}()
	}
	s.idle.Store(int64(s.o.Workers))
	s.dispatch(ctx, work)
	close(work)
	wg.Wait()
	if s.crashed.Load() {
		return errCrashed
	}
	return nil
}

// dispatch claims due dossiers for idle workers.
func (s *Syncer) dispatch(ctx context.Context, work chan<- service.PortalClaim) {
	t := time.NewTicker(s.o.Sweep)
	defer t.Stop()
	failures := 0
	for ctx.Err() == nil {
		n := int(s.idle.Load())
		if wait := s.paused(); n > 0 && wait <= 0 {
			now := s.o.Now()
			claims, err := s.st.PortalClaim(ctx, now, now.Add(s.o.Lease), n)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				failures++
				s.log.Warn("portal sync: cannot take due dossiers", "err", err)
				if !events.Sleep(ctx, min(time.Duration(failures)*500*time.Millisecond, 10*time.Second)) {
					return
				}
				continue
			}
			failures = 0
			for _, c := range claims {
				s.idle.Add(-1)
				select {
				case work <- c:
				case <-ctx.Done():
					return
				}
			}
			if len(claims) == n {
				continue // there may be more
			}
		}
		timer := t.C
		var pauseC <-chan time.Time
		if wait := s.paused(); wait > 0 {
			pauseC = time.After(wait)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-timer:
		case <-pauseC:
		}
	}
}

// paused is how long every dossier still waits because the portal is away.
func (s *Syncer) paused() time.Duration {
	s.pauseMu.Lock()
	defer s.pauseMu.Unlock()
	return s.pauseUntil.Sub(s.o.Now())
}

// portalAway holds every dossier back for a growing pause (the portal is
// away: calling it with each pending dossier would only fail faster).
func (s *Syncer) portalAway() time.Duration {
	s.pauseMu.Lock()
	defer s.pauseMu.Unlock()
	s.pauses++
	d := min(time.Duration(1<<min(s.pauses-1, 10))*500*time.Millisecond, s.o.MaxPause)
	until := s.o.Now().Add(d)
	if until.After(s.pauseUntil) {
		s.pauseUntil = until
	}
	return d
}

func (s *Syncer) portalBack() {
	s.pauseMu.Lock()
	s.pauses = 0
	s.pauseMu.Unlock()
}

// process brings one claimed dossier up to date with the portal.
func (s *Syncer) process(ctx context.Context, c service.PortalClaim) {
	err := s.send(ctx, &c)
	now := s.o.Now()
	if ctx.Err() != nil && err != nil && !errors.Is(err, errCrashed) && !s.crashed.Load() {
		// Stopping: hand the dossier back at once (the call under way, if
		// any, stays recorded as without an answer).
		stop, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = s.st.PortalRetry(stop, c, "", now, now)
		return
	}
	switch {
	case err == nil:
		err = s.st.PortalRelease(ctx, c, now)
		if err == nil {
			return
		}
	case errors.Is(err, errCrashed) || s.crashed.Load():
		return
	}
	if errors.Is(err, service.ErrPortalClaimLost) {
		s.log.Info("portal sync: the dossier was taken from this worker (lease ran out or resync)", "dossier", c.Code)
		return
	}
	var pe *Error
	if !errors.As(err, &pe) {
		// The database (or loading the dossier) failed: try again soon.
		s.log.Warn("portal sync: cannot work on the dossier", "dossier", c.Code, "err", err)
		_ = s.st.PortalRetry(ctx, c, "internal: "+truncate(err.Error(), 200), now.Add(5*time.Second), now)
		return
	}
	msg := pe.Error()
	switch pe.Kind {
	case Refused:
		s.log.Warn("portal sync: the portal refused the dossier; parked until resync", "dossier", c.Code, "error_code", pe.Code, "message", pe.Message)
		err = s.st.PortalPark(ctx, c, msg, now)
	case Failed:
		d := backoff(c.Attempts, s.o.MaxBackoff)
		s.log.Warn("portal sync: the portal answered an error; will retry", "dossier", c.Code, "error_code", pe.Code, "message", pe.Message, "retry_in", d)
		err = s.st.PortalRetry(ctx, c, msg, now.Add(d), now)
	default:
		d := s.portalAway()
		s.log.Warn("portal sync: portal unavailable; every dossier waits", "dossier", c.Code, "err", msg, "retry_in", d)
		err = s.st.PortalRetry(ctx, c, msg, now.Add(d), now)
	}
	if err != nil && !errors.Is(err, service.ErrPortalClaimLost) && ctx.Err() == nil {
		s.log.Warn("portal sync: cannot record the failure; the lease will run out", "dossier", c.Code, "err", err)
	}
}

func backoff(attempts int, limit time.Duration) time.Duration {
	d := time.Duration(1<<min(attempts, 12)) * 2 * time.Second
	d = min(d, limit)
	return d/2 + rand.N(d/2+1)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// send makes the calls the dossier needs, committing after each.
func (s *Syncer) send(ctx context.Context, c *service.PortalClaim) error {
	d, err := s.st.Dossier(ctx, c.Code)
	if domain.KindOf(err) == domain.NotFound {
		s.log.Warn("portal sync: an event names a dossier that does not exist", "dossier", c.Code)
		return nil
	}
	if err != nil {
		return err
	}
	names, err := s.names(ctx, d)
	if err != nil {
		return err
	}
	lost := c.Inflight // the call the last holder made without seeing the answer
	rec := RecordOf(d, names)
	if h := Hash(rec); h != c.RecordHash {
		if err := s.call(ctx, c, lost, "record:"+h, ServiceRecord, c.RecordHash != "", rec); err != nil {
			return err
		}
		if err := s.st.PortalAckRecord(ctx, *c, h, s.o.Now()); err != nil {
			return err
		}
		c.RecordHash = h
	}
	if c.EntriesAcked >= len(d.History) {
		return nil
	}
	progress := ProgressOf(d, names)
	for i := c.EntriesAcked; i < len(progress); i++ {
		if err := s.call(ctx, c, lost, fmt.Sprintf("entry:%d", i+1), ServiceProgress, true, progress[i]); err != nil {
			return err
		}
		if err := s.st.PortalAckEntry(ctx, *c, i+1, s.o.Now()); err != nil {
			return err
		}
		c.EntriesAcked = i + 1
	}
	return nil
}

// call records the intent, renews the lease and calls the portal.
func (s *Syncer) call(ctx context.Context, c *service.PortalClaim, lost, inflight, svc string, updating bool, data any) error {
	resent := lost == inflight
	if resent {
		s.m.Resent.Inc()
		s.log.Warn("portal sync: repeating a call whose answer was lost (crash or time-out)", "dossier", c.Code, "call", inflight)
	}
	if err := s.st.PortalBegin(ctx, *c, inflight, resent, s.o.Now().Add(s.o.Lease)); err != nil {
		return err
	}
	c.Inflight = inflight
	err := s.client.Call(ctx, svc, updating, []any{data})
	if err == nil {
		s.portalBack()
		if s.o.crashAfterAnswer != nil && s.o.crashAfterAnswer(c.Code, inflight) {
			s.crashed.Store(true)
			return errCrashed
		}
	} else if pe := (*Error)(nil); errors.As(err, &pe) && pe.Result != "timeout" {
		// The portal answered something else than success, or could not be
		// reached: it did not take the call. Only a call without an answer
		// in time may have been taken.
		c.Inflight = ""
	}
	return err
}

// names looks up the procedure's and the units' names.
func (s *Syncer) names(ctx context.Context, d *domain.Dossier) (Names, error) {
	n := Names{Agencies: map[string]string{}}
	p, err := s.st.Procedure(ctx, d.ProcedureCode, d.ProcedureVersion)
	if err != nil && domain.KindOf(err) != domain.NotFound {
		return n, err
	}
	n.Procedure = p.Name
	for _, code := range d.InvolvedAgencies() {
		a, err := s.st.Agency(ctx, code)
		if err != nil && domain.KindOf(err) != domain.NotFound {
			return n, err
		}
		n.Agencies[code] = a.Name
	}
	return n, nil
}

// gauges refreshes the backlog metrics.
func (s *Syncer) gauges(ctx context.Context) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		if b, err := s.st.PortalBacklog(ctx, 0); err == nil {
			s.m.Backlog.Set(float64(b.Pending))
			s.m.Parked.Set(float64(b.Parked))
			s.m.Retrying.Set(float64(b.Retrying))
			age := 0.0
			if b.OldestPendingSince != nil {
				age = max(0, s.o.Now().Sub(*b.OldestPendingSince).Seconds())
			}
			s.m.Oldest.Set(age)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// consume follows the lifecycle events: each batch's dossiers are marked
// pending in one transaction, then the messages are acknowledged (a crash
// in between only marks them again).
func (s *Syncer) consume(ctx context.Context) {
	_ = events.Consume(ctx, events.Consumer{Name: "portal sync", Log: s.log, Batch: 256, Open: s.consumer, Handle: s.mark})
}

// mark marks pending the dossiers a batch's lifecycle events name, then
// acknowledges the batch.
func (s *Syncer) mark(ctx context.Context, msgs []jetstream.Msg) error {
	if len(msgs) == 0 {
		return nil
	}
	var codes []string
	for _, m := range msgs {
		if !lifecycle(m.Subject()) {
			continue
		}
		if code, err := dossierOf(m.Data()); err != nil {
			s.log.Warn("portal sync: skipping a message that is not a lifecycle event", "subject", m.Subject(), "err", err)
		} else {
			codes = append(codes, code)
		}
	}
	if err := s.st.PortalMark(ctx, codes, s.o.Now()); err != nil {
		return fmt.Errorf("mark dossiers: %w", err)
	}
	for _, m := range msgs {
		_ = m.Ack()
	}
	s.m.Processed.Add(float64(len(msgs)))
	s.Wake()
	return nil
}

// consumer makes (or finds) the durable consumer. It takes every event of
// the stream (one filter subject: nats-server before 2.10 takes no more)
// and skips the late-processing ones, which change nothing the portal shows.
func (s *Syncer) consumer(ctx context.Context) (jetstream.Consumer, error) {
	return s.conn.JetStream().CreateOrUpdateConsumer(ctx, s.conn.StreamName(), jetstream.ConsumerConfig{
		Durable:       s.o.Durable,
		Description:   "motcua national portal sync: marks the dossiers lifecycle events name",
		DeliverPolicy: jetstream.DeliverAllPolicy,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       30 * time.Second,
		MaxAckPending: 4096,
		FilterSubject: s.conn.SubjectPrefix() + domain.SubjectRoot + ">",
	})
}

// lifecycle reports whether a subject's event kind is a lifecycle one.
func lifecycle(subject string) bool {
	kind := subject[strings.LastIndexByte(subject, '.')+1:]
	return slices.Contains(LifecycleKinds, domain.EventType(kind))
}

// dossierOf reads the dossier code of a lifecycle CloudEvent.
func dossierOf(b []byte) (string, error) {
	ev, err := events.Decode(b)
	if err != nil {
		return "", err
	}
	var data struct {
		DossierCode string `json:"dossier_code"`
	}
	if err := json.Unmarshal(ev.Data(), &data); err != nil {
		return "", fmt.Errorf("data: %w", err)
	}
	if _, _, _, ok := domain.ParseDossierCode(data.DossierCode); !ok {
		return "", errors.New("data has no valid dossier_code")
	}
	return data.DossierCode, nil
}

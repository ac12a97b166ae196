package events

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/domain"
)

// DefaultDurable is the compliance consumer's durable name.
const DefaultDurable = "motcua-compliance"

var durableRe = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ComplianceKey is what the compliance consumer counts by: the agency of the
// event (data.agency_code, the receiving agency), the procedure and the kind.
type ComplianceKey struct {
	Agency    string
	Procedure string
	Kind      domain.EventType
}

// ComplianceOptions tune a Compliance consumer; zero values take defaults.
type ComplianceOptions struct {
	// Durable is the JetStream durable consumer's name; default
	// motcua-compliance. One process per durable name: two would split the
	// messages between them.
	Durable string
	// StateDir is where the state file is kept
	// (compliance-<stream>-<durable>.jsonl). Empty keeps the state in
	// memory: every start counts the stream again from its beginning.
	StateDir string
	// Batch is how many messages one fetch takes; default 256.
	Batch int
	// AckWait is how long JetStream waits for an acknowledgement before it
	// delivers a message again; default 30s.
	AckWait time.Duration
	// Logger; default slog.Default().
	Logger *slog.Logger
}

// ComplianceStats says what a Compliance consumer has seen since it started
// (Counted includes the events loaded from its state file).
type ComplianceStats struct {
	Counted     int // distinct late events counted
	Duplicates  int // deliveries of an event already counted (same CloudEvent id)
	Invalid     int // messages that are not a late-processing CloudEvent, acknowledged and skipped
	Skipped     int // lifecycle events (read only where the server takes one filter subject)
	Redelivered int // deliveries JetStream made again (counted or not)
}

// Compliance is the reference consumer of the late-processing events: a
// durable JetStream pull consumer on dossiers.*.<kind> for every late kind,
// which counts the events per agency, procedure and kind, each event once.
//
// Exactly once: JetStream drops a republished fact within its duplicate
// window, but a consumer still sees one event twice when it is delivered
// again (its acknowledgement was lost, or the process stopped before
// acknowledging) or republished after the window. So every counted event's
// CloudEvent id is kept, with what it counted, in an append-only state file,
// written and synced before the messages are acknowledged; at start the file
// is read back. A delivery whose id is known is acknowledged and not counted
// again. Counting only JetStream's first delivery would not do: a message
// counted and lost in a crash before the count was saved comes back as a
// second delivery and must then be counted. A torn last line (a crash while
// writing) is cut off at start. The file grows by about 150 bytes per late
// event.
//
// When the state is new (no file, or in memory) and the durable consumer
// already exists, the consumer is deleted and made again, so that the stream
// is counted from its beginning rather than from where the lost state had
// acknowledged.
type Compliance struct {
	conn *Conn
	opts ComplianceOptions
	log  *slog.Logger
	path string // "" in memory

	mu      sync.Mutex
	counts  map[ComplianceKey]int
	seen    map[string]struct{}
	stats   ComplianceStats
	file    *os.File
	fresh   bool // no state was loaded
	crashAt func(stage string) bool
}

// stateLine is one counted event in the state file.
type stateLine struct {
	ID        string `json:"id"`
	Agency    string `json:"agency"`
	Procedure string `json:"procedure"`
	Kind      string `json:"kind"`
	StreamSeq uint64 `json:"stream_seq"`
}

// NewCompliance makes the consumer and loads its state file.
func NewCompliance(conn *Conn, o ComplianceOptions) (*Compliance, error) {
	if o.Durable == "" {
		o.Durable = DefaultDurable
	}
	if !durableRe.MatchString(o.Durable) {
		return nil, fmt.Errorf("events: durable name %q: letters, digits, - and _ only", o.Durable)
	}
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.AckWait <= 0 {
		o.AckWait = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	c := &Compliance{conn: conn, opts: o, log: o.Logger, counts: map[ComplianceKey]int{}, seen: map[string]struct{}{}, fresh: true}
	if o.StateDir != "" {
		if err := os.MkdirAll(o.StateDir, 0o750); err != nil {
			return nil, fmt.Errorf("events: compliance state: %w", err)
		}
		c.path = filepath.Join(o.StateDir, "compliance-"+conn.StreamName()+"-"+o.Durable+".jsonl")
		if err := c.load(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// load reads the state file, cuts off a torn last line and opens the file
// for appending.
func (c *Compliance) load() error {
	f, err := os.OpenFile(c.path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("events: compliance state: %w", err)
	}
	r := bufio.NewReader(f)
	var good int64
	lines := 0
	for {
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(line) > 0 {
				c.log.Warn("compliance: cutting off a torn last line of the state file", "path", c.path, "bytes", len(line))
			}
			break
		}
		if err != nil {
			f.Close()
			return fmt.Errorf("events: compliance state %s: %w", c.path, err)
		}
		var l stateLine
		if err := json.Unmarshal(line, &l); err != nil || l.ID == "" {
			f.Close()
			return fmt.Errorf("events: compliance state %s: bad line %d", c.path, lines+1)
		}
		c.add(l)
		good += int64(len(line))
		lines++
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return fmt.Errorf("events: compliance state: %w", err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return fmt.Errorf("events: compliance state: %w", err)
	}
	c.file = f
	c.fresh = lines == 0
	return nil
}

// add counts a line unless its id is known; it reports whether it counted.
func (c *Compliance) add(l stateLine) bool {
	if _, ok := c.seen[l.ID]; ok {
		return false
	}
	c.seen[l.ID] = struct{}{}
	c.counts[ComplianceKey{Agency: l.Agency, Procedure: l.Procedure, Kind: domain.EventType(l.Kind)}]++
	c.stats.Counted++
	return true
}

// Close closes the state file.
func (c *Compliance) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.file == nil {
		return nil
	}
	err := c.file.Close()
	c.file = nil
	return err
}

// Counts returns a copy of the counts.
func (c *Compliance) Counts() map[ComplianceKey]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.counts)
}

// Stats returns what the consumer has seen.
func (c *Compliance) Stats() ComplianceStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

// FilterSubjects are the subjects the consumer takes: one per late kind,
// from every agency.
func (c *Compliance) FilterSubjects() []string {
	out := make([]string, len(domain.DeadlineEvents))
	for i, k := range domain.DeadlineEvents {
		out[i] = c.conn.SubjectPrefix() + domain.SubjectRoot + "*." + string(k)
	}
	return out
}

// consumer makes (or finds) the durable consumer.
func (c *Compliance) consumer(ctx context.Context) (jetstream.Consumer, error) {
	js := c.conn.JetStream()
	c.mu.Lock()
	fresh := c.fresh
	c.mu.Unlock()
	if fresh {
		err := js.DeleteConsumer(ctx, c.conn.StreamName(), c.opts.Durable)
		switch {
		case err == nil:
			c.log.Info("compliance: no saved state: the durable consumer starts again from the stream's beginning", "durable", c.opts.Durable)
		case !errors.Is(err, jetstream.ErrConsumerNotFound):
			return nil, fmt.Errorf("reset durable consumer %s: %w", c.opts.Durable, err)
		}
	}
	cfg := jetstream.ConsumerConfig{
		Durable:        c.opts.Durable,
		Description:    "motcua compliance: late-processing events counted per agency, procedure and kind",
		DeliverPolicy:  jetstream.DeliverAllPolicy,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        c.opts.AckWait,
		MaxAckPending:  4 * c.opts.Batch,
		FilterSubjects: c.FilterSubjects(),
	}
	if !multipleFilters(c.conn.NATS().ConnectedServerVersion()) {
		// nats-server before 2.10 takes one filter subject: take every
		// event and skip the lifecycle ones.
		c.log.Info("compliance: this nats-server takes one filter subject; lifecycle events are read and skipped")
		cfg.FilterSubjects, cfg.FilterSubject = nil, c.conn.SubjectPrefix()+domain.SubjectRoot+"*.*"
	}
	cons, err := js.CreateOrUpdateConsumer(ctx, c.conn.StreamName(), cfg)
	if err != nil {
		return nil, fmt.Errorf("durable consumer %s: %w", c.opts.Durable, err)
	}
	c.mu.Lock()
	c.fresh = false
	c.mu.Unlock()
	return cons, nil
}

// multipleFilters reports whether a nats-server of that version takes
// several filter subjects on a consumer (2.10 and later).
func multipleFilters(version string) bool {
	var major, minor int
	if _, err := fmt.Sscanf(version, "%d.%d", &major, &minor); err != nil {
		return true // unknown: try, and let the server say no
	}
	return major > 2 || (major == 2 && minor >= 10)
}

var errCrashed = fmt.Errorf("events: compliance: simulated crash: %w", ErrStopConsuming)

// Run counts late events until ctx ends, then returns nil. It keeps trying
// while NATS is away.
func (c *Compliance) Run(ctx context.Context) error {
	return Consume(ctx, Consumer{Name: "compliance", Log: c.log, Batch: c.opts.Batch, Open: c.consumer,
		Handle: func(_ context.Context, msgs []jetstream.Msg) error { return c.take(msgs) }})
}

// takeCounts are what a batch held besides its new late events.
type takeCounts struct{ dups, invalid, skipped, again int }

// take counts a fetched batch: new events are written to the state file and
// synced, then counted, then every message is acknowledged.
func (c *Compliance) take(msgs []jetstream.Msg) error {
	if len(msgs) == 0 {
		return nil
	}
	lines, n := c.sort(msgs)
	if c.crash("before-save") {
		return errCrashed
	}
	if err := c.save(lines); err != nil {
		return err
	}
	c.mu.Lock()
	for _, l := range lines {
		c.add(l)
	}
	c.stats.Duplicates += n.dups
	c.stats.Invalid += n.invalid
	c.stats.Skipped += n.skipped
	c.stats.Redelivered += n.again
	c.mu.Unlock()

	if c.crash("before-ack") {
		return errCrashed
	}
	for _, m := range msgs {
		// A lost acknowledgement only means the message comes again, and
		// is then known by its id.
		if err := m.Ack(); err != nil {
			c.log.Warn("compliance: acknowledgement not sent", "err", err)
		}
	}
	return nil
}

// sort picks the batch's late events not counted before, once each, and
// counts the rest.
func (c *Compliance) sort(msgs []jetstream.Msg) ([]stateLine, takeCounts) {
	var (
		lines   []stateLine
		n       takeCounts
		batchID = map[string]bool{}
	)
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, m := range msgs {
		if md, err := m.Metadata(); err == nil && md.NumDelivered > 1 {
			n.again++
		}
		l, err := lateLine(m)
		if errors.Is(err, errNotLate) {
			n.skipped++
			continue
		}
		if err != nil {
			n.invalid++
			c.log.Warn("compliance: skipping a message that is not a late-processing event", "subject", m.Subject(), "err", err)
			continue
		}
		if _, ok := c.seen[l.ID]; ok || batchID[l.ID] {
			n.dups++
			continue
		}
		batchID[l.ID] = true
		lines = append(lines, l)
	}
	return lines, n
}

// save appends the lines to the state file and syncs it.
func (c *Compliance) save(lines []stateLine) error {
	if len(lines) == 0 || c.path == "" {
		return nil
	}
	var buf bytes.Buffer
	for _, l := range lines {
		b, _ := json.Marshal(l)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	c.mu.Lock()
	f := c.file
	c.mu.Unlock()
	if f == nil {
		return errors.New("events: compliance: state file closed")
	}
	if _, err := f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write compliance state: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync compliance state: %w", err)
	}
	return nil
}

func (c *Compliance) crash(stage string) bool {
	return c.crashAt != nil && c.crashAt(stage)
}

var errNotLate = errors.New("not a late-processing event")

// lateLine reads a message as a late-processing CloudEvent.
func lateLine(m jetstream.Msg) (stateLine, error) {
	ev, err := Decode(m.Data())
	if err != nil {
		return stateLine{}, err
	}
	kind, ok := ev.Extensions()[ExtEventKind].(string)
	if !ok || TypePrefix+kind != ev.Type() {
		return stateLine{}, fmt.Errorf("type %s and eventkind %q disagree", ev.Type(), kind)
	}
	if !domain.EventType(kind).Deadline() {
		return stateLine{}, errNotLate
	}
	var data struct {
		AgencyCode    string `json:"agency_code"`
		ProcedureCode string `json:"procedure_code"`
	}
	if err := json.Unmarshal(ev.Data(), &data); err != nil {
		return stateLine{}, fmt.Errorf("data: %w", err)
	}
	if data.AgencyCode == "" {
		return stateLine{}, errors.New("data has no agency_code")
	}
	l := stateLine{ID: ev.ID(), Agency: data.AgencyCode, Procedure: data.ProcedureCode, Kind: kind}
	if md, err := m.Metadata(); err == nil {
		l.StreamSeq = md.Sequence.Stream
	}
	return l, nil
}

// WriteTable prints the counts: a row per agency and procedure, a column
// per late kind, and a total row.
func (c *Compliance) WriteTable(w io.Writer) error {
	return WriteComplianceTable(w, c.Counts())
}

// WriteComplianceTable prints counts as WriteTable does.
func WriteComplianceTable(w io.Writer, counts map[ComplianceKey]int) error {
	type row struct{ agency, procedure string }
	per := map[row]map[domain.EventType]int{}
	for k, n := range counts {
		r := row{k.Agency, k.Procedure}
		if per[r] == nil {
			per[r] = map[domain.EventType]int{}
		}
		per[r][k.Kind] += n
	}
	rows := slices.Collect(maps.Keys(per))
	slices.SortFunc(rows, func(a, b row) int {
		if a.agency != b.agency {
			return cmp.Compare(a.agency, b.agency)
		}
		return cmp.Compare(a.procedure, b.procedure)
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	header := "agency\tprocedure\t"
	for _, k := range domain.DeadlineEvents {
		header += string(k) + "\t"
	}
	fmt.Fprintln(tw, header+"total\t")
	totals := map[domain.EventType]int{}
	grand := 0
	for _, r := range rows {
		line := r.agency + "\t" + r.procedure + "\t"
		sum := 0
		for _, k := range domain.DeadlineEvents {
			n := per[r][k]
			line += strconv.Itoa(n) + "\t"
			totals[k] += n
			sum += n
		}
		grand += sum
		fmt.Fprintln(tw, line+strconv.Itoa(sum)+"\t")
	}
	line := "total\t\t"
	for _, k := range domain.DeadlineEvents {
		line += strconv.Itoa(totals[k]) + "\t"
	}
	fmt.Fprintln(tw, line+strconv.Itoa(grand)+"\t")
	return tw.Flush()
}

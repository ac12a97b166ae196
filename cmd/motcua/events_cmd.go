package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
)

const needNATSURL = "needs NATS_URL, or a service running on the same DATA_DIR with its in-process NATS " +
	"listening (NATS_EMBEDDED_LISTEN, on by default): none found under "

// connectReader connects to the configured NATS (without NATS_URL, to the
// in-process server of a service running on the same DATA_DIR) and binds the
// existing stream, leaving its configuration alone.
func connectReader(ctx context.Context, cfg Config, log *slog.Logger, what string) (*events.Conn, error) {
	url := cfg.NATSURL
	if url == "" {
		if url = events.EmbeddedURL(cfg.DataDir); url == "" {
			return nil, errors.New(what + " " + needNATSURL + events.EmbeddedURLFile(cfg.DataDir))
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return events.Connect(ctx, events.Options{URL: url, Stream: cfg.NATSStream,
		SubjectPrefix: cfg.SubjectPrefix, Logger: log, BindStream: true})
}

const eventsUsage = "usage: motcua events tail [--agency CODE] [--type KIND] [--all | --since 1h] [--json] [-n N]\n" +
	"       motcua events parked [-n 100]\n" +
	"       motcua events requeue (--all | SEQ...)"

// eventsCmd runs "motcua events <subcommand>".
func eventsCmd(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(eventsUsage)
	}
	switch args[0] {
	case "tail":
		return tail(ctx, cfg, log, args[1:], stdout)
	case "parked":
		return parked(ctx, cfg, log, args[1:], stdout)
	case "requeue":
		return requeue(ctx, cfg, log, args[1:], stdout)
	}
	return errors.New(eventsUsage)
}

// parked lists the events the relay parked, with the reason: what an
// operator looks at when motcua_events_parked_total rises.
func parked(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("events parked", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	limit := fs.Int("n", 100, "list at most this many, oldest first")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *limit <= 0 {
		return errors.New(eventsUsage)
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	evs, err := st.ParkedEvents(ctx, *limit)
	if err != nil {
		return err
	}
	if len(evs) == 0 {
		_, err := io.WriteString(stdout, "no parked events\n")
		return err
	}
	fmt.Fprintf(stdout, "%-8s %-20s %-20s %-28s %s\n", "seq", "parked at", "type", "dossier", "reason")
	for _, e := range evs {
		fmt.Fprintf(stdout, "%-8d %-20s %-20s %-28s %s\n", e.Seq, e.ParkedAt.In(domain.Vietnam()).Format("2006-01-02 15:04:05"),
			e.Type, e.DossierCode, e.LastError)
	}
	return nil
}

// requeue makes parked events pending again once their cause is fixed.
func requeue(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("events requeue", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	all := fs.Bool("all", false, "every parked event")
	if err := fs.Parse(args); err != nil || (*all == (fs.NArg() > 0)) {
		return errors.New(eventsUsage)
	}
	var seqs []int64
	for _, a := range fs.Args() {
		seq, err := strconv.ParseInt(a, 10, 64)
		if err != nil || seq <= 0 {
			return fmt.Errorf("events requeue: %q is not an event seq\n%s", a, eventsUsage)
		}
		seqs = append(seqs, seq)
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	n, err := st.RequeueParked(ctx, seqs)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(stdout, "%d events requeued\n", n)
	return err
}

// tailSubject is the filter subject of a tail: prefix + dossiers.<agency|*>.<kind|>>.
func tailSubject(prefix, agency, kind string) (string, error) {
	a := "*"
	if agency != "" {
		a = domain.SubjectToken(agency)
		if !events.ValidSubject(a) || strings.Contains(a, ".") {
			return "", fmt.Errorf("--agency %q cannot be a subject token", agency)
		}
	}
	k := ">"
	if kind != "" {
		if !slices.Contains(domain.EventTypes, domain.EventType(kind)) {
			return "", fmt.Errorf("--type %q is not an event kind (%s)", kind, kindList())
		}
		k = kind
	}
	return prefix + domain.SubjectRoot + a + "." + k, nil
}

func kindList() string {
	s := make([]string, len(domain.EventTypes))
	for i, k := range domain.EventTypes {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// tail prints the stream's events as they arrive, through an ordered
// consumer (ephemeral, nothing left on the server).
func tail(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("events tail", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	agency := fs.String("agency", "", "only this agency's events (its code, with dots)")
	kind := fs.String("type", "", "only events of this kind, e.g. overdue")
	all := fs.Bool("all", false, "replay the stream from its beginning, then follow")
	since := fs.Duration("since", 0, "replay the events of this last period, then follow")
	asJSON := fs.Bool("json", false, "print each event as it was published: one CloudEvent JSON a line")
	limit := fs.Int("n", 0, "stop after this many events (0: follow until interrupted)")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("events tail: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("events tail: unexpected %q", fs.Arg(0))
	}
	if *all && *since != 0 {
		return errors.New("events tail: --all and --since together")
	}
	if *since < 0 || *limit < 0 {
		return errors.New("events tail: --since and -n must not be negative")
	}
	subject, err := tailSubject(cfg.SubjectPrefix, *agency, *kind)
	if err != nil {
		return fmt.Errorf("events tail: %w", err)
	}
	conn, err := connectReader(ctx, cfg, log, "events tail")
	if err != nil {
		return err
	}
	defer conn.Close()

	ocfg := jetstream.OrderedConsumerConfig{FilterSubjects: []string{subject}, DeliverPolicy: jetstream.DeliverNewPolicy}
	switch {
	case *all:
		ocfg.DeliverPolicy = jetstream.DeliverAllPolicy
	case *since > 0:
		start := time.Now().Add(-*since)
		ocfg.DeliverPolicy, ocfg.OptStartTime = jetstream.DeliverByStartTimePolicy, &start
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	cons, err := conn.JetStream().OrderedConsumer(cctx, conn.StreamName(), ocfg)
	cancel()
	if err != nil {
		return fmt.Errorf("events tail: consumer: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("events tail: %w", err)
	}
	defer it.Stop()
	log.Debug("events tail: following", "subject", subject, "stream", conn.StreamName())
	for n := 0; *limit == 0 || n < *limit; {
		msg, err := it.Next(jetstream.NextContext(ctx))
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, jetstream.ErrMsgIteratorClosed) {
				return nil
			}
			return fmt.Errorf("events tail: %w", err)
		}
		line, err := tailLine(msg.Data(), *asJSON)
		if err != nil {
			log.Warn("events tail: not a dossier event", "subject", msg.Subject(), "err", err)
			continue
		}
		if _, err := io.WriteString(stdout, line+"\n"); err != nil {
			return err
		}
		n++
	}
	return nil
}

// tailLine formats one event: the CloudEvent as one line of JSON, or
//
//	TIME  KIND  DOSSIER  agency=CODE [due=TIME] [step="NAME"] [overdue_h=H]
//
// with times in Vietnam's zone.
func tailLine(b []byte, asJSON bool) (string, error) {
	ev, err := events.Decode(b)
	if err != nil {
		return "", err
	}
	if asJSON {
		var buf bytes.Buffer
		if err := json.Compact(&buf, b); err != nil {
			return "", err
		}
		return buf.String(), nil
	}
	var d domain.EventData
	if err := ev.DataAs(&d); err != nil {
		return "", err
	}
	vn := domain.Vietnam()
	kind := strings.TrimPrefix(ev.Type(), events.TypePrefix)
	var sb strings.Builder
	fmt.Fprintf(&sb, "%s  %-20s  %-26s  agency=%s", ev.Time().In(vn).Format(time.RFC3339), kind, ev.Subject(), d.AgencyCode)
	if d.DueAt != nil {
		sb.WriteString("  due=" + d.DueAt.In(vn).Format(time.RFC3339))
	}
	if d.Step != "" {
		sb.WriteString("  step=" + strconv.Quote(d.Step))
	}
	if d.OverdueWorkingHours != nil {
		sb.WriteString("  overdue_h=" + strconv.FormatFloat(*d.OverdueWorkingHours, 'f', -1, 64))
	}
	return sb.String(), nil
}

// complianceCmd runs the reference compliance consumer until interrupted,
// printing its table on SIGUSR1, every --every, and at exit.
func complianceCmd(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("compliance", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	durable := fs.String("durable", events.DefaultDurable, "the durable consumer's name (one process per name)")
	every := fs.Duration("every", 0, "also print the table this often (0: only on SIGUSR1 and at exit)")
	stateDir := fs.String("state-dir", cfg.DataDir, "where the state file (the ids counted) is kept")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("compliance: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("compliance: unexpected %q", fs.Arg(0))
	}
	if *every < 0 {
		return errors.New("compliance: --every must not be negative")
	}
	conn, err := connectReader(ctx, cfg, log, "compliance")
	if err != nil {
		return err
	}
	defer conn.Close()
	c, err := events.NewCompliance(conn, events.ComplianceOptions{Durable: *durable, StateDir: *stateDir, Logger: log})
	if err != nil {
		return err
	}
	defer c.Close()

	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	var tick <-chan time.Time
	if *every > 0 {
		t := time.NewTicker(*every)
		defer t.Stop()
		tick = t.C
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- c.Run(runCtx) }()
	log.Info("compliance: counting late-processing events", "durable", *durable, "stream", conn.StreamName(),
		"subjects", strings.Join(c.FilterSubjects(), ","))

	show := func() error {
		st := c.Stats()
		if _, err := fmt.Fprintf(stdout, "# late-processing events as of %s: %d counted, %d duplicates skipped\n",
			time.Now().In(domain.Vietnam()).Format(time.RFC3339), st.Counted, st.Duplicates); err != nil {
			return err
		}
		return c.WriteTable(stdout)
	}
	for {
		select {
		case <-usr1:
			if err := show(); err != nil {
				return err
			}
		case <-tick:
			if err := show(); err != nil {
				return err
			}
		case err := <-done:
			if err != nil {
				return err
			}
			return show()
		case <-ctx.Done():
			stop()
			if err := <-done; err != nil {
				return err
			}
			return show()
		}
	}
}

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/notify"
	"github.com/motcua/motcua/store"
)

const notifyUsage = "usage: motcua notify [--durable NAME]\n" +
	"       motcua notify status [--since 168h] [-n 20]"

// newNotifier builds the notifier from the configuration: the channels
// configured, metrics on reg (nil: none), busy telling when this instance
// serves a command (nil: `motcua notify` alone, which serves none).
func newNotifier(cfg Config, conn *events.Conn, st *store.Store, log *slog.Logger, reg prometheus.Registerer, durable string, busy func() bool) (*notify.Notifier, error) {
	o := notify.Options{PublicURL: cfg.PublicURL, Durable: durable, Logger: log, Workers: cfg.NotifyWorkers, Rate: cfg.NotifyRate, Busy: busy}
	if reg != nil {
		o.Metrics = notify.NewMetrics(reg)
	}
	if cfg.SMTPURL != "" {
		mc, err := notify.ParseMailConfig(cfg.SMTPURL, cfg.SMTPFrom)
		if err != nil {
			return nil, fmt.Errorf("SMTP_URL: %w", err)
		}
		o.Email = notify.NewMailer(mc)
	}
	if cfg.SMSURL != "" {
		o.SMS = notify.NewSMS(cfg.SMSURL, cfg.SMSToken, 15*time.Second)
	}
	return notify.New(conn, st, o)
}

// leadNotifier runs the notifier while this instance holds the notifier's
// lock (one instance tells applicants at a time; another takes over).
func leadNotifier(ctx context.Context, st *store.Store, n *notify.Notifier, log *slog.Logger) {
	_ = st.Lead(ctx, store.LockNotify, 5*time.Second, func(ctx context.Context) error {
		log.Info("telling applicants by SMS and e-mail")
		return n.Run(ctx)
	})
}

// notifyCmd runs "motcua notify" (the notifier on its own) and "motcua
// notify status".
func notifyCmd(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) > 0 && args[0] == "status" {
		return notifyStatus(ctx, cfg, log, args[1:], stdout)
	}
	fs := flag.NewFlagSet("notify", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	durable := fs.String("durable", notify.DefaultDurable, "the durable consumer's name")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errors.New(notifyUsage)
	}
	if !cfg.notifying() {
		return errors.New("notify: no channel configured: set SMTP_URL and SMTP_FROM, or SMS_URL")
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	conn, err := connectReader(ctx, cfg, log, "notify")
	if err != nil {
		return err
	}
	defer conn.Close()
	n, err := newNotifier(cfg, conn, st, log, nil, *durable, nil)
	if err != nil {
		return err
	}
	leadNotifier(ctx, st, n, log)
	return nil
}

// notifyStatus prints the notifications per channel and status, the oldest
// pending one, and the failures since --since.
func notifyStatus(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("notify status", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	since := fs.Duration("since", 7*24*time.Hour, "list the failures of this long ago and since")
	limit := fs.Int("n", 20, "list at most this many failures")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *since <= 0 || *limit < 0 {
		return errors.New(notifyUsage)
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now()
	rep, err := st.NotificationStatus(ctx, now.Add(-*since), *limit)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "channel\tpending\tsent\tfailed\t")
	counts := map[domain.NotifyChannel]map[domain.NotificationStatus]int{}
	for _, c := range rep.Counts {
		if counts[c.Channel] == nil {
			counts[c.Channel] = map[domain.NotificationStatus]int{}
		}
		counts[c.Channel][c.Status] += c.Count
	}
	for _, ch := range domain.NotifyChannels {
		c := counts[ch]
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t\n", ch, c[domain.NotificationPending], c[domain.NotificationSent], c[domain.NotificationFailed])
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	local := func(t time.Time) string { return t.In(domain.Vietnam()).Format("2006-01-02 15:04:05") }
	if p := rep.OldestPending; p != nil {
		fmt.Fprintf(stdout, "\noldest pending: %s %s %s to %s, waiting %s, %d attempts, next at %s",
			p.DossierCode, p.Event, p.Channel, p.To, now.Sub(p.CreatedAt).Round(time.Second), p.Attempts, local(p.NextAt))
		if p.LastError != "" {
			fmt.Fprintf(stdout, ", last error: %s", p.LastError)
		}
		fmt.Fprintln(stdout)
	} else {
		fmt.Fprintln(stdout, "\nnothing pending")
	}
	fmt.Fprintf(stdout, "\nfailed since %s: %d shown\n", local(now.Add(-*since)), len(rep.Failed))
	if len(rep.Failed) == 0 {
		return nil
	}
	tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "dossier\tevent\tchannel\tto\tattempts\tlast error\t")
	for _, f := range rep.Failed {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\t\n", f.DossierCode, f.Event, f.Channel, f.To, f.Attempts, f.LastError)
	}
	return tw.Flush()
}

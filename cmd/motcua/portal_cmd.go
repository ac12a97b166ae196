package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/portal"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
)

const portalUsage = "usage: motcua portal sync            keep the national portal current (one instance at a time)\n" +
	"       motcua portal status          the backlog, the last error and the failing dossiers\n" +
	"       motcua portal resync CODE...  send dossiers again from their current state (for a portal that lost them)"

// newPortalSync makes the national portal sync from the configuration.
func newPortalSync(cfg Config, conn *events.Conn, st *store.Store, log *slog.Logger, reg prometheus.Registerer) (*portal.Syncer, error) {
	m := portal.NewMetrics(reg)
	pc := portal.Config{URL: cfg.Portal.URL, Username: cfg.Portal.Username, Password: cfg.Portal.Password,
		Unit: cfg.Portal.Unit, Timeout: cfg.Portal.Timeout, RefusalCodes: cfg.Portal.RefusalCodes}
	m.ClientHooks(&pc)
	client, err := portal.NewClient(pc)
	if err != nil {
		return nil, err
	}
	return portal.New(conn, st, client, m, portal.Options{Workers: cfg.Portal.Workers, Logger: log,
		Lease: max(2*time.Minute, 2*cfg.Portal.Timeout+10*time.Second)}), nil
}

// runPortalSync runs the sync while this instance holds the lease (one
// instance at a time on PostgreSQL; the others stand by).
func runPortalSync(ctx context.Context, st *store.Store, log *slog.Logger, s *portal.Syncer) {
	_ = st.Lead(ctx, store.LockPortal, 5*time.Second, func(ctx context.Context) error {
		log.Info("syncing with the national portal")
		return s.Run(ctx)
	})
}

// portalCmd runs "motcua portal <subcommand>".
func portalCmd(ctx context.Context, cfg Config, log *slog.Logger, args []string, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New(portalUsage)
	}
	switch args[0] {
	case "sync":
		if len(args) > 1 {
			return errors.New(portalUsage)
		}
		if cfg.Portal.URL == "" {
			return errors.New("portal sync: DVCQG_URL is not set")
		}
		st, err := openStore(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer st.Close()
		conn, err := connectReader(ctx, cfg, log, "portal sync")
		if err != nil {
			return err
		}
		defer conn.Close()
		s, err := newPortalSync(cfg, conn, st, log, nil)
		if err != nil {
			return err
		}
		runPortalSync(ctx, st, log, s)
		return nil
	case "status":
		if len(args) > 1 {
			return errors.New(portalUsage)
		}
		st, err := openStore(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer st.Close()
		b, err := st.PortalBacklog(ctx, 50)
		if err != nil {
			return err
		}
		return writePortalStatus(stdout, b, time.Now())
	case "resync":
		if len(args) < 2 {
			return errors.New(portalUsage)
		}
		st, err := openStore(ctx, cfg, log)
		if err != nil {
			return err
		}
		defer st.Close()
		var failed []string
		for _, code := range args[1:] {
			if _, _, _, ok := domain.ParseDossierCode(code); !ok {
				failed = append(failed, code)
				fmt.Fprintf(stdout, "%s: not a dossier code\n", code)
				continue
			}
			if err := st.PortalResync(ctx, code, time.Now()); err != nil {
				failed = append(failed, code)
				fmt.Fprintf(stdout, "%s: %v\n", code, err)
				continue
			}
			fmt.Fprintf(stdout, "%s: will be sent again (record, then every progress entry)\n", code)
		}
		if len(failed) > 0 {
			return fmt.Errorf("portal resync: %d of %d not queued: %s", len(failed), len(args)-1, strings.Join(failed, " "))
		}
		return nil
	}
	return errors.New(portalUsage)
}

// writePortalStatus prints the backlog and the failing dossiers.
func writePortalStatus(w io.Writer, b service.PortalBacklog, now time.Time) error {
	fmt.Fprintf(w, "pending: %d dossiers (retrying after a failure: %d)\n", b.Pending, b.Retrying)
	if b.OldestPendingSince != nil {
		fmt.Fprintf(w, "oldest pending change: %s ago (%s)\n", now.Sub(*b.OldestPendingSince).Round(time.Second), b.OldestPendingSince.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "parked (refused by the portal; resync when fixed): %d\n", b.Parked)
	fmt.Fprintf(w, "calls repeated after a lost answer: %d\n", b.Resent)
	if len(b.Failing) == 0 {
		fmt.Fprintln(w, "last error: none")
		return nil
	}
	fmt.Fprintf(w, "last error: %s\n\n", b.Failing[0].LastError)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "dossier\tstate\tattempts\terror\t")
	for _, f := range b.Failing {
		state := "parked"
		if f.ParkedAt == nil {
			state = "retry"
			if f.NextAttemptAt != nil {
				state += " at " + f.NextAttemptAt.Format(time.RFC3339)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t\n", f.Code, state, f.Attempts, f.LastError)
	}
	return tw.Flush()
}

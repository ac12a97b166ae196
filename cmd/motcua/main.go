// Command motcua is the one binary of the service: with no arguments it
// serves the API; subcommands migrate the database, print tokens and seed
// demo data.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], nil, os.Stdout, os.Stderr, nil); err != nil {
		fmt.Fprintln(os.Stderr, "motcua:", err)
		os.Exit(1)
	}
}

const usage = `motcua: one-stop-shop dossiers, from intake to result.

Usage:
  motcua [serve]                          serve the API (the default)
  motcua migrate [--down-to VERSION]     apply database migrations and exit (or roll back to VERSION)
  motcua token --role ROLE --agency CODE  print a bearer token signed with the service's key
               [--sub ID] [--name NAME] [--title TITLE] [--ttl 8h]
  motcua seed demo                        load demo agencies, procedures and dossiers (its own codes; again: no change)
  motcua seed --dossiers N [--months 12] [--now RFC3339] [--random-seed 1]
                                          generate N synthetic dossiers at national scale, for benchmarks
  motcua seed rollups                     rebuild the reports' roll-ups from the dossiers' history
  motcua bench [--url U] [--duration 10s] [--connections 32] [--scenarios healthz,lookup,intake,transition,mix,stream] [--rate 500]
                                          drive a running service and print rates, latencies, errors and memory
  motcua healthcheck                      exit 0 when the local server answers /healthz (for containers)
  motcua events tail [--agency CODE] [--type KIND] [--all | --since 1h] [--json] [-n N]
                                          print events as they arrive, one line each: time, kind, dossier,
                                          agency, due time (--json: the CloudEvent as published)
  motcua events parked [-n 100]           list the events the relay parked (never publishable as they are), with the reason
  motcua events requeue (--all | SEQ...)  make parked events pending again, once their cause is fixed
  motcua compliance [--durable NAME] [--every 1m] [--state-dir DIR]
                                          count late-processing events per agency, procedure and kind with a
                                          durable consumer; the table on SIGUSR1, every --every and at exit

  motcua notify [--durable NAME]         tell applicants by SMS and e-mail (SMTP_URL/SMTP_FROM, SMS_URL); serve
                                          does it too when a channel is configured, one instance at a time
  motcua notify status [--since 168h] [-n 20]
                                          notifications per channel and status, the oldest pending, recent failures
  motcua portal sync | status | resync CODE...
                                          the national portal sync on its own (DVCQG_URL), its backlog and
                                          failing dossiers, or dossiers sent again from their current state

events tail, compliance, notify and portal sync use NATS_URL; without it, the in-process NATS of a service running on the same
DATA_DIR (it listens on a loopback port written to DATA_DIR/nats/client-url). The stream keeps events 90 days.

Configuration comes from the environment; see README.md.
`

// run is main without the process: tests call it with their own
// environment and output. ready, when not nil, receives the listening
// address once the server accepts connections.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer, ready chan<- string) error {
	cmd := "serve"
	if len(args) > 0 {
		cmd, args = args[0], args[1:]
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	switch cmd {
	case "serve":
		return serve(ctx, cfg, log, getenv, ready)
	case "migrate":
		return migrate(ctx, cfg, log, args)
	case "token":
		return token(cfg, args, stdout)
	case "seed":
		return seed(ctx, cfg, log, args, stdout)
	case "bench":
		return bench(ctx, cfg, args, stdout)
	case "healthcheck":
		return healthcheck(ctx, cfg)
	case "events":
		return eventsCmd(ctx, cfg, log, args, stdout)
	case "compliance":
		return complianceCmd(ctx, cfg, log, args, stdout)
	case "notify":
		return notifyCmd(ctx, cfg, log, args, stdout)
	case "portal":
		return portalCmd(ctx, cfg, log, args, stdout)
	case "help", "-h", "--help":
		_, err := io.WriteString(stdout, usage)
		return err
	}
	return errors.New("unknown command " + cmd + "\n\n" + usage)
}

// healthcheck asks the local server's /healthz, for container health checks
// on an image without a shell.
func healthcheck(ctx context.Context, cfg Config) error {
	_, port, err := net.SplitHostPort(cfg.HTTPAddr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://127.0.0.1:"+port+"/healthz", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("healthz answered %d", res.StatusCode)
	}
	return nil
}

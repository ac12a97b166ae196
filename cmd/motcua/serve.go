package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/portal"
	"github.com/motcua/motcua/service"
	"github.com/motcua/motcua/store"
)

// openStore opens and migrates the database the configuration names.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, Logger: log})
	if err != nil {
		return nil, err
	}
	if err := st.Migrate(ctx); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

// migrate applies the migrations, or with --down-to N rolls the schema back
// to version N (the previous release's, after a bad upgrade: stop every
// instance first; a Down section that drops a table drops its rows).
func migrate(ctx context.Context, cfg Config, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	downTo := fs.Int64("down-to", -1, "roll back to this schema version (0: an empty database)")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *downTo < -1 {
		return errors.New("usage: motcua migrate [--down-to VERSION]")
	}
	if *downTo >= 0 {
		st, err := store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, Logger: log})
		if err != nil {
			return err
		}
		defer st.Close()
		if err := st.MigrateDownTo(ctx, *downTo); err != nil {
			return err
		}
		log.Info("migrations rolled back", "dialect", st.Dialect(), "version", *downTo)
		return nil
	}
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "dialect", st.Dialect())
	return st.Close()
}

// signingKey is JWT_SECRET, or the key generated once under DATA_DIR.
func signingKey(cfg Config) ([]byte, error) {
	if cfg.JWTSecret != "" {
		return []byte(cfg.JWTSecret), nil
	}
	return auth.LoadOrCreateKey(cfg.DataDir)
}

// pageSessionKey is SESSION_KEY, or else the token signing key (the pages
// derive their own keys from it with HKDF, so it never seals a cookie as
// it is).
func pageSessionKey(cfg Config) ([]byte, error) {
	if cfg.SessionKey != "" {
		return []byte(cfg.SessionKey), nil
	}
	return signingKey(cfg)
}

func verifier(ctx context.Context, cfg Config) (handlers.Verifier, error) {
	if cfg.JWKSURL != "" {
		return auth.NewJWKS(ctx, cfg.JWKSURL, auth.Options{})
	}
	key, err := signingKey(cfg)
	if err != nil {
		return nil, err
	}
	return auth.NewHS256(key, auth.Options{})
}

// serve runs the API and the outbox relay until ctx ends, then stops in
// order: stop accepting, finish requests, flush the outbox, close NATS and
// the database.
func serve(ctx context.Context, cfg Config, log *slog.Logger, getenv func(string) string, ready chan<- string) error {
	start := time.Now()
	log.Info("starting", cfg.logAttrs(getenv)...)
	st, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()

	conn, err := events.Connect(ctx, events.Options{URL: cfg.NATSURL, DataDir: cfg.DataDir, Stream: cfg.NATSStream, SubjectPrefix: cfg.SubjectPrefix, Logger: log})
	if err != nil {
		return err
	}
	defer conn.Close()

	v, err := verifier(ctx, cfg)
	if err != nil {
		return fmt.Errorf("tokens: %w", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	relay := events.NewRelay(conn, st, events.RelayOptions{Logger: log, Metrics: events.NewMetrics(reg)})
	svcOpts := service.Options{Logger: log,
		SupplementLimit: int64(cfg.SupplementDays) * domain.MinutesPerWorkingDay,
		DueSoonLead:     int64(cfg.DueSoonHours * 60)}
	var portalSync *portal.Syncer
	if cfg.Portal.URL != "" {
		svcOpts.Portal = st
		if portalSync, err = newPortalSync(cfg, conn, st, log, reg); err != nil {
			return err
		}
	}
	svc := service.New(st, service.SystemClock{}, relay, svcOpts)

	sessionKey, err := pageSessionKey(cfg)
	if err != nil {
		return fmt.Errorf("SESSION_KEY: %w", err)
	}
	router := handlers.New(handlers.Config{
		Service: svc, Verifier: v, Logger: log, Registry: reg,
		Ready:           map[string]func(context.Context) error{"database": st.Ping, "nats": conn.Ping},
		PublicRateLimit: cfg.PublicRateLimit, TrustedProxies: cfg.TrustedProxies,
		AsyncAPI:  events.AsyncAPI,
		PublicURL: cfg.PublicURL, SessionKey: sessionKey,
		OIDC: handlers.OIDCConfig{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCSecret},
	})
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	srv := &http.Server{Handler: router, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}

	relayCtx, stopRelay := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// One instance relays at a time (a PostgreSQL advisory lock); the
		// others stand by and take over when it stops.
		_ = st.Lead(relayCtx, store.LockRelay, 5*time.Second, func(ctx context.Context) error {
			log.Info("relaying the outbox")
			go prune(ctx, log, st, cfg.OutboxRetention)
			if err := relay.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		})
	}()
	wg.Add(2)
	go func() {
		defer wg.Done()
		_ = st.ListenOutbox(relayCtx, relay.Wake)
	}()
	go func() {
		defer wg.Done()
		watch(relayCtx, log, svc, cfg.WatchInterval, newWatchMetrics(reg))
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		sweep(relayCtx, log, svc)
	}()
	if portalSync != nil {
		// The national portal sync: one instance at a time, as the relay.
		wg.Add(1)
		go func() {
			defer wg.Done()
			runPortalSync(relayCtx, st, log, portalSync)
		}()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "dialect", st.Dialect(), "started_in", time.Since(start))
	if ready != nil {
		ready <- ln.Addr().String()
	}

	select {
	case err := <-serveErr:
		stopRelay()
		wg.Wait()
		return err
	case <-ctx.Done():
	}
	log.Info("stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Error("http shutdown", "err", err)
	}
	stopRelay()
	wg.Wait()
	if err := relay.Flush(shutdownCtx); err != nil {
		log.Error("outbox not fully flushed; the rest goes at next start", "err", err)
	}
	log.Info("stopped")
	return nil
}

// sweep stops, once a minute, the dossiers left unsupplemented too long.
func sweep(ctx context.Context, log *slog.Logger, svc *service.Service) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if n, err := svc.StopUnsupplemented(ctx); err != nil && ctx.Err() == nil {
			log.Error("stopping unsupplemented dossiers", "err", err)
		} else if n > 0 {
			log.Info("stopped unsupplemented dossiers", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

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
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/events"
	"github.com/motcua/motcua/handlers"
	"github.com/motcua/motcua/notify"
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

// pinSecret is PIN_KEY, or else the token signing key (the service derives
// its own keys from it with HKDF).
func pinSecret(cfg Config) ([]byte, error) {
	if cfg.PINKey != "" {
		return []byte(cfg.PINKey), nil
	}
	return signingKey(cfg)
}

func verifier(ctx context.Context, cfg Config) (handlers.Verifier, error) {
	if cfg.JWKSURL != "" {
		return auth.NewJWKS(ctx, cfg.JWKSURL, auth.Options{Issuer: cfg.JWTIssuer, Audience: cfg.JWTAudience})
	}
	key, err := signingKey(cfg)
	if err != nil {
		return nil, err
	}
	return auth.NewHS256(key, auth.Options{Issuer: auth.OwnIssuer, Audience: auth.OwnAudience})
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

	conn, err := events.Connect(ctx, events.Options{URL: cfg.NATSURL, DataDir: cfg.DataDir, Listen: cfg.NATSListen, Stream: cfg.NATSStream, SubjectPrefix: cfg.SubjectPrefix, Logger: log})
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
	secret, err := pinSecret(cfg)
	if err != nil {
		return fmt.Errorf("PIN_KEY: %w", err)
	}
	svcOpts := service.Options{Logger: log, Secret: secret,
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

	// The notifier tells applicants by SMS and e-mail when a channel is
	// configured (one instance at a time, like the relay).
	var notifier *notify.Notifier
	if cfg.notifying() {
		if notifier, err = newNotifier(cfg, conn, st, log, reg, ""); err != nil {
			return err
		}
	}

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
		OIDC:             handlers.OIDCConfig{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCSecret},
		MetricsElsewhere: cfg.MetricsAddr != "",
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
	wg.Add(1)
	go func() {
		defer wg.Done()
		// PIN hashes of the old unkeyed format become keyed ones.
		if n, err := svc.UpgradePINHashes(relayCtx); err != nil && relayCtx.Err() == nil {
			log.Error("upgrading PIN hashes", "err", err, "upgraded", n)
		} else if n > 0 {
			log.Info("PIN hashes upgraded to keyed hashes", "count", n)
		}
	}()
	wg.Add(1)
	go func() {
		defer wg.Done()
		// One instance works the calendar's recompute jobs at a time; a job
		// left by an instance that stopped is taken up by the next leader.
		_ = st.Lead(relayCtx, store.LockRecompute, 5*time.Second, func(ctx context.Context) error {
			return recompute(ctx, log, svc, time.Second)
		})
	}()
	if n := notifier; n != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			leadNotifier(relayCtx, st, n, log)
		}()
	}
	if portalSync != nil {
		// The national portal sync: one instance at a time, as the relay.
		wg.Add(1)
		go func() {
			defer wg.Done()
			runPortalSync(relayCtx, st, log, portalSync)
		}()
	}
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	metricsSrv, err := serveMetrics(cfg.MetricsAddr, reg, log, serveErr)
	if err != nil {
		_ = srv.Close()
		stopRelay()
		wg.Wait()
		return err
	}
	pprofSrv := servePprof(cfg.PprofAddr, log)
	log.Info("serving", "addr", ln.Addr().String(), "dialect", st.Dialect(), "started_in", time.Since(start))
	warnPublicURL(log, cfg, ln.Addr())
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
	if pprofSrv != nil {
		_ = pprofSrv.Close()
	}
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(shutdownCtx)
	}
	stopRelay()
	wg.Wait()
	if err := relay.Flush(shutdownCtx); err != nil {
		log.Error("outbox not fully flushed; the rest goes at next start", "err", err)
	}
	log.Info("stopped")
	return nil
}

// warnPublicURL warns when PUBLIC_URL is unset on an address others can
// reach: the receipt's QR link and the OIDC redirect then come from the
// connection's own address, or from a trusted proxy's X-Forwarded-Host.
func warnPublicURL(log *slog.Logger, cfg Config, addr net.Addr) {
	if cfg.PublicURL != "" {
		return
	}
	if a, ok := addr.(*net.TCPAddr); ok && a.IP.IsLoopback() {
		return
	}
	log.Warn("PUBLIC_URL is unset and the service listens beyond loopback: receipt QR links and the OIDC redirect use "+
		"the address each connection reached, or X-Forwarded-Host from TRUSTED_PROXIES; set PUBLIC_URL to the site's address",
		"addr", addr.String())
}

// serveMetrics serves /metrics on METRICS_ADDR, a listener of its own
// (e.g. on an internal network only); nil when the address is unset.
func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger, errs chan<- error) (*http.Server, error) {
	if addr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("METRICS_ADDR: %w", err)
		}
	}()
	log.Info("serving metrics", "addr", ln.Addr().String())
	return srv, nil
}

// sweep stops, once a minute, the dossiers left unsupplemented too long.
func sweep(ctx context.Context, log *slog.Logger, svc *service.Service) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if n, err := svc.SweepIdempotencyKeys(ctx); err != nil && ctx.Err() == nil {
			log.Error("deleting expired idempotency keys", "err", err)
		} else if n > 0 {
			log.Info("deleted expired idempotency keys", "count", n)
		}
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

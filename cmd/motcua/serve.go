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
	"github.com/motcua/motcua/web"
)

// openStore opens and migrates the database the configuration names.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (*store.Store, error) {
	st, err := store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, Logger: log, MaxConns: cfg.DBMaxConns})
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
		st, err := store.Open(ctx, store.Options{DatabaseURL: cfg.DatabaseURL, DataDir: cfg.DataDir, Logger: log, MaxConns: cfg.DBMaxConns})
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

// serve runs the API, the pages and the background work (the outbox relay,
// the watch, the consumers) until ctx ends, then stops in order: stop
// accepting, finish requests, flush the outbox, close NATS and the database.
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
	a, err := assemble(ctx, cfg, log, st, conn)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("HTTP_ADDR: %w", err)
	}
	srv := &http.Server{Handler: a.router, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 2 * time.Minute}
	stopBackground := a.background()
	serveErr := make(chan error, 2)
	go func() { serveErr <- srv.Serve(ln) }()
	metricsSrv, err := serveMetrics(cfg.MetricsAddr, a.reg, log, serveErr)
	if err != nil {
		_ = srv.Close()
		stopBackground()
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
		stopBackground()
		return err
	case <-ctx.Done():
	}
	a.stop(srv, stopBackground, metricsSrv, pprofSrv)
	return nil
}

// app is what serve runs on the store and NATS: the service, the router,
// and the workers beside them.
type app struct {
	cfg        Config
	log        *slog.Logger
	st         *store.Store
	reg        *prometheus.Registry
	relay      *events.Relay
	svc        *service.Service
	notifier   *notify.Notifier // nil: no SMS or e-mail configured
	portalSync *portal.Syncer   // nil: DVCQG_URL unset
	router     http.Handler
}

// assemble builds the service on the store and NATS, its consumers, and the
// router with the API and the pages.
func assemble(ctx context.Context, cfg Config, log *slog.Logger, st *store.Store, conn *events.Conn) (*app, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	a := &app{cfg: cfg, log: log, st: st, reg: reg,
		relay: events.NewRelay(conn, st, events.RelayOptions{Logger: log, Metrics: events.NewMetrics(reg)})}
	secret, err := pinSecret(cfg)
	if err != nil {
		return nil, fmt.Errorf("PIN_KEY: %w", err)
	}
	svcOpts := service.Options{Logger: log, Secret: secret,
		SupplementLimit: int64(cfg.SupplementDays) * domain.MinutesPerWorkingDay,
		DueSoonLead:     int64(cfg.DueSoonHours * 60)}
	if cfg.Portal.URL != "" {
		svcOpts.Portal = st
		if a.portalSync, err = newPortalSync(cfg, conn, st, log, reg); err != nil {
			return nil, err
		}
	}
	a.svc = service.New(st, service.SystemClock{}, wakeUnlessListening{relay: a.relay, st: st}, svcOpts)
	// The notifier tells applicants by SMS and e-mail when a channel is
	// configured (one instance at a time, like the relay).
	if cfg.notifying() {
		if a.notifier, err = newNotifier(cfg, conn, st, log, reg, "", a.svc.Busy); err != nil {
			return nil, err
		}
	}
	ready := map[string]func(context.Context) error{"database": st.Ping, "nats": conn.Ping}
	if a.router, err = newRouter(ctx, cfg, log, a.svc, reg, ready); err != nil {
		return nil, err
	}
	return a, nil
}

// newRouter mounts the API (handlers) and the pages (web) on one router,
// both on the same service.
func newRouter(ctx context.Context, cfg Config, log *slog.Logger, svc *service.Service, reg *prometheus.Registry,
	ready map[string]func(context.Context) error) (http.Handler, error) {
	v, err := verifier(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	sessionKey, err := pageSessionKey(cfg)
	if err != nil {
		return nil, fmt.Errorf("SESSION_KEY: %w", err)
	}
	site, err := web.New(web.Config{Service: svc, Verifier: v, Logger: log, TrustedProxies: cfg.TrustedProxies,
		PublicURL: cfg.PublicURL, SessionKey: sessionKey,
		OIDC: web.OIDCConfig{Issuer: cfg.OIDCIssuer, ClientID: cfg.OIDCClientID, ClientSecret: cfg.OIDCSecret}})
	if err != nil {
		return nil, err
	}
	return handlers.New(handlers.Config{
		Service: svc, Verifier: v, Logger: log, Registry: reg, Ready: ready,
		PublicRateLimit: cfg.PublicRateLimit, TrustedProxies: cfg.TrustedProxies,
		AsyncAPI: events.AsyncAPI, PublicURL: cfg.PublicURL, Pages: site.Mount,
		MetricsElsewhere: cfg.MetricsAddr != "",
	}), nil
}

// background starts the workers beside the router; the function it returns
// stops them and waits until they have.
func (a *app) background() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	run := func(f func()) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f()
		}()
	}
	st, log, svc := a.st, a.log, a.svc
	// One instance relays at a time (a PostgreSQL advisory lock); the
	// others stand by and take over when it stops.
	run(func() {
		_ = st.Lead(ctx, store.LockRelay, 5*time.Second, func(ctx context.Context) error {
			log.Info("relaying the outbox")
			go prune(ctx, log, st, a.cfg.OutboxRetention)
			if err := a.relay.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				return err
			}
			return nil
		})
	})
	run(func() { _ = st.ListenOutbox(ctx, a.relay.Wake) })
	run(func() { watch(ctx, log, svc, a.cfg.WatchInterval, newWatchMetrics(a.reg)) })
	run(func() { sweep(ctx, log, svc) })
	// PIN hashes of the old unkeyed format become keyed ones.
	run(func() {
		if n, err := svc.UpgradePINHashes(ctx); err != nil && ctx.Err() == nil {
			log.Error("upgrading PIN hashes", "err", err, "upgraded", n)
		} else if n > 0 {
			log.Info("PIN hashes upgraded to keyed hashes", "count", n)
		}
	})
	// One instance works the calendar's recompute jobs at a time; a job
	// left by an instance that stopped is taken up by the next leader.
	run(func() {
		_ = st.Lead(ctx, store.LockRecompute, 5*time.Second, func(ctx context.Context) error {
			return recompute(ctx, log, svc, time.Second)
		})
	})
	if n := a.notifier; n != nil {
		run(func() { leadNotifier(ctx, st, n, log) })
	}
	// The national portal sync: one instance at a time, as the relay.
	if p := a.portalSync; p != nil {
		run(func() { runPortalSync(ctx, st, log, p) })
	}
	return func() {
		cancel()
		wg.Wait()
		// The right PINs' give-backs still pending (service/giveback.go).
		flushCtx, done := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
		defer done()
		if err := svc.Close(flushCtx); err != nil {
			log.Error("PIN give-backs not all applied; those attempts stay counted until their windows end", "err", err)
		}
	}
}

// stop ends the requests, the side servers and the workers, then sends
// what is left in the outbox.
func (a *app) stop(srv *http.Server, stopBackground func(), metricsSrv, pprofSrv *http.Server) {
	a.log.Info("stopping")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), a.cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		a.log.Error("http shutdown", "err", err)
	}
	if pprofSrv != nil {
		_ = pprofSrv.Close()
	}
	if metricsSrv != nil {
		_ = metricsSrv.Shutdown(shutdownCtx)
	}
	stopBackground()
	if err := a.relay.Flush(shutdownCtx); err != nil {
		a.log.Error("outbox not fully flushed; the rest goes at next start", "err", err)
	}
	a.log.Info("stopped")
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

// wakeUnlessListening wakes the relay after a command's commit unless the
// store's outbox listener is listening: the commit's own notification wakes
// it then, and a second wake-up would only cost a second read of the outbox
// (docs/benchmarks.md, "The relay's statements per event (session 6)").
// SQLite has no listener: the wake-up is always in-process there.
type wakeUnlessListening struct {
	relay *events.Relay
	st    interface{ OutboxListening() bool }
}

func (w wakeUnlessListening) Wake() {
	if !w.st.OutboxListening() {
		w.relay.Wake()
	}
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

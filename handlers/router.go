package handlers

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/service"
)

// Config wires the router.
type Config struct {
	Service  *service.Service
	Verifier Verifier
	Logger   *slog.Logger
	// Registry receives the HTTP metrics and serves /metrics.
	Registry *prometheus.Registry
	// Ready are the checks of /readyz (database, NATS), by name.
	Ready map[string]func(context.Context) error
	// PublicRateLimit is requests per second per client on public endpoints; 0 is off.
	PublicRateLimit float64
	// TrustedProxies may set X-Forwarded-For (the client address of the
	// rate limit and the access log).
	TrustedProxies []*net.IPNet
	// AsyncAPI is the events document served at /asyncapi.json, if any.
	AsyncAPI []byte
	// PublicURL is the site's address as citizens reach it; an https URL
	// turns on HSTS.
	PublicURL string
	// Pages mounts the pages (package web) beside the API, before the
	// metrics learn the routes; public is the API's public rate limiter, so
	// a client has one budget for the API and the pages. nil: the API alone.
	Pages func(e *echo.Echo, public echo.MiddlewareFunc)
	// MetricsElsewhere leaves /metrics off this router: METRICS_ADDR serves
	// the Registry on a listener of its own.
	MetricsElsewhere bool
}

// New builds the router main uses; tests build the same one.
func New(cfg Config) *echo.Echo {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Registry == nil {
		cfg.Registry = prometheus.NewRegistry()
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = errorHandler(cfg.Logger)
	e.IPExtractor = ipExtractor(cfg.TrustedProxies)

	m := newHTTPMetrics(cfg.Registry)
	e.Use(middleware.RequestID())
	e.Use(accessLog(cfg.Logger))
	e.Use(m.middleware)
	e.Use(middleware.Recover())
	e.Use(middleware.BodyLimit("1M"))
	e.Use(securityHeaders(cfg.PublicURL))
	e.Use(guardParams)

	h := &api{svc: cfg.Service, log: cfg.Logger}
	e.GET("/healthz", func(c echo.Context) error { return c.JSON(http.StatusOK, map[string]string{"status": "ok"}) })
	e.GET("/readyz", readyz(cfg.Ready))
	if !cfg.MetricsElsewhere {
		e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(cfg.Registry, promhttp.HandlerOpts{})))
	}
	e.GET("/openapi.json", serveOpenAPI)
	if cfg.AsyncAPI != nil {
		e.GET("/asyncapi.json", func(c echo.Context) error { return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, cfg.AsyncAPI) })
	}

	v1 := e.Group("/api/v1")
	staff := authenticate(cfg.Verifier, staffRoles...)
	admin := authenticate(cfg.Verifier, domain.RoleAdmin)
	public := rateLimit(cfg.PublicRateLimit)

	v1.PUT("/agencies/:code", h.putAgency, admin)
	v1.GET("/agencies", h.listAgencies, staff)
	v1.GET("/agencies/:code", h.getAgency, staff)
	v1.PUT("/procedures/:code", h.putProcedure, admin)
	v1.GET("/procedures", h.listProcedures, staff)
	v1.GET("/procedures/:code", h.getProcedure, staff)

	v1.GET("/calendar/deadline", h.deadline, public)
	v1.GET("/calendar/days", h.listDays, public)
	v1.PUT("/calendar/days/:date", h.putDay, admin)
	v1.DELETE("/calendar/days/:date", h.deleteDay, admin)
	v1.GET("/calendar/recomputes", h.listRecomputes, admin)
	v1.GET("/calendar/recomputes/:id", h.getRecompute, admin)

	v1.POST("/dossiers", h.intake, authenticate(cfg.Verifier, domain.RoleClerk, domain.RoleAdmin))
	v1.GET("/dossiers", h.listDossiers, staff)
	v1.GET("/dossiers/:code", h.getDossier, staff)
	v1.POST("/dossiers/:code/transitions", h.transition, authenticate(cfg.Verifier, domain.RoleClerk, domain.RoleOfficer, domain.RoleAdmin))
	v1.PUT("/dossiers/:code/notify", h.setNotify, authenticate(cfg.Verifier, domain.RoleClerk, domain.RoleAdmin))

	reports := authenticate(cfg.Verifier, domain.RoleSupervisor, domain.RoleAdmin)
	v1.GET("/reports/overdue", h.overdueReport, reports)
	v1.GET("/reports/compliance", h.complianceReport, reports)
	v1.GET("/reports/scorecard", h.scorecardReport, reports)
	v1.GET("/reports/lateness", h.latenessReport, reports)

	v1.DELETE("/sessions", h.endSessions, admin)

	v1.GET("/public/dossiers/:code", h.publicDossier, public)
	v1.POST("/public/dossiers/:code/feedback", h.feedback, public)
	if cfg.Pages != nil {
		cfg.Pages(e, public)
	}
	m.setRoutes(e.Routes())
	return e
}

func readyz(checks map[string]func(context.Context) error) echo.HandlerFunc {
	return func(c echo.Context) error {
		ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
		defer cancel()
		status := map[string]string{}
		ok := true
		for name, check := range checks {
			if err := check(ctx); err != nil {
				status[name] = "unavailable"
				ok = false
			} else {
				status[name] = "ok"
			}
		}
		if !ok {
			c.Response().Header().Set("Retry-After", retryAfterSeconds)
			return c.JSON(http.StatusServiceUnavailable, map[string]any{"status": "unavailable", "checks": status})
		}
		return c.JSON(http.StatusOK, map[string]any{"status": "ok", "checks": status})
	}
}

// ipExtractor takes the client address from X-Forwarded-For only when the
// peer is a trusted proxy.
func ipExtractor(trusted []*net.IPNet) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, n := range trusted {
		opts = append(opts, echo.TrustIPRange(n))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

// rateLimit limits public endpoints per client address; 0 turns it off.
func rateLimit(perSecond float64) echo.MiddlewareFunc {
	if perSecond <= 0 {
		return func(next echo.HandlerFunc) echo.HandlerFunc { return next }
	}
	burst := int(perSecond * 2)
	if burst < 1 {
		burst = 1
	}
	store := middleware.NewRateLimiterMemoryStoreWithConfig(middleware.RateLimiterMemoryStoreConfig{
		Rate: rate.Limit(perSecond), Burst: burst, ExpiresIn: 3 * time.Minute,
	})
	return middleware.RateLimiterWithConfig(middleware.RateLimiterConfig{
		Store:               store,
		IdentifierExtractor: func(c echo.Context) (string, error) { return c.RealIP(), nil },
		ErrorHandler: func(c echo.Context, err error) error {
			return echo.NewHTTPError(http.StatusForbidden, "cannot identify the client")
		},
		DenyHandler: func(c echo.Context, id string, err error) error {
			c.Response().Header().Set("Retry-After", "1")
			return &domain.Error{Kind: domain.TooMany, Code: domain.CodeTooManyRequests, Detail: "quá nhiều yêu cầu; vui lòng thử lại sau giây lát"}
		},
	})
}

// accessLog writes one JSON line per request with its id. It logs the path
// without the query string, so a PIN never reaches a log line.
func accessLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			level := slog.LevelInfo
			switch {
			case status == StatusClientClosedRequest:
				level = slog.LevelDebug // the client went away: no fault of ours
			case status >= 500:
				level = slog.LevelError
			}
			log.LogAttrs(c.Request().Context(), level, "request",
				slog.String("request_id", c.Response().Header().Get(echo.HeaderXRequestID)),
				slog.String("method", c.Request().Method),
				slog.String("path", c.Request().URL.Path),
				slog.String("route", c.Path()),
				slog.Int("status", status),
				slog.Duration("took", time.Since(start)),
				slog.String("client", c.RealIP()))
			return nil
		}
	}
}

// httpMetrics counts requests. Every label value comes from a fixed set, so
// no client can grow the series: the method is one of the standard ones or
// OTHER, the route is a registered template or "unmatched", the status a
// three-digit code.
type httpMetrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	routes   atomic.Pointer[map[string]bool]
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "motcua_http_requests_total", Help: "HTTP requests by route, method and status."},
			[]string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "motcua_http_request_seconds", Help: "HTTP request latency by route.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5}}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.latency)
	return m
}

// setRoutes fixes the route templates that may be a label.
func (m *httpMetrics) setRoutes(rs []*echo.Route) {
	set := make(map[string]bool, len(rs))
	for _, r := range rs {
		set[r.Path] = true
	}
	m.routes.Store(&set)
}

// unmatchedRoute labels requests no route template matched.
const unmatchedRoute = "unmatched"

func (m *httpMetrics) routeLabel(path string) string {
	if set := m.routes.Load(); path != "" && set != nil && (*set)[path] {
		return path
	}
	return unmatchedRoute
}

// methodLabel keeps the methods of RFC 9110 and PATCH; any other is OTHER.
func methodLabel(method string) string {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return method
	}
	return "OTHER"
}

func statusLabel(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status)
}

func (m *httpMetrics) middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		route, method := m.routeLabel(c.Path()), methodLabel(c.Request().Method)
		m.requests.WithLabelValues(route, method, statusLabel(c.Response().Status)).Inc()
		m.latency.WithLabelValues(route, method).Observe(time.Since(start).Seconds())
		return nil
	}
}

package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
	"github.com/motcua/motcua/notify"
)

// Config is everything the service reads from the environment, checked at
// start: a bad value stops the service with one line naming the variable.
type Config struct {
	HTTPAddr        string
	MetricsAddr     string
	PprofAddr       string
	DatabaseURL     string
	NATSURL         string
	NATSListen      string
	DataDir         string
	JWTSecret       string
	JWKSURL         string
	JWTIssuer       string
	JWTAudience     string
	LogLevel        slog.Level
	PublicRateLimit float64
	TrustedProxies  []*net.IPNet
	ShutdownTimeout time.Duration
	NATSStream      string
	SubjectPrefix   string
	SupplementDays  int
	WatchInterval   time.Duration
	DueSoonHours    float64
	OutboxRetention time.Duration
	PublicURL       string
	SessionKey      string
	PINKey          string
	OIDCIssuer      string
	OIDCClientID    string
	OIDCSecret      string
	SMTPURL         string
	SMTPFrom        string
	SMSURL          string
	SMSToken        string
	NotifyWorkers   int
	DBMaxConns      int     // 0: the store's default
	NotifyRate      float64 // sends a second at most; negative: no cap
	Portal          PortalConfig
}

// PortalConfig is the national portal sync's part (DVCQG_*).
type PortalConfig struct {
	URL, Username, Password, Unit string
	Timeout                       time.Duration
	Workers                       int
	RefusalCodes                  []int
}

// notifying reports whether a channel to tell applicants by is configured.
func (c Config) notifying() bool { return c.SMTPURL != "" || c.SMSURL != "" }

var (
	streamNameRe    = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)
	subjectPrefixRe = regexp.MustCompile(`^([A-Za-z0-9_-]+\.)+$`)
)

// setting is one row of the configuration table.
type setting struct {
	name, def, help string
	secret          bool
	list            bool // comma-separated URLs, each redacted on its own
	parse           func(c *Config, v string) error
}

// settings is the table of variables, their defaults and checks (README
// keeps the same table).
var settings = []setting{
	{name: "HTTP_ADDR", def: ":8080", help: "address the API listens on", parse: func(c *Config, v string) error {
		if _, _, err := net.SplitHostPort(v); err != nil {
			return fmt.Errorf("must be host:port, e.g. :8080")
		}
		c.HTTPAddr = v
		return nil
	}},
	{name: "METRICS_ADDR", help: "address serving /metrics on its own listener (then not on HTTP_ADDR); unset = /metrics on HTTP_ADDR", parse: func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			return fmt.Errorf("must be host:port, e.g. 127.0.0.1:9090")
		}
		if v == c.HTTPAddr {
			return fmt.Errorf("must differ from HTTP_ADDR")
		}
		c.MetricsAddr = v
		return nil
	}},
	{name: "PPROF_ADDR", help: "loopback host:port serving Go's /debug/pprof/ for profiling; unset = off (never on HTTP_ADDR)", parse: func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		host, _, err := net.SplitHostPort(v)
		if err != nil {
			return fmt.Errorf("must be host:port, e.g. 127.0.0.1:6060")
		}
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			return fmt.Errorf("must be a loopback address, e.g. 127.0.0.1:6060")
		}
		if v == c.HTTPAddr || v == c.MetricsAddr {
			return fmt.Errorf("must differ from HTTP_ADDR and METRICS_ADDR")
		}
		c.PprofAddr = v
		return nil
	}},
	{name: "DATABASE_URL", help: "postgres:// URL; unset = embedded SQLite under DATA_DIR", secret: true, parse: func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			return fmt.Errorf("must be a postgres:// URL")
		}
		c.DatabaseURL = v
		return nil
	}},
	{name: "NATS_URL", help: "NATS server URL; unset = in-process NATS with JetStream under DATA_DIR", secret: true, list: true, parse: func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		for _, one := range strings.Split(v, ",") {
			u, err := url.Parse(strings.TrimSpace(one))
			if err != nil || (u.Scheme != "nats" && u.Scheme != "tls" && u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
				return fmt.Errorf("must be nats://host:port (comma-separated for a cluster)")
			}
		}
		c.NATSURL = v
		return nil
	}},
	{name: "NATS_EMBEDDED_LISTEN", def: "127.0.0.1:0", help: "without NATS_URL: where the in-process NATS also accepts clients (port 0: any free port, written to DATA_DIR/nats/client-url); off = nowhere", parse: func(c *Config, v string) error {
		if v == "" || v == "off" {
			c.NATSListen = ""
			return nil
		}
		host, port, err := net.SplitHostPort(v)
		if p, perr := strconv.Atoi(port); err != nil || perr != nil || p < 0 || p > 65535 || host == "" {
			return fmt.Errorf("must be host:port (port 0 = any free port) or off")
		}
		c.NATSListen = v
		return nil
	}},
	{name: "DATA_DIR", def: "./data", help: "where the embedded database, NATS store and generated key live", parse: func(c *Config, v string) error {
		if v == "" {
			return fmt.Errorf("must not be empty")
		}
		c.DataDir = v
		return nil
	}},
	{name: "JWT_SECRET", help: "HS256 key (32+ bytes); unset = a key generated once under DATA_DIR", secret: true, parse: func(c *Config, v string) error {
		if v != "" && len(v) < 32 {
			return fmt.Errorf("must be at least 32 bytes")
		}
		c.JWTSecret = v
		return nil
	}},
	{name: "JWKS_URL", help: "OpenID Connect JWKS URL; set = verify RS256/ES256 tokens against it", parse: func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("must be an http(s) URL")
		}
		c.JWKSURL = v
		return nil
	}},
	{name: "JWT_ISSUER", help: "the iss every token must carry; required with JWKS_URL (own-key tokens carry motcua)", parse: func(c *Config, v string) error {
		return jwksCheck(&c.JWTIssuer, c.JWKSURL, v)
	}},
	{name: "JWT_AUDIENCE", help: "the aud every token must include (the API's client id at the provider); required with JWKS_URL", parse: func(c *Config, v string) error {
		return jwksCheck(&c.JWTAudience, c.JWKSURL, v)
	}},
	{name: "LOG_LEVEL", def: "info", help: "debug, info, warn or error", parse: func(c *Config, v string) error {
		return c.LogLevel.UnmarshalText([]byte(v))
	}},
	{name: "PUBLIC_RATE_LIMIT", def: "10", help: "requests per second per client on public endpoints; 0 = off", parse: func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f > 1e6 {
			return fmt.Errorf("must be a number from 0 to 1000000")
		}
		c.PublicRateLimit = f
		return nil
	}},
	{name: "TRUSTED_PROXIES", help: "CIDRs of proxies allowed to set X-Forwarded-For/-Proto/-Host, comma-separated", parse: func(c *Config, v string) error {
		c.TrustedProxies = nil
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s == "" {
				continue
			}
			_, n, err := net.ParseCIDR(s)
			if err != nil {
				return fmt.Errorf("%q is not a CIDR such as 10.0.0.0/8", s)
			}
			c.TrustedProxies = append(c.TrustedProxies, n)
		}
		return nil
	}},
	{name: "NATS_STREAM", def: "DOSSIERS", help: "JetStream stream name", parse: func(c *Config, v string) error {
		if !streamNameRe.MatchString(v) {
			return fmt.Errorf("must be letters, digits, - or _")
		}
		c.NATSStream = v
		return nil
	}},
	{name: "NATS_SUBJECT_PREFIX", help: "prefix before dossiers.> (e.g. tenant1.), for a NATS shared with others", parse: func(c *Config, v string) error {
		if v != "" && !subjectPrefixRe.MatchString(v) {
			return fmt.Errorf("must be dot-separated tokens ending in a dot, e.g. tenant1.")
		}
		c.SubjectPrefix = v
		return nil
	}},
	{name: "DB_MAX_CONNS", help: "cap on one instance's PostgreSQL connections; unset = 20 (SQLite: 4)", parse: func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return fmt.Errorf("must be a whole number from 1 to 1000")
		}
		c.DBMaxConns = n
		return nil
	}},
	{name: "SUPPLEMENT_LIMIT_DAYS", def: "15", help: "working days a dossier may wait for a supplement before it is stopped", parse: func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 365 {
			return fmt.Errorf("must be a whole number of working days from 1 to 365")
		}
		c.SupplementDays = n
		return nil
	}},
	{name: "WATCH_INTERVAL", def: "15s", help: "how often the deadline watcher looks for deadlines that passed", parse: func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond || d > time.Hour {
			return fmt.Errorf("must be a duration from 100ms to 1h")
		}
		c.WatchInterval = d
		return nil
	}},
	{name: "DUE_SOON_HOURS", def: "8", help: "working hours before a dossier's deadline that due_soon goes out", parse: func(c *Config, v string) error {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 80 {
			return fmt.Errorf("must be working hours above 0, at most 80")
		}
		c.DueSoonHours = f
		return nil
	}},
	{name: "OUTBOX_RETENTION", def: "168h", help: "how long published events stay in the outbox_published table", parse: func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Hour {
			return fmt.Errorf("must be a duration of at least 1h")
		}
		c.OutboxRetention = d
		return nil
	}},
	{name: "PUBLIC_URL", help: "the site's address as citizens reach it (receipt QR links, OIDC redirect); unset = a trusted proxy's X-Forwarded-Host, else the local address", parse: func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("must be an http(s) URL such as https://motcua.example.gov.vn")
		}
		c.PublicURL = strings.TrimRight(v, "/")
		return nil
	}},
	{name: "SESSION_KEY", help: "key sealing the pages' session cookies (32+ bytes, the same on every instance); unset = derived from the token key", secret: true, parse: func(c *Config, v string) error {
		if v != "" && len(v) < 32 {
			return fmt.Errorf("must be at least 32 bytes")
		}
		c.SessionKey = v
		return nil
	}},
	{name: "PIN_KEY", help: "key keying the look-up PINs' hashes and sealing the PINs kept for replays (32+ bytes, the same on every instance; changing it voids every PIN); unset = derived from the token key", secret: true, parse: func(c *Config, v string) error {
		if v != "" && len(v) < 32 {
			return fmt.Errorf("must be at least 32 bytes")
		}
		c.PINKey = v
		return nil
	}},
	{name: "OIDC_ISSUER", help: "OpenID Connect issuer URL; set = staff sign in to the pages through it (authorization code + PKCE)", parse: func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("must be an http(s) URL")
		}
		c.OIDCIssuer = v
		return nil
	}},
	{name: "OIDC_CLIENT_ID", help: "client id registered with the OIDC provider", parse: func(c *Config, v string) error {
		if c.OIDCIssuer != "" && v == "" {
			return fmt.Errorf("must be set when OIDC_ISSUER is")
		}
		c.OIDCClientID = v
		return nil
	}},
	{name: "OIDC_CLIENT_SECRET", help: "client secret registered with the OIDC provider", secret: true, parse: func(c *Config, v string) error {
		if c.OIDCIssuer != "" && v == "" {
			return fmt.Errorf("must be set when OIDC_ISSUER is")
		}
		c.OIDCSecret = v
		return nil
	}},
	{name: "SMTP_URL", help: "mail server for e-mail to applicants: smtp://user:pass@host:port (STARTTLS when offered) or smtps:// (implicit TLS)", secret: true, parse: func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		if _, err := notify.ParseSMTPURL(v); err != nil {
			return err
		}
		c.SMTPURL = v
		return nil
	}},
	{name: "SMTP_FROM", help: "sender address of e-mail to applicants (required with SMTP_URL)", parse: func(c *Config, v string) error {
		switch {
		case c.SMTPURL != "" && v == "":
			return fmt.Errorf("must be set when SMTP_URL is")
		case c.SMTPURL == "" && v != "":
			return fmt.Errorf("is set but SMTP_URL is not")
		case v != "" && !domain.ValidEmail(v):
			return fmt.Errorf("must be an e-mail address such as motcua@example.gov.vn")
		}
		c.SMTPFrom = v
		return nil
	}},
	{name: "SMS_URL", help: "SMS gateway for SMS to applicants: POST {to, text, ref}", parse: func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("must be an http(s) URL")
		}
		c.SMSURL = v
		return nil
	}},
	{name: "SMS_TOKEN", help: "bearer token for the SMS gateway", secret: true, parse: func(c *Config, v string) error {
		if v != "" && c.SMSURL == "" {
			return fmt.Errorf("is set but SMS_URL is not")
		}
		c.SMSToken = v
		return nil
	}},
	{name: "NOTIFY_WORKERS", def: "16", help: "SMS and e-mails the notifier sends at once (more sends faster, and slows intake more)", parse: func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 512 {
			return fmt.Errorf("must be a whole number from 1 to 512")
		}
		c.NotifyWorkers = n
		return nil
	}},
	{name: "NOTIFY_RATE", def: "100", help: "SMS and e-mails the notifier sends a second at most, 0 for no cap (more drains a backlog faster, and slows intake more)", parse: func(c *Config, v string) error {
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 || r > 100000 {
			return fmt.Errorf("must be a number of messages a second from 0 (no cap) to 100000")
		}
		c.NotifyRate = r
		if r == 0 {
			c.NotifyRate = -1
		}
		return nil
	}},
	{name: "DVCQG_URL", help: "national public-service portal's sync address; set = keep the portal's copy of every dossier current", secret: true, parse: func(c *Config, v string) error {
		if v == "" {
			return nil
		}
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("must be an http(s) URL")
		}
		c.Portal.URL = strings.TrimRight(v, "/")
		return nil
	}},
	{name: "DVCQG_USERNAME", help: "the portal sync's user name", parse: func(c *Config, v string) error {
		if c.Portal.URL != "" && v == "" {
			return fmt.Errorf("must be set when DVCQG_URL is")
		}
		c.Portal.Username = v
		return nil
	}},
	{name: "DVCQG_PASSWORD", help: "the portal sync's password", secret: true, parse: func(c *Config, v string) error {
		if c.Portal.URL != "" && v == "" {
			return fmt.Errorf("must be set when DVCQG_URL is")
		}
		c.Portal.Password = v
		return nil
	}},
	{name: "DVCQG_UNIT", help: "the province's or ministry's unit code at the portal (dstcode, madonvi)", parse: func(c *Config, v string) error {
		if c.Portal.URL != "" && v == "" {
			return fmt.Errorf("must be set when DVCQG_URL is")
		}
		c.Portal.Unit = v
		return nil
	}},
	{name: "DVCQG_TIMEOUT", def: "20s", help: "how long one call to the portal may take", parse: func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d < 100*time.Millisecond || d > 5*time.Minute {
			return fmt.Errorf("must be a duration from 100ms to 5m")
		}
		c.Portal.Timeout = d
		return nil
	}},
	{name: "DVCQG_WORKERS", def: "16", help: "dossiers sent to the portal at once (each dossier's calls stay in order)", parse: func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 512 {
			return fmt.Errorf("must be a whole number from 1 to 512")
		}
		c.Portal.Workers = n
		return nil
	}},
	{name: "DVCQG_REFUSAL_CODES", def: "400,422", help: "the portal's error_code values meaning the content is refused (the dossier is parked)", parse: func(c *Config, v string) error {
		c.Portal.RefusalCodes = []int{}
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			n, err := strconv.Atoi(f)
			if err != nil || n == 0 || n == 401 {
				return fmt.Errorf("must be error codes separated by commas (not 0 nor 401)")
			}
			c.Portal.RefusalCodes = append(c.Portal.RefusalCodes, n)
		}
		return nil
	}},
	{name: "SHUTDOWN_TIMEOUT", def: "20s", help: "how long a graceful stop may take", parse: func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("must be a positive duration such as 20s")
		}
		c.ShutdownTimeout = d
		return nil
	}},
}

// jwksCheck sets a claim the JWKS verifier checks: required with JWKS_URL,
// refused without it (the own key's tokens always carry motcua).
func jwksCheck(dst *string, jwksURL, v string) error {
	switch {
	case jwksURL != "" && v == "":
		return fmt.Errorf("must be set when JWKS_URL is (tokens of other applications of the same provider are refused by it)")
	case jwksURL == "" && v != "":
		return fmt.Errorf("is only used with JWKS_URL (the service's own tokens carry iss and aud %q)", auth.OwnIssuer)
	case len(v) > 1000 || strings.ContainsFunc(v, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return fmt.Errorf("must be printable text of at most 1000 bytes")
	}
	*dst = v
	return nil
}

// loadConfig reads the environment through the table.
func loadConfig(getenv func(string) string) (Config, error) {
	var c Config
	for _, s := range settings {
		v, ok := lookup(getenv, s.name)
		if !ok {
			v = s.def
		}
		if err := s.parse(&c, v); err != nil {
			return Config{}, fmt.Errorf("%s: %w", s.name, err)
		}
	}
	return c, nil
}

func lookup(getenv func(string) string, name string) (string, bool) {
	if getenv == nil {
		return os.LookupEnv(name)
	}
	v := getenv(name)
	return v, v != ""
}

// logAttrs lists the configuration with secrets redacted.
func (c Config) logAttrs(getenv func(string) string) []any {
	var out []any
	for _, s := range settings {
		v, ok := lookup(getenv, s.name)
		if !ok {
			v = s.def
		}
		if s.secret && v != "" {
			if s.list {
				v = redactList(v)
			} else {
				v = redact(v)
			}
		}
		out = append(out, s.name, v)
	}
	return out
}

// redactList redacts each URL of a comma-separated list (NATS_URL names
// every server of a cluster, each with its own credentials).
func redactList(v string) string {
	parts := strings.Split(v, ",")
	for i, p := range parts {
		parts[i] = redact(strings.TrimSpace(p))
	}
	return strings.Join(parts, ",")
}

// redact keeps the shape of a URL but hides credentials; other secrets are
// hidden whole. A multi-host PostgreSQL URL (postgres://u:p@h1,h2/db) parses
// with both hosts in Host, so its one user part is hidden too; a value that
// still contains "@" after redaction is hidden whole, so credentials in an
// unexpected shape never reach the log.
func redact(v string) string {
	u, err := url.Parse(v)
	if err == nil && u.Scheme != "" && u.Host != "" && !strings.Contains(u.Host+u.Path, "@") {
		if u.User != nil {
			u.User = url.UserPassword("REDACTED", "REDACTED")
		}
		q := u.Query()
		for k := range q {
			if strings.Contains(strings.ToLower(k), "pass") {
				q.Set(k, "REDACTED")
			}
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	return "REDACTED"
}

package events

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/motcua/motcua/domain"
)

// Defaults of Options.
const (
	DefaultStream     = "DOSSIERS"
	DefaultMaxAge     = 90 * 24 * time.Hour
	DuplicateWindow   = 10 * time.Minute
	connectionName    = "motcua"
	embeddedReadyWait = 30 * time.Second
	drainTimeout      = 10 * time.Second
)

// Options say where NATS is and what the stream is.
type Options struct {
	// URL of an external NATS server (a comma-separated list for a cluster).
	// Empty starts a nats-server with JetStream in this process.
	URL string
	// DataDir is where the in-process server stores its streams (under
	// DataDir/nats). Unused with URL.
	DataDir string
	// Stream is the stream's name; default DOSSIERS.
	Stream string
	// SubjectPrefix comes before every subject ("" in production); tests use
	// a unique one such as "t1234." so they never collide on a shared server.
	SubjectPrefix string
	// MaxAge is how long the stream keeps a message; default 90 days.
	MaxAge time.Duration
	// Replicas of the stream on a clustered server; default 1.
	Replicas int
	// Logger; default slog.Default().
	Logger *slog.Logger
	// Listen is the address ("host:port", port 0 for any free one) the
	// in-process server also accepts clients on, so other programs on the
	// machine (motcua events tail, the nats CLI) can watch the stream; ""
	// accepts none. Its client URL is written to EmbeddedURLFile(DataDir).
	// Unused with URL.
	Listen string
	// BindStream uses the stream as it is, without creating or updating it,
	// for programs that only read it (the events tail and compliance
	// commands): Connect fails when it does not exist.
	BindStream bool
}

// Conn is a connection to NATS with the dossier stream in place.
type Conn struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	ns     *server.Server // nil with an external server
	stream string
	prefix string
	log    *slog.Logger

	closeOnce sync.Once
	closed    chan struct{}

	// urlFile is the in-process server's client URL file, removed at Close.
	urlFile string
}

// Connect connects to NATS (or starts the in-process server) and creates or
// updates the stream.
func Connect(ctx context.Context, o Options) (*Conn, error) {
	o = o.withDefaults()
	if o.SubjectPrefix != "" && (!strings.HasSuffix(o.SubjectPrefix, ".") || !ValidSubject(strings.TrimSuffix(o.SubjectPrefix, "."))) {
		return nil, fmt.Errorf("events: subject prefix %q must be tokens ending with a dot", o.SubjectPrefix)
	}
	c := &Conn{stream: o.Stream, prefix: o.SubjectPrefix, log: o.Logger, closed: make(chan struct{})}
	nc, err := c.dial(ctx, o)
	if err != nil {
		return nil, err
	}
	c.nc = nc
	c.js, err = jetstream.New(nc)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("events: jetstream: %w", err)
	}
	if o.BindStream {
		if _, err := c.js.Stream(ctx, o.Stream); err != nil {
			c.Close()
			return nil, fmt.Errorf("events: stream %s: %w", o.Stream, err)
		}
		return c, nil
	}
	cfg := jetstream.StreamConfig{
		Name:        o.Stream,
		Description: "Facts about one-stop-shop dossiers (CloudEvents 1.0, structured JSON)",
		Subjects:    []string{o.SubjectPrefix + domain.SubjectRoot + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Discard:     jetstream.DiscardOld,
		MaxAge:      o.MaxAge,
		Duplicates:  DuplicateWindow,
		Replicas:    o.Replicas,
	}
	if _, err := c.js.CreateOrUpdateStream(ctx, cfg); err != nil {
		c.Close()
		return nil, fmt.Errorf("events: create or update stream %s: %w", o.Stream, err)
	}
	return c, nil
}

func (o Options) withDefaults() Options {
	if o.Stream == "" {
		o.Stream = DefaultStream
	}
	if o.MaxAge <= 0 {
		o.MaxAge = DefaultMaxAge
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// natsOptions are the connection's options: a name, reconnecting for ever,
// and its events logged.
func (c *Conn) natsOptions() []nats.Option {
	return []nats.Option{
		nats.Name(connectionName),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.DrainTimeout(drainTimeout),
		nats.DisconnectErrHandler(func(nc *nats.Conn, err error) {
			if err != nil {
				c.log.Warn("nats disconnected", "url", redactURL(nc.ConnectedUrlRedacted()), "err", err)
			} else {
				c.log.Info("nats disconnected")
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			c.log.Info("nats reconnected", "url", redactURL(nc.ConnectedUrlRedacted()))
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			c.log.Warn("nats error", "err", err)
		}),
		nats.ClosedHandler(func(*nats.Conn) { close(c.closed) }),
	}
}

// dial connects to o.URL, or starts the in-process server and connects to it.
func (c *Conn) dial(ctx context.Context, o Options) (*nats.Conn, error) {
	opts := c.natsOptions()
	if o.URL != "" {
		nc, err := nats.Connect(o.URL, opts...)
		if err != nil {
			return nil, fmt.Errorf("events: connect to %s: %w", redactURL(o.URL), err)
		}
		c.log.Info("nats connected", "url", redactURL(nc.ConnectedUrlRedacted()))
		return nc, nil
	}
	ns, token, err := startServer(ctx, o)
	if err != nil {
		return nil, err
	}
	c.ns = ns
	if o.Listen != "" {
		c.urlFile = EmbeddedURLFile(o.DataDir)
		opts = append(opts, nats.Token(token))
	}
	nc, err := nats.Connect("", append(opts, nats.InProcessServer(ns))...)
	if err != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("events: connect to the in-process nats-server: %w", err)
	}
	return nc, nil
}

// EmbeddedURLFile is where the in-process server, when it listens, writes
// its client URL for other programs of the same data directory.
func EmbeddedURLFile(dataDir string) string { return filepath.Join(dataDir, "nats", "client-url") }

// EmbeddedURL reads the client URL the in-process server of a data directory
// wrote, or "" when it wrote none.
func EmbeddedURL(dataDir string) string {
	b, err := os.ReadFile(EmbeddedURLFile(dataDir))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// startServer starts the in-process server. When it listens, clients need
// the token it returns (random at each start), which the URL file carries
// (readable by the service's user only): other users of the machine can
// neither read the stream nor publish into it.
func startServer(ctx context.Context, o Options) (*server.Server, string, error) {
	if o.DataDir == "" {
		return nil, "", errors.New("events: no NATS URL and no data directory for the in-process server")
	}
	sopts := &server.Options{
		ServerName: "motcua-embedded",
		JetStream:  true,
		StoreDir:   filepath.Join(o.DataDir, "nats"),
		DontListen: true,
		NoSigs:     true,
		NoLog:      true,
	}
	var token string
	if o.Listen != "" {
		host, port, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, "", fmt.Errorf("events: listen address %q: %w", o.Listen, err)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p < 0 || p > 65535 {
			return nil, "", fmt.Errorf("events: listen address %q: bad port", o.Listen)
		}
		if p == 0 {
			p = server.RANDOM_PORT
		}
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, "", err
		}
		token = hex.EncodeToString(b)
		sopts.DontListen, sopts.Host, sopts.Port, sopts.Authorization = false, host, p, token
	}
	ns, err := server.NewServer(sopts)
	if err != nil {
		return nil, "", fmt.Errorf("events: in-process nats-server: %w", err)
	}
	debug := o.Logger.Enabled(context.Background(), slog.LevelDebug)
	ns.SetLoggerV2(serverLogger{o.Logger}, debug, false, false)
	go ns.Start()
	wait := embeddedReadyWait
	if d, ok := ctx.Deadline(); ok {
		wait = max(min(wait, time.Until(d)), 100*time.Millisecond)
	}
	if !ns.ReadyForConnections(wait) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, "", fmt.Errorf("events: in-process nats-server not ready after %s", wait)
	}
	file := EmbeddedURLFile(o.DataDir)
	if o.Listen == "" {
		_ = os.Remove(file)
		return ns, "", nil
	}
	url := ns.ClientURL()
	withToken := strings.Replace(url, "://", "://"+token+"@", 1)
	if err := os.WriteFile(file, []byte(withToken+"\n"), 0o600); err != nil {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, "", fmt.Errorf("events: write %s: %w", file, err)
	}
	o.Logger.Info("embedded nats listening (its URL with the token in url_file)", "url", url, "url_file", file)
	return ns, token, nil
}

// JetStream returns the JetStream context.
func (c *Conn) JetStream() jetstream.JetStream { return c.js }

// NATS returns the core connection.
func (c *Conn) NATS() *nats.Conn { return c.nc }

// StreamName is the stream's name.
func (c *Conn) StreamName() string { return c.stream }

// SubjectPrefix is put before every subject ("" in production).
func (c *Conn) SubjectPrefix() string { return c.prefix }

// Ping reports whether the connection is up and the stream answers, within
// ctx (for /readyz).
func (c *Conn) Ping(ctx context.Context) error {
	if s := c.nc.Status(); s != nats.CONNECTED {
		return fmt.Errorf("events: nats connection %s", s)
	}
	if _, err := c.js.Stream(ctx, c.stream); err != nil {
		return fmt.Errorf("events: stream %s: %w", c.stream, err)
	}
	return nil
}

// Close drains the connection and stops the in-process server, waiting for
// both. It may be called more than once.
func (c *Conn) Close() {
	c.closeOnce.Do(func() {
		if c.nc != nil {
			if err := c.nc.Drain(); err != nil {
				c.nc.Close()
			}
			select {
			case <-c.closed:
			case <-time.After(drainTimeout + time.Second):
				c.nc.Close()
			}
		}
		if c.ns != nil {
			c.ns.Shutdown()
			c.ns.WaitForShutdown()
		}
		if c.urlFile != "" {
			_ = os.Remove(c.urlFile)
		}
	})
}

// redactURL removes user names, passwords and tokens from a (comma-separated
// list of) NATS URL(s), so they can be logged.
func redactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		scheme, rest := "", p
		if j := strings.Index(p, "://"); j >= 0 {
			scheme, rest = p[:j+3], p[j+3:]
		}
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			rest = "redacted@" + rest[at+1:]
		}
		parts[i] = scheme + rest
	}
	return strings.Join(parts, ",")
}

// serverLogger sends the in-process server's log to slog: notices and debug
// lines at debug level (no noise otherwise), warnings and errors as such.
type serverLogger struct{ l *slog.Logger }

func (s serverLogger) Noticef(f string, v ...any) { s.l.Debug("nats-server: " + fmt.Sprintf(f, v...)) }
func (s serverLogger) Warnf(f string, v ...any)   { s.l.Warn("nats-server: " + fmt.Sprintf(f, v...)) }
func (s serverLogger) Fatalf(f string, v ...any)  { s.l.Error("nats-server: " + fmt.Sprintf(f, v...)) }
func (s serverLogger) Errorf(f string, v ...any)  { s.l.Error("nats-server: " + fmt.Sprintf(f, v...)) }
func (s serverLogger) Debugf(f string, v ...any)  { s.l.Debug("nats-server: " + fmt.Sprintf(f, v...)) }
func (s serverLogger) Tracef(f string, v ...any)  { s.l.Debug("nats-server: " + fmt.Sprintf(f, v...)) }

package eventstest

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Server is a nats-server with JetStream run by a test in its own process,
// listening on a random 127.0.0.1 port (unlike the service's in-process
// server, which does not listen), so a client can lose it and reconnect.
// Stop and Start take it down and bring it back on the same port with the
// same store.
type Server struct {
	t    testing.TB
	mu   sync.Mutex
	opts server.Options
	ns   *server.Server
}

// StartServer starts a server storing under dir (t.TempDir() when empty),
// shut down when the test ends.
func StartServer(t testing.TB, dir string) *Server {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s := &Server{t: t, opts: server.Options{
		ServerName: "motcua-test",
		Host:       "127.0.0.1",
		Port:       -1,
		JetStream:  true,
		StoreDir:   dir,
		NoSigs:     true,
		NoLog:      true,
	}}
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start starts the server (again); a restart keeps the first start's port.
func (s *Server) Start() {
	s.t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ns != nil {
		return
	}
	opts := s.opts
	ns, err := server.NewServer(&opts)
	if err != nil {
		s.t.Fatalf("nats-server %s: %v", s.opts.ServerName, err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(setupTimeout) {
		ns.Shutdown()
		s.t.Fatalf("nats-server %s not ready in %s", s.opts.ServerName, setupTimeout)
	}
	if s.opts.Port <= 0 {
		s.opts.Port = ns.Addr().(*net.TCPAddr).Port
	}
	s.ns = ns
}

// Stop shuts the server down and waits for it; stopping a stopped server
// does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ns == nil {
		return
	}
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
	s.ns = nil
}

// Running reports whether the server is up.
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ns != nil
}

// URL is the client URL, the same across restarts.
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return fmt.Sprintf("nats://127.0.0.1:%d", s.opts.Port)
}

// Name is the server's name (as in a stream's cluster info).
func (s *Server) Name() string { return s.opts.ServerName }

// NATSServer returns the running server, or nil.
func (s *Server) NATSServer() *server.Server {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ns
}

// Cluster is n servers with JetStream joined by routes, each listening on
// 127.0.0.1.
type Cluster struct {
	Servers []*Server
}

// StartCluster starts an n-node JetStream cluster, shut down when the test
// ends, and waits until it has elected its metadata leader.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	ports := freePorts(t, n)
	var routes []*url.URL
	for _, p := range ports {
		routes = append(routes, &url.URL{Scheme: "nats", Host: fmt.Sprintf("127.0.0.1:%d", p)})
	}
	dir := t.TempDir()
	c := &Cluster{}
	for i := range n {
		s := &Server{t: t, opts: server.Options{
			ServerName: fmt.Sprintf("n%d", i+1),
			Host:       "127.0.0.1",
			Port:       -1,
			JetStream:  true,
			StoreDir:   filepath.Join(dir, fmt.Sprintf("n%d", i+1)),
			NoSigs:     true,
			NoLog:      true,
			Cluster:    server.ClusterOpts{Name: "motcua-test", Host: "127.0.0.1", Port: ports[i]},
			Routes:     routes,
		}}
		c.Servers = append(c.Servers, s)
	}
	// Started together: a node waits for its peers before it is ready.
	var wg sync.WaitGroup
	for _, s := range c.Servers {
		wg.Add(1)
		go func() { defer wg.Done(); s.startQuiet() }()
	}
	wg.Wait()
	for _, s := range c.Servers {
		if s.NATSServer() == nil {
			t.Fatalf("cluster node %s did not start", s.Name())
		}
		t.Cleanup(s.Stop)
	}
	deadline := time.Now().Add(setupTimeout)
	for {
		leader := false
		for _, s := range c.Servers {
			if ns := s.NATSServer(); ns != nil && ns.JetStreamIsLeader() {
				leader = true
			}
		}
		if leader {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("cluster elected no JetStream leader in %s", setupTimeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return c
}

// startQuiet starts the server from a goroutine other than the test's: it
// records a failure instead of calling Fatal.
func (s *Server) startQuiet() {
	opts := s.opts
	ns, err := server.NewServer(&opts)
	if err != nil {
		s.t.Errorf("nats-server %s: %v", s.opts.ServerName, err)
		return
	}
	go ns.Start()
	if !ns.ReadyForConnections(setupTimeout) {
		ns.Shutdown()
		s.t.Errorf("nats-server %s not ready in %s", s.opts.ServerName, setupTimeout)
		return
	}
	s.mu.Lock()
	s.opts.Port = ns.Addr().(*net.TCPAddr).Port
	s.ns = ns
	s.mu.Unlock()
}

// URLs lists the client URLs of every node, comma-separated.
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.Servers))
	for i, s := range c.Servers {
		urls[i] = s.URL()
	}
	return strings.Join(urls, ",")
}

// Server returns the node of that name, or nil.
func (c *Cluster) Server(name string) *Server {
	for _, s := range c.Servers {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

// freePorts finds n free TCP ports on 127.0.0.1 (free when asked: another
// program could take one before the server does, which is unlikely).
func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var lns []net.Listener
	defer func() {
		for _, l := range lns {
			l.Close()
		}
	}()
	ports := make([]int, n)
	for i := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, l)
		ports[i] = l.Addr().(*net.TCPAddr).Port
	}
	return ports
}

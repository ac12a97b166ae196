package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/motcua/motcua/auth"
	"github.com/motcua/motcua/domain"
)

// benchOptions drive the load tool.
type benchOptions struct {
	url         string
	duration    time.Duration
	connections int
	scenarios   []string
	dossiers    int
	agency      string
	rate        int // commands a second in the stream scenario
}

// bench drives a running service with realistic traffic and prints, per
// scenario, requests per second, latency quantiles, errors and the server's
// resident memory, each rate also as a ratio to /healthz of the same server
// measured first in the same run.
func bench(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o benchOptions
	var scen string
	fs.StringVar(&o.url, "url", "http://127.0.0.1:8080", "base URL of the running service")
	fs.DurationVar(&o.duration, "duration", 10*time.Second, "length of each scenario")
	fs.IntVar(&o.connections, "connections", 32, "concurrent connections")
	fs.StringVar(&scen, "scenarios", "healthz,lookup,intake,transition,mix", "comma-separated: healthz, lookup, intake, transition, mix, stream")
	fs.IntVar(&o.rate, "rate", 500, "stream: commands a second, paced")
	fs.IntVar(&o.dossiers, "dossiers", 2000, "dossiers taken in first, whose codes and PINs the look-ups use")
	fs.StringVar(&o.agency, "agency", "000.00.90.B01", "receiving unit the tool creates and uses")
	if err := fs.Parse(args); err != nil {
		return fmt.Errorf("bench: %w (usage: motcua bench [--url U] [--duration 10s] [--connections 32] [--scenarios ...] [--rate 500])", err)
	}
	if o.rate <= 0 || o.connections <= 0 || o.duration <= 0 {
		return errors.New("bench: --rate, --connections and --duration must be positive")
	}
	o.scenarios = strings.Split(scen, ",")
	key, err := signingKey(cfg)
	if err != nil {
		return err
	}
	b, err := newBencher(o, key)
	if err != nil {
		return err
	}
	if err := b.setup(ctx); err != nil {
		return fmt.Errorf("bench setup: %w", err)
	}
	fmt.Fprintf(stdout, "%-11s %10s %9s %9s %9s %9s %7s %10s %8s\n", "scenario", "req/s", "p50", "p90", "p99", "max", "errors", "vs healthz", "rss MB")
	var ceiling float64
	for _, name := range append([]string{"healthz"}, without(o.scenarios, "healthz")...) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var (
			r   benchResult
			err error
		)
		if name == "stream" {
			var st streamStats
			if r, st, err = b.streamRun(ctx, cfg); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "# stream: %d commands (intakes and transfers, alternately) paced at %d/s took %v; %d of their events came from the stream;"+
				" the quantiles below are commit to stream\n", st.commands, b.o.rate, st.paced.Round(time.Millisecond), st.events)
			own := benchResult{latencies: st.own}
			fmt.Fprintf(stdout, "# stream: the commands themselves (sent to answered; a transfer with its read), within those quantiles: p50 %s, p90 %s, p99 %s\n",
				ms(own.q(0.5)), ms(own.q(0.9)), ms(own.q(0.99)))
		} else if r, err = b.run(ctx, name); err != nil {
			return err
		}
		if name == "healthz" {
			ceiling = r.rate
		}
		ratio := "-"
		if ceiling > 0 && name != "stream" {
			ratio = fmt.Sprintf("%.2fx", r.rate/ceiling)
		}
		if n := b.refills.Swap(0); n > 0 {
			fmt.Fprintf(stdout, "# %s: %d of its operations found no open dossier and were intakes (more --dossiers, or a shorter run)\n", name, n)
		}
		fmt.Fprintf(stdout, "%-11s %10.0f %9s %9s %9s %9s %7d %10s %8.0f\n", name, r.rate, ms(r.q(0.5)), ms(r.q(0.9)), ms(r.q(0.99)),
			ms(r.q(1)), r.errors, ratio, b.rssMB(ctx))
	}
	return nil
}

func without(list []string, drop string) []string {
	var out []string
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" && s != drop {
			out = append(out, s)
		}
	}
	return out
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 2, 64) + "ms"
}

type bencher struct {
	o       benchOptions
	client  *http.Client
	admin   string
	clerk   string
	officer string
	mu      sync.Mutex
	pins    []codePIN
	open    []string     // dossiers received, for transitions
	refills atomic.Int64 // transitions that found no open dossier and took one in instead
}

type codePIN struct{ code, pin string }

func newBencher(o benchOptions, key []byte) (*bencher, error) {
	tok := func(role domain.Role, agency string) (string, error) {
		return auth.Issue(key, domain.Actor{Sub: "bench-" + string(role), Roles: []domain.Role{role}, Agency: agency}, 2*time.Hour, time.Now())
	}
	b := &bencher{o: o, client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.connections * 2, MaxIdleConnsPerHost: o.connections * 2, IdleConnTimeout: time.Minute}}}
	var err error
	if b.admin, err = tok(domain.RoleAdmin, o.agency); err != nil {
		return nil, err
	}
	if b.clerk, err = tok(domain.RoleClerk, o.agency); err != nil {
		return nil, err
	}
	if b.officer, err = tok(domain.RoleOfficer, o.agency); err != nil {
		return nil, err
	}
	return b, nil
}

func (b *bencher) do(ctx context.Context, method, path, token string, body any) (int, []byte, error) {
	var r io.Reader
	if body != nil {
		j, _ := json.Marshal(body)
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.o.url+path, r)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := b.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, err
}

// benchProcedures is how many procedures the intakes spread over: the
// reports' roll-ups serialise the commands of one procedure and lead agency,
// and a one-stop unit takes in many procedures at once.
const benchProcedures = 20

func benchProcedure(i int) string { return fmt.Sprintf("9.0000%02d", i) }

func benchIntake(rng *rand.Rand) map[string]any {
	return map[string]any{"procedure_code": benchProcedure(1 + rng.IntN(benchProcedures)), "channel": "counter", "delivery": "counter",
		"applicant": map[string]any{"name": "Người thử tải", "id_number": "000000000000"}, "documents": []string{"Tờ khai"}}
}

// setup creates the tool's own unit and procedures (one step held by the
// same unit) and takes dossiers in for the look-ups.
func (b *bencher) setup(ctx context.Context) error {
	type put struct {
		path string
		body any
	}
	puts := []put{{"/api/v1/agencies/" + b.o.agency, map[string]any{"name": "Đơn vị thử tải"}}}
	for i := 1; i <= benchProcedures; i++ {
		puts = append(puts, put{"/api/v1/procedures/" + benchProcedure(i), map[string]any{"name": "Thủ tục thử tải", "agency_code": b.o.agency,
			"duration": map[string]any{"working_days": 10}, "supplement_clock": "pause", "online": "none"}})
	}
	for _, s := range puts {
		status, body, err := b.do(ctx, http.MethodPut, s.path, b.admin, s.body)
		if err != nil {
			return err
		}
		if status/100 != 2 {
			return fmt.Errorf("PUT %s: %d %s", s.path, status, body)
		}
	}
	jobs := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Int32
	for w := 0; w < b.o.connections; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b9))
			for range jobs {
				if err := b.intake(ctx, rng); err != nil {
					failed.Add(1)
				}
			}
		}(uint64(w + 1))
	}
	for i := 0; i < b.o.dossiers; i++ {
		jobs <- struct{}{}
	}
	close(jobs)
	wg.Wait()
	if failed.Load() > 0 {
		return fmt.Errorf("%d intakes failed", failed.Load())
	}
	return nil
}

func (b *bencher) intake(ctx context.Context, rng *rand.Rand) error {
	status, body, err := b.do(ctx, http.MethodPost, "/api/v1/dossiers", b.clerk, benchIntake(rng))
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return fmt.Errorf("intake: %d %s", status, body)
	}
	var d struct {
		Code string `json:"code"`
		PIN  string `json:"lookup_pin"`
	}
	if err := json.Unmarshal(body, &d); err != nil {
		return err
	}
	b.mu.Lock()
	b.pins = append(b.pins, codePIN{d.Code, d.PIN})
	b.open = append(b.open, d.Code)
	b.mu.Unlock()
	return nil
}

func (b *bencher) lookup(ctx context.Context, rng *rand.Rand) error {
	b.mu.Lock()
	p := b.pins[rng.IntN(len(b.pins))]
	b.mu.Unlock()
	// Citizens come from many addresses: each look-up names one of 65,536
	// through X-Forwarded-For (honoured when the service trusts the tool's
	// address, TRUSTED_PROXIES=127.0.0.1/32 as scripts/bench.sh sets), so the
	// per-address PIN limits (30 attempts in flight or failed an hour) do not
	// refuse 32 concurrent connections from one address.
	n := rng.IntN(1 << 16)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.o.url+"/api/v1/public/dossiers/"+p.code+"?pin="+p.pin, nil)
	if err != nil {
		return err
	}
	req.Header.Set("X-Forwarded-For", fmt.Sprintf("10.9.%d.%d", n>>8, n&0xff))
	res, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return err
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("look-up: %d %s", res.StatusCode, body)
	}
	return nil
}

// transition moves a received dossier into processing (transfer), reading its
// version first as a clerk's counter application does.
func (b *bencher) transition(ctx context.Context, rng *rand.Rand) error {
	b.mu.Lock()
	if len(b.open) == 0 {
		b.mu.Unlock()
		b.refills.Add(1)
		return b.intake(ctx, rng) // keep the pool filled
	}
	code := b.open[len(b.open)-1]
	b.open = b.open[:len(b.open)-1]
	b.mu.Unlock()
	status, body, err := b.do(ctx, http.MethodGet, "/api/v1/dossiers/"+code, b.clerk, nil)
	if err != nil {
		return err
	}
	var d struct {
		Version int `json:"version"`
	}
	if status != http.StatusOK || json.Unmarshal(body, &d) != nil {
		return fmt.Errorf("read: %d %s", status, body)
	}
	status, body, err = b.do(ctx, http.MethodPost, "/api/v1/dossiers/"+code+"/transitions", b.clerk, map[string]any{"action": "transfer", "version": d.Version})
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("transfer: %d %s", status, body)
	}
	return nil
}

type benchResult struct {
	rate      float64
	errors    int
	latencies []time.Duration
}

func (r benchResult) q(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[int(p*float64(len(r.latencies)-1))]
}

// benchOp is one request (or pair of requests) of a scenario.
type benchOp func(context.Context, *rand.Rand) error

// op is the scenario's request.
func (b *bencher) op(name string) (benchOp, error) {
	var op benchOp
	switch name {
	case "healthz":
		op = func(ctx context.Context, _ *rand.Rand) error {
			status, _, err := b.do(ctx, http.MethodGet, "/healthz", "", nil)
			if err == nil && status != http.StatusOK {
				err = fmt.Errorf("healthz: %d", status)
			}
			return err
		}
	case "lookup":
		op = b.lookup
	case "intake":
		op = b.intake
	case "transition":
		op = b.transition
	case "mix":
		// The look-up page dominates: 80% look-ups, 10% intakes, 10% transitions.
		op = func(ctx context.Context, rng *rand.Rand) error {
			switch n := rng.IntN(10); {
			case n == 0:
				return b.intake(ctx, rng)
			case n == 1:
				return b.transition(ctx, rng)
			default:
				return b.lookup(ctx, rng)
			}
		}
	default:
		return nil, fmt.Errorf("bench: unknown scenario %q", name)
	}
	return op, nil
}

// run drives one scenario for the duration on a fixed number of connections.
func (b *bencher) run(ctx context.Context, name string) (benchResult, error) {
	op, err := b.op(name)
	if err != nil {
		return benchResult{}, err
	}
	runCtx, cancel := context.WithTimeout(ctx, b.o.duration)
	defer cancel()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		all    []time.Duration
		errs   int
		sample error
	)
	start := time.Now()
	for w := 0; w < b.o.connections; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, seed*7919))
			var local []time.Duration
			localErrs := 0
			var firstErr error
			for runCtx.Err() == nil {
				t0 := time.Now()
				err := op(runCtx, rng)
				if runCtx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
					break
				}
				if err != nil {
					localErrs++
					if firstErr == nil {
						firstErr = err
					}
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			all = append(all, local...)
			errs += localErrs
			if sample == nil {
				sample = firstErr
			}
			mu.Unlock()
		}(uint64(w + 1))
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	if sample != nil {
		fmt.Printf("# %s: first error: %v\n", name, sample)
	}
	return benchResult{rate: float64(len(all)) / elapsed.Seconds(), errors: errs, latencies: all}, nil
}

// rssMB reads the server's resident memory from its /metrics.
func (b *bencher) rssMB(ctx context.Context) float64 {
	status, body, err := b.do(ctx, http.MethodGet, "/metrics", "", nil)
	if err != nil || status != http.StatusOK {
		return 0
	}
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_resident_memory_bytes "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f / (1 << 20)
		}
	}
	return 0
}

// Package admin is the worker's admin HTTP listener: /metrics from an injected
// prometheus.Gatherer, /healthz (200 while the process can answer at all) and /readyz (200
// only when every registered readiness check passes, 503 with a JSON body naming the
// failing ones otherwise).
//
// The worker registers one Condition per startup step it must finish before it can do
// useful work (contracts compiled, AWS clients built, KCL worker started), sets each when
// the step is done, and clears "worker" again when it begins to shut down, so that a load
// balancer or Kubernetes stops counting on it while it drains.
package admin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// CheckTimeout bounds one readiness check; a check still running after it counts as failed.
const CheckTimeout = 2 * time.Second

// Check reports whether one readiness condition holds: nil when it does, an error saying
// why not otherwise. It must honour ctx and be safe to call concurrently.
type Check func(ctx context.Context) error

// Server is the admin HTTP server. Create it with New, register checks, then Start it.
// All methods are safe for concurrent use.
type Server struct {
	gatherer prometheus.Gatherer
	logger   *slog.Logger

	mu     sync.Mutex
	checks map[string]Check
	srv    *http.Server
	ln     net.Listener
	done   chan struct{} // closed when Serve returned
	err    error         // Serve's error, if not http.ErrServerClosed
}

// New returns a Server serving metrics from g. A nil logger means slog.Default().
func New(g prometheus.Gatherer, logger *slog.Logger) *Server {
	if logger == nil {
		logger = slog.Default()
	}
	return &Server{gatherer: g, logger: logger, checks: map[string]Check{}}
}

// AddCheck registers a readiness check under name. It panics if name is already taken:
// two steps reporting under one name is a programming error.
func (s *Server) AddCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.checks[name]; dup {
		panic(fmt.Sprintf("admin: readiness check %q registered twice", name))
	}
	s.checks[name] = c
}

// Condition registers a readiness check under name whose state is set by the caller. It
// starts failing with ErrNotReady until Set(nil) is called.
func (s *Server) Condition(name string) *Condition {
	c := &Condition{err: ErrNotReady}
	s.AddCheck(name, func(context.Context) error { return c.get() })
	return c
}

// Condition is a readiness check that holds the outcome of a step rather than probing.
type Condition struct {
	mu  sync.Mutex
	err error
}

// Set records the condition's state: nil means ready, an error means not ready and why.
func (c *Condition) Set(err error) {
	c.mu.Lock()
	c.err = err
	c.mu.Unlock()
}

func (c *Condition) get() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Handler returns the HTTP handler with every endpoint, for tests and for mounting the
// endpoints in another server.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.gatherer, promhttp.HandlerOpts{
		ErrorLog:            promLogger{s.logger},
		ErrorHandling:       promhttp.ContinueOnError,
		MaxRequestsInFlight: 4,
		Timeout:             10 * time.Second,
	}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", s.serveReady)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "meshgate admin: /metrics /healthz /readyz")
	})
	return mux
}

// CheckResult is one entry of the /readyz body.
type CheckResult struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// Readiness is the /readyz body.
type Readiness struct {
	Status  string        `json:"status"` // "ready" or "not ready"
	Checks  []CheckResult `json:"checks"` // every check, sorted by name
	Failing []string      `json:"failing,omitempty"`
}

// Ready runs every registered check concurrently, each bounded by CheckTimeout, and
// returns the result. With no checks registered the server is ready.
func (s *Server) Ready(ctx context.Context) Readiness {
	s.mu.Lock()
	names := make([]string, 0, len(s.checks))
	for n := range s.checks {
		names = append(names, n)
	}
	checks := make([]Check, len(names))
	sort.Strings(names)
	for i, n := range names {
		checks[i] = s.checks[n]
	}
	s.mu.Unlock()

	results := make([]CheckResult, len(names))
	var wg sync.WaitGroup
	for i := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := runCheck(ctx, checks[i])
			results[i] = CheckResult{Name: names[i], OK: err == nil}
			if err != nil {
				results[i].Error = err.Error()
			}
		}()
	}
	wg.Wait()
	r := Readiness{Status: "ready", Checks: results}
	for _, c := range results {
		if !c.OK {
			r.Failing = append(r.Failing, c.Name)
		}
	}
	if len(r.Failing) > 0 {
		r.Status = "not ready"
	}
	return r
}

// runCheck runs c with a timeout and turns a panic or an overrun into an error.
func runCheck(ctx context.Context, c Check) (err error) {
	ctx, cancel := context.WithTimeout(ctx, CheckTimeout)
	defer cancel()
	res := make(chan error, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				res <- fmt.Errorf("check panicked: %v", p)
			}
		}()
		res <- c(ctx)
	}()
	select {
	case err := <-res:
		return err
	case <-ctx.Done():
		return fmt.Errorf("check did not answer: %w", ctx.Err())
	}
}

func (s *Server) serveReady(w http.ResponseWriter, r *http.Request) {
	res := s.Ready(r.Context())
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if len(res.Failing) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	if err := json.NewEncoder(w).Encode(res); err != nil {
		s.logger.Debug("write /readyz response", "err", err)
	}
}

// Start listens on addr (host:port; port 0 picks a free one, see Addr) and serves in the
// background until Shutdown. ctx bounds only the listen call. A listen error, such as the
// port being in use, is returned here rather than later.
func (s *Server) Start(ctx context.Context, addr string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return ErrAlreadyStarted
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("admin listen on %s: %w", addr, err)
	}
	s.ln = ln
	s.srv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	s.done = make(chan struct{})
	srv, done := s.srv, s.done
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("admin server stopped", "addr", ln.Addr().String(), "err", err)
			s.mu.Lock()
			s.err = err
			s.mu.Unlock()
		}
	}()
	s.logger.Info("admin server listening", "addr", ln.Addr().String())
	return nil
}

// Addr returns the address the server listens on, or "" before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Shutdown stops accepting connections and waits for in-flight requests until ctx ends,
// then closes what is left. It is idempotent and a no-op before Start. It returns the
// error that stopped serving early, if any, or ctx's error if the wait was cut short.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	srv, done := s.srv, s.done
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	err := srv.Shutdown(ctx)
	if err != nil {
		_ = srv.Close()
	}
	<-done
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	return err
}

// promLogger adapts slog to promhttp's logger interface.
type promLogger struct{ l *slog.Logger }

func (p promLogger) Println(v ...any) { p.l.Error("serve /metrics", "err", fmt.Sprint(v...)) }

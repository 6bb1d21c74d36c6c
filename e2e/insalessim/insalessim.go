// Package insalessim is an in-process simulator of the InSales group update
// of variants (PUT /admin/products/variants_group_update.json) for tests
// and demos. It checks HTTP Basic auth and the JSON body, enforces the
// shop's limit of requests per window on a configurable clock, sets
// API-Usage-Limit on every response, lists each variant with its status, and
// records the final quantity and prices of each variant.
package insalessim

import (
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"obmenhub/e2e/simkit"
)

// Clock is the simulator's time source; retry.ManualClock and
// retry.ScaledClock satisfy it.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Defaults of Config fields.
const (
	DefaultLogin             = "sim-login"
	DefaultPassword          = "sim-password"
	DefaultRequestsPerWindow = 500
	DefaultWindow            = 5 * time.Minute
)

// MaxVariantsPerRequest is the most variants the server takes in one group
// update; a longer array is rejected with 400.
const MaxVariantsPerRequest = 100

// Config configures a Server.
type Config struct {
	// Login and Password are the HTTP Basic credentials the server
	// accepts. Defaults "sim-login" and "sim-password".
	Login    string
	Password string
	// RequestsPerWindow is the shop's limit of requests per window.
	// Default 500, the InSales limit.
	RequestsPerWindow int
	// Window is the length of the limit's window, which starts at the
	// first request of a series. Default 5 min, the InSales window.
	Window time.Duration
	// ObserveRateOnly counts requests over the limit without responding with 503.
	ObserveRateOnly bool
	// Clock is the time source of the limit. Default the wall clock.
	Clock Clock
	// KnownVariantIDs, when not nil, is the set of variant ids that exist;
	// any other is listed in the response with status "error". Nil accepts all.
	KnownVariantIDs []int64
	// Logger receives one line per rejected request. Default slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Login == "" {
		c.Login = DefaultLogin
	}
	if c.Password == "" {
		c.Password = DefaultPassword
	}
	if c.RequestsPerWindow == 0 {
		c.RequestsPerWindow = DefaultRequestsPerWindow
	}
	if c.Window == 0 {
		c.Window = DefaultWindow
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

// Stats are the server's counters since it started.
type Stats struct {
	// Requests is every request received, on any path.
	Requests int
	// AbortedRequests is the number of requests whose body ended early
	// because the client went away.
	AbortedRequests int
	// Updated is the number of variants updated.
	Updated int
	// ItemErrors is the number of variants reported with status "error".
	ItemErrors int
	// ServiceUnavailable is the number of 503 responses sent because the
	// limit was reached.
	ServiceUnavailable int
	// RateViolations is the number of requests over the limit, whether
	// rejected with 503 or let through (ObserveRateOnly).
	RateViolations int
	// ValidationFailures is the number of requests with an invalid body.
	ValidationFailures int
	// AuthFailures is the number of requests with wrong or no credentials.
	AuthFailures int
	// InjectedFailures is the number of 500 responses sent by FailNext.
	InjectedFailures int
}

// Variant is the state of one variant that requests have set.
type Variant struct {
	// Quantity is the last quantity set, nil when none was.
	Quantity *int64
	// Price and OldPrice are the last values set, as the JSON text sent,
	// such as `"1234.50"` with the quotes or `null`. Empty when never set.
	Price    string
	OldPrice string
}

// Update is one accepted change of a variant, in arrival order. Fields
// that the request did not set are nil or empty.
type Update struct {
	Quantity *int64
	// Price and OldPrice are the JSON text sent, as in Variant.
	Price    string
	OldPrice string
	// Agent is the request's User-Agent, which names the hub instance.
	Agent string
	At    time.Time
}

// Server is a running simulator.
type Server struct {
	// URL is the base URL of the server, such as http://127.0.0.1:41234.
	URL string

	cfg    Config
	known  map[int64]bool
	server *simkit.Server
	faults simkit.Faults

	mu        sync.Mutex
	variants  map[int64]Variant
	history   map[int64][]Update
	agents    []string
	used      int       // requests counted in the current window
	windowEnd time.Time // zero when no series has started
	stats     Stats
}

// Start listens on addr, which must be a loopback address such as
// 127.0.0.1:8083 (port 0 picks a free port), and serves until Close.
func Start(addr string, cfg Config) (*Server, error) {
	cfg.setDefaults()
	server, err := simkit.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("insalessim: %w", err)
	}

	s := &Server{
		URL:      server.URL,
		cfg:      cfg,
		server:   server,
		variants: map[int64]Variant{},
		history:  map[int64][]Update{},
	}
	s.known = simkit.SetOf(cfg.KnownVariantIDs)

	s.server.Serve(s.Handler())
	return s, nil
}

// NewTest starts a server on a free loopback port and closes it when the
// test ends.
func NewTest(t testing.TB, cfg Config) *Server {
	t.Helper()
	return simkit.StartTest(t, "insales simulator", func(addr string) (*Server, error) {
		return Start(addr, cfg)
	})
}

// Close stops the server and returns the error that ended serving, if any.
func (s *Server) Close() error {
	return s.server.Close()
}

// FailNext makes the next n authenticated group updates within the limit
// fail with 500 Internal Server Error. They count against the limit.
func (s *Server) FailNext(n int) {
	s.faults.FailNext(n)
}

// DelayNext makes the next group update wait d of real time before it is
// handled, to let a client time out.
func (s *Server) DelayNext(d time.Duration) {
	s.faults.DelayNext(d)
}

// UseBudget counts n requests against the current window as if other apps
// of the shop had sent them, starting a series when none is running.
func (s *Server) UseBudget(n int) {
	now := s.cfg.Clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rollWindow(now)
	if s.windowEnd.IsZero() {
		s.windowEnd = now.Add(s.cfg.Window)
	}
	s.used += n
}

// Stock returns the quantity last set for the variant id (decimal).
func (s *Server) Stock(variantID string) (int64, bool) {
	v, ok := s.variant(variantID)
	if !ok || v.Quantity == nil {
		return 0, false
	}
	return *v.Quantity, true
}

// Price returns the price and old price last set for the variant id
// (decimal), as the JSON text sent.
func (s *Server) Price(variantID string) (price, oldPrice string, ok bool) {
	v, found := s.variant(variantID)
	if !found || v.Price == "" {
		return "", "", false
	}
	return v.Price, v.OldPrice, true
}

func (s *Server) variant(variantID string) (Variant, bool) {
	id, err := strconv.ParseInt(variantID, 10, 64)
	if err != nil {
		return Variant{}, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.variants[id]
	return v, ok
}

// Snapshot returns a copy of every variant set so far.
func (s *Server) Snapshot() map[int64]Variant {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int64]Variant, len(s.variants))
	for id, v := range s.variants {
		out[id] = v
	}
	return out
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// History returns every update accepted for the variant id, oldest first.
func (s *Server) History(variantID int64) []Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Update(nil), s.history[variantID]...)
}

// Histories returns the history of every variant.
func (s *Server) Histories() map[int64][]Update {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[int64][]Update, len(s.history))
	for id, h := range s.history {
		out[id] = append([]Update(nil), h...)
	}
	return out
}

// Agents returns the User-Agent of every request that updated a variant,
// in arrival order.
func (s *Server) Agents() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.agents...)
}

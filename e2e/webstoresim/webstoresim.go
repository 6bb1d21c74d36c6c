// Package webstoresim is an in-process web store that receives the hub's
// signed stock and price webhooks (see package adapters/webstore), for
// tests and demos. It verifies each request's HMAC signature and timestamp
// as the webstore documentation tells a store developer to, responds with 401
// to a wrong or stale signature, records stock and price per SKU with
// history, replays its response to a repeated delivery id, and can reject
// chosen SKUs, fail or delay requests, and rate-limit with 429.
package webstoresim

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"
)

// Clock is the simulator's time source; retry.ManualClock and
// retry.ScaledClock satisfy it.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// DefaultSecret is the shared secret of a simulator whose Config sets none.
const DefaultSecret = "sim-webhook-secret-0001"

// Config configures a Server.
type Config struct {
	// Secret is the key of the HMAC-SHA256 signature. Default
	// DefaultSecret.
	Secret string
	// Path is the webhook endpoint's path. Default "/webhook".
	Path string
	// Tolerance is the largest difference between a request's timestamp
	// and Clock that the server accepts. Default 5 min.
	Tolerance time.Duration
	// RequestsPerMinute, when above 0, limits webhook requests and sends
	// 429 with Retry-After beyond it. Default 0, no limit.
	RequestsPerMinute float64
	// Burst is the number of requests accepted at once under
	// RequestsPerMinute. Default 1.
	Burst int
	// KnownSKUs, when not nil, is the set of SKUs the store sells; items
	// with any other SKU are rejected as permanent. Nil accepts all.
	KnownSKUs []string
	// Clock is the time source of the timestamp check, the rate limit and
	// the history. Default the wall clock.
	Clock Clock
	// Logger receives one line per rejected request. Default slog.Default().
	Logger *slog.Logger
}

func (c *Config) setDefaults() {
	if c.Secret == "" {
		c.Secret = DefaultSecret
	}
	if c.Path == "" {
		c.Path = "/webhook"
	}
	if c.Tolerance == 0 {
		c.Tolerance = 5 * time.Minute
	}
	if c.Burst == 0 {
		c.Burst = 1
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
	// Deliveries is the number of webhooks applied, duplicates excluded.
	Deliveries int
	// DuplicateDeliveries is the number of webhooks whose delivery id had
	// been applied before. The server repeated its first response and did
	// not apply them again.
	DuplicateDeliveries int
	// SignatureFailures is the number of 401 responses to a missing or wrong
	// signature.
	SignatureFailures int
	// StaleTimestamps is the number of 401 responses to a correctly signed
	// request whose timestamp was missing or outside Tolerance.
	StaleTimestamps int
	// BadRequests is the number of 400 responses to a body that breaks the
	// documented webhook format.
	BadRequests int
	// InjectedFailures is the number of 500 responses sent by FailNext.
	InjectedFailures int
	// TooManyRequests is the number of 429 responses.
	TooManyRequests int
	// StockUpdates and PriceUpdates count the items applied.
	StockUpdates int
	PriceUpdates int
	// RejectedItems counts the items listed as rejected in responses.
	RejectedItems int
}

// Rejection is how the store rejects every item of a given SKU.
type Rejection struct {
	Message   string
	Retriable bool
}

// StockUpdate is one accepted stock value of a SKU.
type StockUpdate struct {
	Quantity   int64
	DeliveryID string
	// Agent is the request's User-Agent, which names the hub instance.
	Agent string
	At    time.Time
}

// Price is the price of a SKU as the store received it: decimal strings,
// with OldPrice and Currency empty when the hub sent none.
type Price struct {
	Price    string `json:"price"`
	OldPrice string `json:"old_price,omitempty"`
	Currency string `json:"currency,omitempty"`
}

// PriceUpdate is one accepted price of a SKU.
type PriceUpdate struct {
	Price
	DeliveryID string
	Agent      string
	At         time.Time
}

// Server is a running simulator.
type Server struct {
	// URL is the base URL of the server, such as http://127.0.0.1:41234.
	URL string
	// WebhookURL is URL followed by Config.Path: the endpoint to give the
	// hub.
	WebhookURL string

	cfg      Config
	limiter  *rate.Limiter
	known    map[string]bool
	http     *http.Server
	listener net.Listener

	mu           sync.Mutex
	stock        map[string]int64
	prices       map[string]Price
	stockHistory map[string][]StockUpdate
	priceHistory map[string][]PriceUpdate
	answers      map[string][]byte // delivery id -> answer body, for replays
	deliveries   []string
	agents       []string
	rejections   map[string]Rejection
	failNext     int
	delayNext    time.Duration
	limitNext    int
	limitDelay   time.Duration
	stats        Stats
	serveErr     error
	serveClosed  chan struct{}
}

// Start listens on addr, which must be a loopback address such as
// 127.0.0.1:8083 (port 0 picks a free port), and serves until Close.
func Start(addr string, cfg Config) (*Server, error) {
	cfg.setDefaults()
	if err := requireLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("webstoresim: listen on %s: %w", addr, err)
	}

	s := &Server{
		URL:          "http://" + ln.Addr().String(),
		cfg:          cfg,
		listener:     ln,
		stock:        map[string]int64{},
		prices:       map[string]Price{},
		stockHistory: map[string][]StockUpdate{},
		priceHistory: map[string][]PriceUpdate{},
		answers:      map[string][]byte{},
		rejections:   map[string]Rejection{},
		serveClosed:  make(chan struct{}),
	}
	s.WebhookURL = s.URL + cfg.Path
	if cfg.RequestsPerMinute > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.RequestsPerMinute/60), cfg.Burst)
	}
	if cfg.KnownSKUs != nil {
		s.known = map[string]bool{}
		for _, sku := range cfg.KnownSKUs {
			s.known[sku] = true
		}
	}

	s.http = &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.serveClosed)
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.mu.Lock()
			s.serveErr = err
			s.mu.Unlock()
		}
	}()
	return s, nil
}

// NewTest starts a server on a free loopback port and closes it when the
// test ends.
func NewTest(t testing.TB, cfg Config) *Server {
	t.Helper()
	s, err := Start("127.0.0.1:0", cfg)
	if err != nil {
		t.Fatalf("start web store simulator: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close web store simulator: %v", err)
		}
	})
	return s
}

// Close stops the server and returns the error that ended serving, if any.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	<-s.serveClosed
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(err, s.serveErr)
}

func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("webstoresim: invalid address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("webstoresim: address %q is not on loopback; use 127.0.0.1 or [::1]", addr)
	}
	return nil
}

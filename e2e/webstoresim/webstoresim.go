// Package webstoresim is an in-process web store that receives the hub's
// signed stock and price webhooks (see package adapters/webstore), for
// tests and demos. It verifies each request's HMAC signature and timestamp
// as the webstore documentation tells a store developer to, responds with 401
// to a wrong or stale signature, records stock and price per SKU with
// history, replays its response to a repeated delivery id, and can reject
// chosen SKUs, fail or delay requests, and rate-limit with 429.
package webstoresim

import (
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"obmenhub/e2e/simkit"
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

	cfg     Config
	limiter *rate.Limiter
	known   map[string]bool
	server  *simkit.Server
	faults  simkit.Faults

	mu           sync.Mutex
	stock        map[string]int64
	prices       map[string]Price
	stockHistory map[string][]StockUpdate
	priceHistory map[string][]PriceUpdate
	answers      map[string][]byte // delivery id -> answer body, for replays
	deliveries   []string
	agents       []string
	rejections   map[string]Rejection
	limitNext    int
	limitDelay   time.Duration
	stats        Stats
}

// Start listens on addr, which must be a loopback address such as
// 127.0.0.1:8083 (port 0 picks a free port), and serves until Close.
func Start(addr string, cfg Config) (*Server, error) {
	cfg.setDefaults()
	server, err := simkit.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("webstoresim: %w", err)
	}

	s := &Server{
		URL:          server.URL,
		cfg:          cfg,
		server:       server,
		stock:        map[string]int64{},
		prices:       map[string]Price{},
		stockHistory: map[string][]StockUpdate{},
		priceHistory: map[string][]PriceUpdate{},
		answers:      map[string][]byte{},
		rejections:   map[string]Rejection{},
	}
	s.WebhookURL = s.URL + cfg.Path
	if cfg.RequestsPerMinute > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.RequestsPerMinute/60), cfg.Burst)
	}
	s.known = simkit.SetOf(cfg.KnownSKUs)

	s.server.Serve(s.Handler())
	return s, nil
}

// NewTest starts a server on a free loopback port and closes it when the
// test ends.
func NewTest(t testing.TB, cfg Config) *Server {
	t.Helper()
	return simkit.StartTest(t, "web store simulator", func(addr string) (*Server, error) {
		return Start(addr, cfg)
	})
}

// Close stops the server and returns the error that ended serving, if any.
func (s *Server) Close() error {
	return s.server.Close()
}

// Package wbsim is an in-process simulator of the Wildberries FBS stock
// method (PUT /api/v3/stocks/{warehouseId}) and of the prices upload task
// with its status and detail methods, for tests and demos. It validates
// each request against the vendor spec, authenticates it, enforces the
// rate limits on a configurable clock, responds with 409 for rejected
// stock items, processes price uploads after a delay with per-item errors
// and price quarantine, and records the final stock per (chrtId,
// warehouse) and price per nmID.
package wbsim

import (
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"obmenhub/e2e/simkit"
	"obmenhub/e2e/vendorspec"
)

// Clock is the simulator's time source; retry.ManualClock and
// retry.ScaledClock satisfy it.
type Clock interface{ Now() time.Time }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

// Config configures a Server.
type Config struct {
	// Token is the API token the server accepts in Authorization.
	// Default "sim-token".
	Token string
	// RequestsPerMinute is the enforced rate shared by the stock methods.
	// Default 300, the spec's limit.
	RequestsPerMinute float64
	// Burst is the number of requests accepted at once. Default 20, the
	// spec's burst.
	Burst int
	// ObserveRateOnly counts rate violations without responding with 429.
	ObserveRateOnly bool
	// Clock is the time source of the rate limit. Default the wall clock.
	Clock Clock
	// KnownChrtIDs, when not nil, is the set of chrtIds that exist; any
	// other is rejected with a 409 NotFound entry. Nil accepts all.
	KnownChrtIDs []int64
	// Warehouses, when not nil, is the set of warehouse ids that exist;
	// any other gets 404 NotFound. Nil accepts all.
	Warehouses []int64
	// SpecOptional lets Start run without the vendor spec, which lives in
	// the shared test data beside the repository, and then skips request
	// validation. The demo sets it; tests leave it false.
	SpecOptional bool
	// Logger receives one line per rejected request. Default slog.Default().
	Logger *slog.Logger

	// PriceRequestsPerMinute is the enforced rate shared by the prices and
	// discounts methods. Default 100, the spec's 10 requests per 6 s.
	PriceRequestsPerMinute float64
	// PriceBurst is the burst of that rate. Default 5, the spec's burst.
	PriceBurst int
	// PriceProcessingDelay is the time on Clock from an upload to its
	// processing. Default 2 s.
	PriceProcessingDelay time.Duration
	// QuarantineRatio puts an item in price quarantine when its current
	// price with discount is at least this many times its new one.
	// Default 3, as the spec documents.
	QuarantineRatio float64
}

func (c *Config) setDefaults() {
	if c.Token == "" {
		c.Token = "sim-token"
	}
	if c.RequestsPerMinute == 0 {
		c.RequestsPerMinute = 300
	}
	if c.Burst == 0 {
		c.Burst = 20
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.PriceRequestsPerMinute == 0 {
		c.PriceRequestsPerMinute = 100
	}
	if c.PriceBurst == 0 {
		c.PriceBurst = 5
	}
	if c.PriceProcessingDelay == 0 {
		c.PriceProcessingDelay = 2 * time.Second
	}
	if c.QuarantineRatio == 0 {
		c.QuarantineRatio = 3
	}
}

// Key identifies one size on one warehouse.
type Key struct {
	ChrtID      int64
	WarehouseID int64
}

// Stats are the server's counters since it started.
type Stats struct {
	// AbortedRequests is the number of requests whose body ended early
	// because the client went away; they are not validated.
	AbortedRequests int
	// Requests is every request received, on any path.
	Requests int
	// Updated is the number of items whose stock was set.
	Updated int
	// Conflicts is the number of 409 responses sent.
	Conflicts int
	// TooManyRequests is the number of 429 responses sent.
	TooManyRequests int
	// RateViolations is the number of requests over the rate limit,
	// whether rejected with 429 or let through (ObserveRateOnly).
	RateViolations int
	// ValidationFailures is the number of requests the spec rejected.
	ValidationFailures int
	// AuthFailures is the number of requests with a wrong token.
	AuthFailures int
	// InjectedFailures is the number of 500 responses sent by FailNext.
	InjectedFailures int
	// PriceRequests is the number of requests to the prices methods.
	PriceRequests int
	// PriceUploads is the number of upload tasks created.
	PriceUploads int
	// PricesUpdated is the number of items whose price was set.
	PricesUpdated int
	// Quarantined is the number of items put in price quarantine.
	Quarantined int
	// PriceRateViolations is the part of RateViolations on the prices
	// methods.
	PriceRateViolations int
}

// Server is a running simulator.
type Server struct {
	// URL is the base URL of the server, such as http://127.0.0.1:41234.
	URL string

	cfg        Config
	spec       *vendorspec.Spec
	limiter    *rate.Limiter
	priceLimit *rate.Limiter
	known      map[int64]bool
	warehouses map[int64]bool
	server     *simkit.Server
	faults     simkit.Faults

	mu         sync.Mutex
	log        simkit.StockLog[Key]
	itemErrors map[int64]string
	stats      Stats

	prices       map[int64]Price
	priceHistory map[int64][]PriceUpdate
	priceErrors  map[int64]string
	tasks        map[int64]*priceTask
	taskOrder    []int64
	nextTaskID   int64
}

// Start listens on addr, which must be a loopback address such as
// 127.0.0.1:8081 (port 0 picks a free port), and serves until Close.
func Start(addr string, cfg Config) (*Server, error) {
	cfg.setDefaults()
	spec, err := vendorspec.Load(vendorspec.Wildberries)
	if err != nil {
		if !cfg.SpecOptional {
			return nil, fmt.Errorf("wbsim: %w", err)
		}
		cfg.Logger.Warn("wbsim: vendor spec not found; requests are not validated", "err", err)
		spec = nil
	}
	server, err := simkit.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("wbsim: %w", err)
	}

	s := &Server{
		URL:        server.URL,
		cfg:        cfg,
		spec:       spec,
		limiter:    rate.NewLimiter(rate.Limit(cfg.RequestsPerMinute/60), cfg.Burst),
		priceLimit: rate.NewLimiter(rate.Limit(cfg.PriceRequestsPerMinute/60), cfg.PriceBurst),
		server:     server,
		itemErrors: map[int64]string{},

		prices:       map[int64]Price{},
		priceHistory: map[int64][]PriceUpdate{},
		priceErrors:  map[int64]string{},
		tasks:        map[int64]*priceTask{},
		nextTaskID:   1000,
	}
	s.known = simkit.SetOf(cfg.KnownChrtIDs)
	s.warehouses = simkit.SetOf(cfg.Warehouses)

	s.server.Serve(s.Handler())
	return s, nil
}

// NewTest starts a server on a free loopback port and closes it when the
// test ends.
func NewTest(t testing.TB, cfg Config) *Server {
	t.Helper()
	return simkit.StartTest(t, "wildberries simulator", func(addr string) (*Server, error) {
		return Start(addr, cfg)
	})
}

// Close stops the server and returns the error that ended serving, if any.
func (s *Server) Close() error {
	return s.server.Close()
}

// FailNext makes the next n stock requests fail with 500 Internal error.
func (s *Server) FailNext(n int) {
	s.faults.FailNext(n)
}

// DelayNext makes the next stock request wait d of real time before the
// simulator responds, to let a client time out.
func (s *Server) DelayNext(d time.Duration) {
	s.faults.DelayNext(d)
}

// FailItem makes every later request that contains chrtID get 409
// with an entry of code for it, such as "CargoWarehouseRestrictionMGT" or
// "StoreIsProcessing". An empty code removes it.
func (s *Server) FailItem(chrtID int64, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		delete(s.itemErrors, chrtID)
		return
	}
	s.itemErrors[chrtID] = code
}

// Stock returns the stock last set for chrtID (decimal) on warehouse.
func (s *Server) Stock(chrtID string, warehouse int64) (int64, bool) {
	id, err := strconv.ParseInt(chrtID, 10, 64)
	if err != nil {
		return 0, false
	}
	return s.log.Get(Key{ChrtID: id, WarehouseID: warehouse})
}

// Snapshot returns a copy of every stock set so far.
func (s *Server) Snapshot() map[Key]int64 { return s.log.Snapshot() }

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Update is one accepted stock value of a key, in arrival order.
type Update = simkit.Update

// History returns every value accepted for key, oldest first.
func (s *Server) History(key Key) []Update { return s.log.History(key) }

// Histories returns the history of every key.
func (s *Server) Histories() map[Key][]Update { return s.log.Histories() }

// Agents returns the User-Agent of every request that updated stock, in
// arrival order.
func (s *Server) Agents() []string { return s.log.Agents() }

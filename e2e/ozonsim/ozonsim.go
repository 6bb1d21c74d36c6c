// Package ozonsim is an in-process simulator of the Ozon Seller API stock
// method (POST /v2/products/stocks) and price method
// (POST /v1/product/import/prices) for tests and demos. It validates each
// request against the vendor spec, authenticates it, enforces the rate
// limits, the 30 s rule per product-warehouse pair and the rule of 10 price
// updates per product per hour on a configurable clock, and records the
// final stock per (offer_id, warehouse) and price per offer_id.
package ozonsim

import (
	"fmt"
	"log/slog"
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
	// ClientID and APIKey are the credentials the server accepts.
	// Defaults "sim-client" and "sim-key".
	ClientID string
	APIKey   string
	// RequestsPerMinute is the enforced rate of the stock method.
	// Default 80, Ozon's documented limit.
	RequestsPerMinute float64
	// Burst is the number of requests accepted at once after an idle
	// period. Default 2: Ozon documents no burst, and one spare request
	// absorbs rounding between the client's limiter and this one.
	Burst int
	// ObserveRateOnly counts rate violations without responding with 429.
	ObserveRateOnly bool
	// PairInterval is the least time between two updates of one
	// product-warehouse pair. Default 30 s, Ozon's rule.
	PairInterval time.Duration
	// Clock is the time source of the rate limit and the pair rule.
	// Default the wall clock.
	Clock Clock
	// KnownOffers, when not nil, is the set of offer_ids that exist; any
	// other gets the per-item error offer_id_not_found. Nil accepts all.
	KnownOffers []string
	// Warehouses, when not nil, is the set of warehouse ids that exist;
	// any other gets WAREHOUSE_NOT_FOUND. Nil accepts all.
	Warehouses []int64
	// MaxItems is the largest number of stocks per request. Default 100.
	MaxItems int
	// SpecOptional lets Start run without the vendor spec, which lives in
	// the shared test data beside the repository, and then skips request
	// validation. The demo sets it; tests leave it false.
	SpecOptional bool
	// Logger receives one line per rejected request. Default slog.Default().
	Logger *slog.Logger

	// PriceRequestsPerSecond is the enforced rate of the price method.
	// Default 50, Ozon's account-wide limit, because the spec gives the
	// method no limit of its own.
	PriceRequestsPerSecond float64
	// PriceBurst is the number of price requests accepted at once after
	// an idle period. Default 2, as Burst.
	PriceBurst int
	// PriceUpdatesPerWindow and PriceUpdateWindow are the rule on price
	// updates of one offer_id. Defaults 10 and 1 h, Ozon's rule.
	PriceUpdatesPerWindow int
	PriceUpdateWindow     time.Duration
	// MaxPriceItems is the largest number of prices per request.
	// Default 1000.
	MaxPriceItems int
}

func (c *Config) setDefaults() {
	if c.ClientID == "" {
		c.ClientID = "sim-client"
	}
	if c.APIKey == "" {
		c.APIKey = "sim-key"
	}
	if c.RequestsPerMinute == 0 {
		c.RequestsPerMinute = 80
	}
	if c.Burst == 0 {
		c.Burst = 2
	}
	if c.PairInterval == 0 {
		c.PairInterval = 30 * time.Second
	}
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.MaxItems == 0 {
		c.MaxItems = 100
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.PriceRequestsPerSecond == 0 {
		c.PriceRequestsPerSecond = 50
	}
	if c.PriceBurst == 0 {
		c.PriceBurst = 2
	}
	if c.PriceUpdatesPerWindow == 0 {
		c.PriceUpdatesPerWindow = 10
	}
	if c.PriceUpdateWindow == 0 {
		c.PriceUpdateWindow = time.Hour
	}
	if c.MaxPriceItems == 0 {
		c.MaxPriceItems = 1000
	}
}

// Key identifies one product-warehouse pair.
type Key struct {
	OfferID     string
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
	// TooManyRequests is the number of 429 responses sent.
	TooManyRequests int
	// RateViolations is the number of requests over the rate limit,
	// whether rejected with 429 or let through (ObserveRateOnly).
	RateViolations int
	// PairViolations is the number of items rejected by the 30 s rule.
	PairViolations int
	// ValidationFailures is the number of requests the spec rejected.
	ValidationFailures int
	// AuthFailures is the number of requests with wrong credentials.
	AuthFailures int
	// InjectedFailures is the number of 500 responses sent by FailNext.
	InjectedFailures int
	// PriceRequests is the number of requests to the price method.
	PriceRequests int
	// PricesUpdated is the number of items whose price was set.
	PricesUpdated int
	// PriceRateViolations is the part of RateViolations on the price
	// method.
	PriceRateViolations int
	// PriceRuleViolations is the number of items rejected by the rule of
	// price updates per offer_id per window.
	PriceRuleViolations int
}

// Server is a running simulator.
type Server struct {
	// URL is the base URL of the server, such as http://127.0.0.1:41234.
	URL string

	cfg        Config
	spec       *vendorspec.Spec
	limiter    *rate.Limiter
	priceLimit *rate.Limiter
	known      map[string]bool
	warehouses map[int64]bool
	server     *simkit.Server
	faults     simkit.Faults

	mu         sync.Mutex
	log        simkit.StockLog[Key]
	lastUpdate map[Key]time.Time
	itemErrors map[string]string
	stats      Stats

	prices       map[string]Price
	priceHistory map[string][]PriceUpdate
	priceErrors  map[string]string
}

// Start listens on addr, which must be a loopback address such as
// 127.0.0.1:8081 (port 0 picks a free port), and serves until Close.
func Start(addr string, cfg Config) (*Server, error) {
	cfg.setDefaults()
	spec, err := vendorspec.Load(vendorspec.Ozon)
	if err != nil {
		if !cfg.SpecOptional {
			return nil, fmt.Errorf("ozonsim: %w", err)
		}
		cfg.Logger.Warn("ozonsim: vendor spec not found; requests are not validated", "err", err)
		spec = nil
	}
	server, err := simkit.Listen(addr)
	if err != nil {
		return nil, fmt.Errorf("ozonsim: %w", err)
	}

	s := &Server{
		URL:        server.URL,
		cfg:        cfg,
		spec:       spec,
		limiter:    rate.NewLimiter(rate.Limit(cfg.RequestsPerMinute/60), cfg.Burst),
		priceLimit: rate.NewLimiter(rate.Limit(cfg.PriceRequestsPerSecond), cfg.PriceBurst),
		server:     server,
		lastUpdate: map[Key]time.Time{},
		itemErrors: map[string]string{},

		prices:       map[string]Price{},
		priceHistory: map[string][]PriceUpdate{},
		priceErrors:  map[string]string{},
	}
	s.known = simkit.SetOf(cfg.KnownOffers)
	s.warehouses = simkit.SetOf(cfg.Warehouses)

	s.server.Serve(s.Handler())
	return s, nil
}

// NewTest starts a server on a free loopback port and closes it when the
// test ends.
func NewTest(t testing.TB, cfg Config) *Server {
	t.Helper()
	return simkit.StartTest(t, "ozon simulator", func(addr string) (*Server, error) {
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

// FailItem makes every later update of offerID fail with the per-item
// error code, such as "PRICE_IS_NOT_SENT". An empty code removes it.
func (s *Server) FailItem(offerID, code string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == "" {
		delete(s.itemErrors, offerID)
		return
	}
	s.itemErrors[offerID] = code
}

// Stock returns the stock last set for offerID on warehouse.
func (s *Server) Stock(offerID string, warehouse int64) (int64, bool) {
	return s.log.Get(Key{OfferID: offerID, WarehouseID: warehouse})
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

// Package insales pushes stock and prices to an InSales shop through the
// group update of variants (PUT /admin/products/variants_group_update.json).
//
// ExternalID of an item is the InSales variant id in decimal digits. The
// adapter authenticates with HTTP Basic auth: the app's identifier as the
// login and its password. It keeps inside the shop's limit of requests per
// 5-minute window by reading the API-Usage-Limit header of every response
// (see usageGuard).
package insales

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/httpx"
	"obmenhub/retry"
)

// Limits of the group update method.
const (
	// MaxVariantsPerRequest is the most variants one group update takes.
	// NOTE: the InSales API reference does not state it. 100 is the limit
	// that the InSales PHP client (insales/insales_php_api) enforces and
	// that integrations cite.
	MaxVariantsPerRequest = 100
	// DefaultRequestsPer5Min is the shop's API limit: 500 requests per
	// 5-minute window, shared by every app of the shop.
	DefaultRequestsPer5Min = 500
	// DefaultBurst is the number of requests sent at once after an idle
	// period, before the limiter paces them at RequestsPer5Min.
	DefaultBurst = 10
	// DefaultUsageReserve is the number of requests of each window that
	// the adapter leaves to other apps of the shop.
	DefaultUsageReserve = 10
	// DefaultCurrency is the currency of the shop's prices.
	DefaultCurrency = "RUB"

	groupUpdatePath = "/admin/products/variants_group_update.json"
)

// Config configures an Adapter for one InSales shop.
type Config struct {
	// BaseURL is the shop's address, such as https://myshop.myinsales.ru.
	// Required.
	BaseURL string
	// Login is the app's identifier, the user name of HTTP Basic auth.
	// Required.
	Login string
	// Password is the app's password. Required, never logged.
	Password string
	// RequestsPer5Min is the number of requests per 5-minute window that
	// the adapter may spend. It paces requests evenly over the window and
	// caps the budget that API-Usage-Limit reports. Default 500.
	RequestsPer5Min int
	// Burst is the number of requests sent at once after an idle period.
	// Default 10.
	Burst int
	// UsageReserve is the number of requests of each window left unused
	// for other apps of the shop. Default 10; a negative value means none.
	UsageReserve int
	// DisableUsageGuard stops the adapter from deferring requests when
	// API-Usage-Limit shows the budget spent. A 503 or 429 response with
	// Retry-After is still deferred. For tests of the server's limit.
	DisableUsageGuard bool
	// Currency is the ISO 4217 code of the shop's prices. A PriceItem with
	// another non-empty Currency is rejected. Default RUB.
	Currency string
	// Timeout bounds one attempt of a request. Default 30 s.
	Timeout time.Duration
	// Policy retries failed requests and waits out deferrals of up to its
	// MaxDeferWait. A longer deferral, such as the rest of a spent window,
	// is returned to the caller.
	Policy retry.Policy
	// Breaker configures the circuit breaker.
	Breaker httpx.BreakerConfig
	// Clock is the time source. Default retry.SystemClock().
	Clock retry.Clock
	// Logger receives failures, retries and deferrals. Default slog.Default().
	Logger *slog.Logger
	// Transport replaces the default HTTP transport, for tests.
	Transport http.RoundTripper
	// UserAgent is sent as the User-Agent header, naming the hub instance
	// in the vendor's logs. Default resty's own.
	UserAgent string
}

func (c *Config) setDefaults() {
	if c.RequestsPer5Min == 0 {
		c.RequestsPer5Min = DefaultRequestsPer5Min
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	switch {
	case c.UsageReserve == 0:
		c.UsageReserve = DefaultUsageReserve
	case c.UsageReserve < 0:
		c.UsageReserve = 0
	}
	if c.Currency == "" {
		c.Currency = DefaultCurrency
	}
	if c.Clock == nil {
		c.Clock = retry.SystemClock()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.BaseURL == "" {
		errs = append(errs, errors.New("BaseURL is missing; set the shop's address, such as https://myshop.myinsales.ru"))
	}
	if c.Login == "" {
		errs = append(errs, errors.New("Login is missing; set the app's identifier"))
	}
	if c.Password == "" {
		errs = append(errs, errors.New("Password is missing; set the app's password"))
	}
	if c.RequestsPer5Min < 1 {
		errs = append(errs, fmt.Errorf("RequestsPer5Min is %d, must be at least 1", c.RequestsPer5Min))
	}
	if c.UsageReserve >= c.RequestsPer5Min {
		errs = append(errs, fmt.Errorf("UsageReserve %d leaves nothing of RequestsPer5Min %d", c.UsageReserve, c.RequestsPer5Min))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("insales config: %w", err)
	}
	return nil
}

// Adapter implements adapters.StockPusher and adapters.PricePusher for one
// InSales shop. It is safe for concurrent use.
type Adapter struct {
	cfg    Config
	client *httpx.Client
	guard  *usageGuard
}

var (
	_ adapters.StockPusher = (*Adapter)(nil)
	_ adapters.PricePusher = (*Adapter)(nil)
)

// New returns an Adapter for cfg, with defaults filled in.
func New(cfg Config) (*Adapter, error) {
	cfg.setDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}

	base := cfg.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	guard := &usageGuard{
		base:        base,
		clock:       cfg.Clock,
		log:         cfg.Logger,
		maxRequests: cfg.RequestsPer5Min,
		reserve:     cfg.UsageReserve,
		disabled:    cfg.DisableUsageGuard,
	}

	credentials := base64.StdEncoding.EncodeToString([]byte(cfg.Login + ":" + cfg.Password))
	headers := map[string]string{"Authorization": "Basic " + credentials}
	if cfg.UserAgent != "" {
		headers["User-Agent"] = cfg.UserAgent
	}

	client, err := httpx.New(httpx.Config{
		Channel:       "insales",
		BaseURL:       strings.TrimRight(cfg.BaseURL, "/"),
		Timeout:       cfg.Timeout,
		RatePerSecond: float64(cfg.RequestsPer5Min) / UsageWindow.Seconds(),
		Burst:         cfg.Burst,
		Policy:        cfg.Policy,
		Breaker:       cfg.Breaker,
		Clock:         cfg.Clock,
		Logger:        cfg.Logger,
		Headers:       headers,
		Transport:     guard,
	})
	if err != nil {
		return nil, err
	}
	return &Adapter{cfg: cfg, client: client, guard: guard}, nil
}

// MaxBatch returns the number of variants InSales takes in one request.
func (a *Adapter) MaxBatch() int { return MaxVariantsPerRequest }

// MaxPriceBatch returns the number of variants InSales takes in one request.
func (a *Adapter) MaxPriceBatch() int { return MaxVariantsPerRequest }

// BreakerState returns the state of the adapter's circuit breaker.
func (a *Adapter) BreakerState() string { return a.client.BreakerState() }

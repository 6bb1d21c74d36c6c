// Package wildberries pushes FBS stock levels (PUT /api/v3/stocks/{warehouseId})
// and prices (the upload task POST /api/v2/upload/task) to the Wildberries
// seller API.
package wildberries

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/httpx"
	"obmenhub/retry"
)

// Limits of the stock methods, from the Wildberries products spec
// (info.version "products", about March 2026).
const (
	// MaxItemsPerRequest is the maxItems of the request's stocks array.
	MaxItemsPerRequest = 1000
	// MaxAmount is the maximum of one item's amount.
	MaxAmount = 100000
	// DefaultRequestsPerMinute is the limit per seller account shared by
	// all methods of seller warehouse stocks: 300 requests per minute.
	DefaultRequestsPerMinute = 300
	// DefaultBurst is the documented burst of the same limit.
	DefaultBurst = 20
	// DefaultBaseURL is the server of the stock methods in the spec.
	DefaultBaseURL = "https://marketplace-api.wildberries.ru"

	stocksPath = "/api/v3/stocks/{warehouseId}"
)

// Config configures an Adapter for one Wildberries seller warehouse.
type Config struct {
	// BaseURL is the API host. Default DefaultBaseURL.
	BaseURL string
	// Token is the API token, sent as the Authorization header. Required,
	// never logged.
	Token string
	// WarehouseID is the seller's warehouse id. Required.
	WarehouseID int64
	// RequestsPerMinute limits the request rate. Default 300.
	RequestsPerMinute float64
	// Burst is the number of requests sent at once after an idle period.
	// Default 20.
	Burst int
	// Timeout bounds one attempt of a request. Default 30 s.
	Timeout time.Duration
	// Policy retries failed requests.
	Policy retry.Policy
	// Breaker configures the circuit breaker.
	Breaker httpx.BreakerConfig
	// Clock is the time source. Default retry.SystemClock().
	Clock retry.Clock
	// Logger receives failures and retries. Default slog.Default().
	Logger *slog.Logger
	// Transport replaces the default HTTP transport, for tests.
	Transport http.RoundTripper
	// UserAgent is sent as the User-Agent header, naming the hub instance
	// in the vendor's logs. Default resty's own.
	UserAgent string

	// PricesBaseURL is the host of the prices and discounts API. Default
	// BaseURL when BaseURL is set, so that a test or demo pointed at a
	// simulator never reaches production, else DefaultPricesBaseURL.
	PricesBaseURL string
	// PriceRequestsPerMinute limits the rate of all prices and discounts
	// requests, uploads and status polls alike. Default 100.
	PriceRequestsPerMinute float64
	// PriceBurst is the burst of that limit. Default 5.
	PriceBurst int
	// PriceCurrency is the account's currency. Wildberries takes prices in
	// it and has no currency field, so an item in another currency is
	// rejected. Default RUB.
	PriceCurrency string
	// PricePollInterval is the wait between two status checks of a price
	// upload. Default 3 s.
	PricePollInterval time.Duration
	// PricePollTimeout bounds the wait for Wildberries to process one
	// price upload. Default 5 min.
	PricePollTimeout time.Duration
}

func withUserAgent(h map[string]string, ua string) map[string]string {
	if ua != "" {
		h["User-Agent"] = ua
	}
	return h
}

// Adapter implements adapters.StockPusher and adapters.PricePusher for
// Wildberries. For stock, ExternalID is the size id chrtId in decimal
// digits; for prices, it is the product's nmID in decimal digits.
type Adapter struct {
	cfg         Config
	client      *httpx.Client
	priceClient *httpx.Client
}

var (
	_ adapters.StockPusher = (*Adapter)(nil)
	_ adapters.PricePusher = (*Adapter)(nil)
)

// New returns an Adapter for cfg, with defaults filled in.
func New(cfg Config) (*Adapter, error) {
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	if cfg.RequestsPerMinute == 0 {
		cfg.RequestsPerMinute = DefaultRequestsPerMinute
	}
	if cfg.Burst == 0 {
		cfg.Burst = DefaultBurst
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Clock == nil {
		cfg.Clock = retry.SystemClock()
	}
	setPriceDefaults(&cfg)

	var errs []error
	if cfg.Token == "" {
		errs = append(errs, errors.New("Token is missing"))
	}
	if cfg.WarehouseID <= 0 {
		errs = append(errs, fmt.Errorf("WarehouseID is %d, must be a positive seller warehouse id", cfg.WarehouseID))
	}
	errs = append(errs, validatePriceConfig(cfg)...)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("wildberries config: %w", err)
	}

	client, err := httpx.New(httpx.Config{
		Channel:       "wildberries",
		BaseURL:       cfg.BaseURL,
		Timeout:       cfg.Timeout,
		RatePerSecond: cfg.RequestsPerMinute / 60,
		Burst:         cfg.Burst,
		Policy:        cfg.Policy,
		Breaker:       cfg.Breaker,
		Clock:         cfg.Clock,
		Logger:        cfg.Logger,
		Headers:       withUserAgent(map[string]string{"Authorization": cfg.Token}, cfg.UserAgent),
		Transport:     cfg.Transport,
	})
	if err != nil {
		return nil, err
	}
	priceClient, err := newPriceClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Adapter{cfg: cfg, client: client, priceClient: priceClient}, nil
}

// MaxBatch returns the number of items Wildberries accepts in one request.
func (a *Adapter) MaxBatch() int { return MaxItemsPerRequest }

// BreakerState returns the state of the adapter's circuit breaker.
func (a *Adapter) BreakerState() string { return a.client.BreakerState() }

type stockItem struct {
	ChrtID int64 `json:"chrtId"`
	Amount int64 `json:"amount"`
}

type stocksRequest struct {
	Stocks []stockItem `json:"stocks"`
}

// PushStock sends items in requests of at most 1000. An item whose
// ExternalID is not a decimal chrtId, or whose quantity is negative or
// above 100000, gets a permanent error and is not sent.
func (a *Adapter) PushStock(ctx context.Context, items []adapters.StockItem) ([]adapters.ItemResult, error) {
	results := make([]adapters.ItemResult, len(items))
	for i, item := range items {
		results[i].SKU = item.SKU
	}

	batch := make([]int, 0, MaxItemsPerRequest)
	chrtIDs := make([]int64, len(items))
	for i, item := range items {
		chrtID, err := checkItem(item)
		if err != nil {
			results[i].Err = err
			a.logItemError(item, err)
			continue
		}
		chrtIDs[i] = chrtID
		batch = append(batch, i)
		if len(batch) == MaxItemsPerRequest {
			if err := a.sendBatch(ctx, items, chrtIDs, batch, results); err != nil {
				return results[:batch[0]], err
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		if err := a.sendBatch(ctx, items, chrtIDs, batch, results); err != nil {
			return results[:batch[0]], err
		}
	}
	return results, nil
}

func checkItem(item adapters.StockItem) (int64, error) {
	chrtID, err := strconv.ParseInt(item.ExternalID, 10, 64)
	if err != nil || chrtID <= 0 || item.ExternalID[0] == '+' {
		return 0, retry.Permanent(fmt.Errorf("wildberries: SKU %s has ExternalID %q, expected a chrtId in decimal digits", item.SKU, item.ExternalID))
	}
	if item.Quantity < 0 || item.Quantity > MaxAmount {
		return 0, retry.Permanent(fmt.Errorf("wildberries: SKU %s has quantity %d, must be between 0 and %d", item.SKU, item.Quantity, MaxAmount))
	}
	return chrtID, nil
}

// sendBatch sends the items at indexes and fills their results. It returns
// an error only when the request failed as a whole.
func (a *Adapter) sendBatch(ctx context.Context, items []adapters.StockItem, chrtIDs []int64, indexes []int, results []adapters.ItemResult) error {
	body := stocksRequest{Stocks: make([]stockItem, len(indexes))}
	for n, i := range indexes {
		body.Stocks[n] = stockItem{ChrtID: chrtIDs[i], Amount: items[i].Quantity}
	}

	warehouse := strconv.FormatInt(a.cfg.WarehouseID, 10)
	resp, err := a.client.Do(ctx, httpx.Request{
		Method:       http.MethodPut,
		Path:         stocksPath,
		PathParams:   map[string]string{"warehouseId": warehouse},
		Body:         body,
		AcceptStatus: []int{http.StatusConflict},
		LogAttrs:     []slog.Attr{slog.Int("items", len(indexes)), slog.Int64("warehouse_id", a.cfg.WarehouseID)},
	})
	if err != nil {
		return err
	}

	if resp.StatusCode == http.StatusConflict {
		return a.applyConflict(resp.Body, items, chrtIDs, indexes, results)
	}
	// 204 and any other 2xx: every item was accepted.
	return nil
}

func (a *Adapter) logItemError(item adapters.StockItem, err error) {
	a.cfg.Logger.Warn("stock item not updated",
		slog.String("sku", item.SKU), slog.String("chrt_id", item.ExternalID),
		slog.String("class", retry.Classify(err).String()), slog.Any("error", err))
}

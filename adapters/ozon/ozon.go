// Package ozon pushes stock levels (POST /v2/products/stocks) and prices
// (POST /v1/product/import/prices) to the Ozon Seller API.
package ozon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/httpx"
	"obmenhub/retry"
)

// Limits of POST /v2/products/stocks, from the method's description in the
// Ozon Seller API spec (info.version 2.1, news up to 15 Aug 2025).
const (
	// MaxItemsPerRequest is the number of product-warehouse pairs that
	// one request may update.
	MaxItemsPerRequest = 100
	// DefaultRequestsPerMinute is the method's limit per seller account.
	DefaultRequestsPerMinute = 80
	// DefaultPairInterval is the least time between two updates of one
	// product-warehouse pair.
	DefaultPairInterval = 30 * time.Second
	// DefaultBaseURL is the production host named in the spec.
	DefaultBaseURL = "https://api-seller.ozon.ru"

	stocksPath = "/v2/products/stocks"
)

// Config configures an Adapter for one Ozon seller account and warehouse.
type Config struct {
	// BaseURL is the API host. Default DefaultBaseURL.
	BaseURL string
	// ClientID is sent as the Client-Id header. Required.
	ClientID string
	// APIKey is sent as the Api-Key header. Required, never logged.
	APIKey string
	// WarehouseID is the Ozon warehouse whose stock the adapter sets.
	// Required.
	WarehouseID int64
	// RequestsPerMinute limits the request rate. Default 80, the
	// documented limit of the method.
	RequestsPerMinute float64
	// Burst is the number of requests sent at once after an idle period.
	// Default 1, because Ozon documents no burst.
	Burst int
	// PairInterval is the least time between two updates of one
	// offer_id on the warehouse. Default 30 s, Ozon's rule.
	PairInterval time.Duration
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

	// PriceRequestsPerSecond limits the rate of price requests, which
	// have their own limiter. Default DefaultPriceRequestsPerSecond.
	PriceRequestsPerSecond float64
	// PriceUpdatesPerWindow is the number of price updates of one
	// offer_id that PriceUpdateWindow allows. Default 10, Ozon's rule.
	PriceUpdatesPerWindow int
	// PriceUpdateWindow is the sliding window of PriceUpdatesPerWindow.
	// Default 1 h, Ozon's rule.
	PriceUpdateWindow time.Duration
}

func withUserAgent(h map[string]string, ua string) map[string]string {
	if ua != "" {
		h["User-Agent"] = ua
	}
	return h
}

// Adapter implements adapters.StockPusher and adapters.PricePusher for
// Ozon. ExternalID is the offer_id (the seller's article).
type Adapter struct {
	cfg         Config
	client      *httpx.Client
	priceClient *httpx.Client

	mu        sync.Mutex
	lastSent  map[string]time.Time   // offer_id -> time of the last stock request that carried it
	priceSent map[string][]time.Time // offer_id -> times of price requests that carried it, within PriceUpdateWindow
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
	if cfg.PairInterval == 0 {
		cfg.PairInterval = DefaultPairInterval
	}
	if cfg.Clock == nil {
		cfg.Clock = retry.SystemClock()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	setPriceDefaults(&cfg)

	var errs []error
	if cfg.ClientID == "" {
		errs = append(errs, errors.New("ClientID is missing"))
	}
	if cfg.APIKey == "" {
		errs = append(errs, errors.New("APIKey is missing"))
	}
	if cfg.WarehouseID <= 0 {
		errs = append(errs, fmt.Errorf("WarehouseID is %d, must be a positive Ozon warehouse id", cfg.WarehouseID))
	}
	if cfg.PairInterval < 0 {
		errs = append(errs, fmt.Errorf("PairInterval is %s, must not be negative", cfg.PairInterval))
	}
	errs = append(errs, validatePriceConfig(cfg)...)
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ozon config: %w", err)
	}

	client, err := httpx.New(httpx.Config{
		Channel:       "ozon",
		BaseURL:       cfg.BaseURL,
		Timeout:       cfg.Timeout,
		RatePerSecond: cfg.RequestsPerMinute / 60,
		Burst:         cfg.Burst,
		Policy:        cfg.Policy,
		Breaker:       cfg.Breaker,
		Clock:         cfg.Clock,
		Logger:        cfg.Logger,
		Headers:       withUserAgent(map[string]string{"Client-Id": cfg.ClientID, "Api-Key": cfg.APIKey}, cfg.UserAgent),
		Transport:     cfg.Transport,
	})
	if err != nil {
		return nil, err
	}
	priceClient, err := newPriceClient(cfg)
	if err != nil {
		return nil, err
	}
	return &Adapter{
		cfg:         cfg,
		client:      client,
		priceClient: priceClient,
		lastSent:    map[string]time.Time{},
		priceSent:   map[string][]time.Time{},
	}, nil
}

// MaxBatch returns the number of pairs Ozon accepts in one request.
func (a *Adapter) MaxBatch() int { return MaxItemsPerRequest }

// BreakerState returns the state of the adapter's circuit breaker.
func (a *Adapter) BreakerState() string { return a.client.BreakerState() }

type stockItem struct {
	OfferID     string `json:"offer_id"`
	Stock       int64  `json:"stock"`
	WarehouseID int64  `json:"warehouse_id"`
}

type stocksRequest struct {
	Stocks []stockItem `json:"stocks"`
}

type itemError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type itemResult struct {
	WarehouseID int64       `json:"warehouse_id"`
	ProductID   int64       `json:"product_id"`
	OfferID     string      `json:"offer_id"`
	Updated     bool        `json:"updated"`
	Errors      []itemError `json:"errors"`
}

type stocksResponse struct {
	Result []itemResult `json:"result"`
}

// PushStock sends items in requests of at most 100 pairs. An item whose
// offer_id was sent less than PairInterval ago is not sent and gets a
// *retry.DeferredError; an item without offer_id or with a negative
// quantity gets a permanent error. The offer_id is recorded as sent when a
// request carrying it goes out, whatever the answer, because Ozon may have
// applied a request whose answer was lost.
func (a *Adapter) PushStock(ctx context.Context, items []adapters.StockItem) ([]adapters.ItemResult, error) {
	results := make([]adapters.ItemResult, len(items))
	for i, item := range items {
		results[i].SKU = item.SKU
	}

	batch := make([]int, 0, MaxItemsPerRequest)
	for i, item := range items {
		if err := a.admit(item); err != nil {
			results[i].Err = err
			a.logItemError(item, err)
			continue
		}
		batch = append(batch, i)
		if len(batch) == MaxItemsPerRequest {
			if err := a.sendBatch(ctx, items, batch, results); err != nil {
				return results[:batch[0]], err
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		if err := a.sendBatch(ctx, items, batch, results); err != nil {
			return results[:batch[0]], err
		}
	}
	return results, nil
}

// admit checks an item before it is sent and reserves its pair.
func (a *Adapter) admit(item adapters.StockItem) error {
	if item.ExternalID == "" {
		return retry.Permanent(fmt.Errorf("ozon: SKU %s has no offer_id (empty ExternalID)", item.SKU))
	}
	if item.Quantity < 0 {
		return retry.Permanent(fmt.Errorf("ozon: SKU %s has negative quantity %d", item.SKU, item.Quantity))
	}

	now := a.cfg.Clock.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	if last, ok := a.lastSent[item.ExternalID]; ok {
		if next := last.Add(a.cfg.PairInterval); now.Before(next) {
			return &retry.DeferredError{
				Until: next,
				Err:   fmt.Errorf("ozon: offer_id %q on warehouse %d was sent %s ago, and Ozon allows one update per %s", item.ExternalID, a.cfg.WarehouseID, now.Sub(last), a.cfg.PairInterval),
			}
		}
	}
	a.lastSent[item.ExternalID] = now
	return nil
}

// sendBatch sends the items at indexes and fills their results. It returns
// an error only when the request failed as a whole.
func (a *Adapter) sendBatch(ctx context.Context, items []adapters.StockItem, indexes []int, results []adapters.ItemResult) error {
	body := stocksRequest{Stocks: make([]stockItem, len(indexes))}
	for n, i := range indexes {
		body.Stocks[n] = stockItem{OfferID: items[i].ExternalID, Stock: items[i].Quantity, WarehouseID: a.cfg.WarehouseID}
	}

	resp, err := a.client.Do(ctx, httpx.Request{
		Method:   http.MethodPost,
		Path:     stocksPath,
		Body:     body,
		LogAttrs: []slog.Attr{slog.Int("items", len(indexes)), slog.Int64("warehouse_id", a.cfg.WarehouseID)},
	})
	if err != nil {
		return err
	}

	var answer stocksResponse
	if err := json.Unmarshal(resp.Body, &answer); err != nil {
		return retry.Retriable(fmt.Errorf("ozon: decode answer to %s: %w", stocksPath, err))
	}
	byOffer := make(map[string]itemResult, len(answer.Result))
	for _, r := range answer.Result {
		if r.WarehouseID == 0 || r.WarehouseID == a.cfg.WarehouseID {
			byOffer[r.OfferID] = r
		}
	}

	now := a.cfg.Clock.Now()
	for _, i := range indexes {
		item := items[i]
		r, ok := byOffer[item.ExternalID]
		if !ok {
			results[i].Err = retry.Retriable(fmt.Errorf("ozon: answer has no result for offer_id %q (SKU %s)", item.ExternalID, item.SKU))
		} else {
			results[i].Err = a.itemOutcome(item, r, now)
		}
		if results[i].Err != nil {
			a.logItemError(item, results[i].Err)
		}
	}
	return nil
}

func (a *Adapter) logItemError(item adapters.StockItem, err error) {
	a.cfg.Logger.Warn("stock item not updated",
		slog.String("sku", item.SKU), slog.String("offer_id", item.ExternalID),
		slog.String("class", retry.Classify(err).String()), slog.Any("error", err))
}

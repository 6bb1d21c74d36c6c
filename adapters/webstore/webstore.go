package webstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/httpx"
	"obmenhub/retry"
)

// Event names, sent in the body and in X-Obmenhub-Event.
const (
	EventStock = "stock.updated"
	EventPrice = "price.updated"
)

// Defaults of Config fields. The store is the seller's own server with no
// published limits, so these are modest starting values, not a vendor's
// documented figures.
const (
	DefaultChannel           = "webstore"
	DefaultBatchSize         = 500
	DefaultRequestsPerMinute = 60
	DefaultBurst             = 1
	// MinSecretLength is the shortest shared secret New accepts, in bytes.
	MinSecretLength = 16
)

// Config configures an Adapter for one store endpoint.
type Config struct {
	// Channel names the channel in logs, errors and the breaker.
	// Default "webstore".
	Channel string
	// URL is the store's webhook endpoint, such as
	// https://shop.example/obmenhub/webhook. Required, http or https.
	URL string
	// Secret is the key of the HMAC-SHA256 signature that the store
	// shares. Required, at least MinSecretLength bytes, never logged.
	Secret string
	// BatchSize is the most items in one request, for stock and prices
	// alike. Default 500.
	BatchSize int
	// RequestsPerMinute limits the request rate. Default 60.
	RequestsPerMinute float64
	// Burst is the number of requests sent at once after an idle period.
	// Default 1.
	Burst int
	// Timeout bounds one attempt of a request. Default 30 s.
	Timeout time.Duration
	// Policy retries failed requests.
	Policy retry.Policy
	// Breaker configures the circuit breaker.
	Breaker httpx.BreakerConfig
	// Clock is the time source of the limiter, the retries and the
	// signature timestamp. Default retry.SystemClock().
	Clock retry.Clock
	// Logger receives failures, retries and rejected items.
	// Default slog.Default().
	Logger *slog.Logger
	// Transport replaces the default HTTP transport, for tests. The
	// adapter wraps it to sign each request.
	Transport http.RoundTripper
	// UserAgent is sent as the User-Agent header, naming the hub instance
	// in the store's logs. Default resty's own.
	UserAgent string
}

func (c *Config) setDefaults() {
	if c.Channel == "" {
		c.Channel = DefaultChannel
	}
	if c.BatchSize == 0 {
		c.BatchSize = DefaultBatchSize
	}
	if c.RequestsPerMinute == 0 {
		c.RequestsPerMinute = DefaultRequestsPerMinute
	}
	if c.Burst == 0 {
		c.Burst = DefaultBurst
	}
	if c.Clock == nil {
		c.Clock = retry.SystemClock()
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Transport == nil {
		c.Transport = http.DefaultTransport
	}
}

func (c *Config) validate() error {
	var errs []error
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("URL %q must be an absolute http:// or https:// URL of the store's webhook endpoint", c.URL))
	}
	if len(c.Secret) < MinSecretLength {
		errs = append(errs, fmt.Errorf("Secret has %d bytes, must have at least %d; generate one with `openssl rand -hex 32` and give the store the same value", len(c.Secret), MinSecretLength))
	}
	if c.BatchSize < 1 {
		errs = append(errs, fmt.Errorf("BatchSize is %d, must be at least 1", c.BatchSize))
	}
	if c.RequestsPerMinute < 0 {
		errs = append(errs, fmt.Errorf("RequestsPerMinute is %v, must be greater than 0", c.RequestsPerMinute))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("webstore config for channel %q: %w", c.Channel, err)
	}
	return nil
}

// Adapter implements adapters.StockPusher and adapters.PricePusher for a
// store that receives webhooks. It is safe for concurrent use.
type Adapter struct {
	cfg    Config
	client *httpx.Client
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

	headers := map[string]string{}
	if cfg.UserAgent != "" {
		headers["User-Agent"] = cfg.UserAgent
	}
	client, err := httpx.New(httpx.Config{
		Channel: cfg.Channel,
		// The endpoint is a full URL and every request uses it as its
		// path, so BaseURL only satisfies httpx's check.
		BaseURL:       cfg.URL,
		Timeout:       cfg.Timeout,
		RatePerSecond: cfg.RequestsPerMinute / 60,
		Burst:         cfg.Burst,
		Policy:        cfg.Policy,
		Breaker:       cfg.Breaker,
		Clock:         cfg.Clock,
		Logger:        cfg.Logger.With(slog.String("channel", cfg.Channel)),
		Headers:       headers,
		Transport:     &signingTransport{next: cfg.Transport, secret: []byte(cfg.Secret), clock: cfg.Clock},
	})
	if err != nil {
		return nil, err
	}
	return &Adapter{cfg: cfg, client: client}, nil
}

// MaxBatch returns Config.BatchSize.
func (a *Adapter) MaxBatch() int { return a.cfg.BatchSize }

// MaxPriceBatch returns Config.BatchSize.
func (a *Adapter) MaxPriceBatch() int { return a.cfg.BatchSize }

// BreakerState returns the state of the adapter's circuit breaker.
func (a *Adapter) BreakerState() string { return a.client.BreakerState() }

// stockItem and priceItem are the items of the webhook body.
type stockItem struct {
	SKU        string `json:"sku"`
	ExternalID string `json:"external_id"`
	Quantity   int64  `json:"quantity"`
}

type priceItem struct {
	SKU        string `json:"sku"`
	ExternalID string `json:"external_id"`
	Price      string `json:"price"`
	OldPrice   string `json:"old_price,omitempty"`
	Currency   string `json:"currency,omitempty"`
}

type webhookBody[T any] struct {
	Event      string `json:"event"`
	DeliveryID string `json:"delivery_id"`
	SentAt     string `json:"sent_at"`
	Items      []T    `json:"items"`
}

// PushStock sends items in requests of at most BatchSize. An item without
// a SKU or with a negative quantity gets a permanent error and is not sent.
func (a *Adapter) PushStock(ctx context.Context, items []adapters.StockItem) ([]adapters.ItemResult, error) {
	keys := make([]itemKey, len(items))
	for i, item := range items {
		keys[i] = itemKey{SKU: item.SKU, ExternalID: item.ExternalID}
	}
	check := func(i int) error { return checkStock(a.cfg.Channel, items[i]) }
	send := func(ctx context.Context, indexes []int) (map[int]error, error) {
		body := make([]stockItem, len(indexes))
		for n, i := range indexes {
			body[n] = stockItem{SKU: items[i].SKU, ExternalID: items[i].ExternalID, Quantity: items[i].Quantity}
		}
		return deliver(ctx, a, EventStock, body, keys, indexes)
	}
	return a.push(ctx, keys, check, send)
}

// PushPrices sends items in requests of at most BatchSize. An item without
// a SKU, with a price that is not positive or with a negative old price
// gets a permanent error and is not sent.
func (a *Adapter) PushPrices(ctx context.Context, items []adapters.PriceItem) ([]adapters.ItemResult, error) {
	keys := make([]itemKey, len(items))
	for i, item := range items {
		keys[i] = itemKey{SKU: item.SKU, ExternalID: item.ExternalID}
	}
	check := func(i int) error { return checkPrice(a.cfg.Channel, items[i]) }
	send := func(ctx context.Context, indexes []int) (map[int]error, error) {
		body := make([]priceItem, len(indexes))
		for n, i := range indexes {
			body[n] = toPriceItem(items[i])
		}
		return deliver(ctx, a, EventPrice, body, keys, indexes)
	}
	return a.push(ctx, keys, check, send)
}

func toPriceItem(item adapters.PriceItem) priceItem {
	p := priceItem{SKU: item.SKU, ExternalID: item.ExternalID, Price: item.Price.Trim(0).String(), Currency: item.Currency}
	if !item.OldPrice.IsZero() {
		p.OldPrice = item.OldPrice.Trim(0).String()
	}
	return p
}

func checkStock(channel string, item adapters.StockItem) error {
	if item.SKU == "" {
		return retry.Permanent(fmt.Errorf("%s: stock item with ExternalID %q has an empty SKU", channel, item.ExternalID))
	}
	if item.Quantity < 0 {
		return retry.Permanent(fmt.Errorf("%s: SKU %s has quantity %d, must not be negative", channel, item.SKU, item.Quantity))
	}
	return nil
}

func checkPrice(channel string, item adapters.PriceItem) error {
	if item.SKU == "" {
		return retry.Permanent(fmt.Errorf("%s: price item with ExternalID %q has an empty SKU", channel, item.ExternalID))
	}
	if item.Price.Sign() <= 0 {
		return retry.Permanent(fmt.Errorf("%s: SKU %s has price %s, must be greater than 0", channel, item.SKU, item.Price.Trim(0)))
	}
	if item.OldPrice.Sign() < 0 {
		return retry.Permanent(fmt.Errorf("%s: SKU %s has old price %s, must not be negative", channel, item.SKU, item.OldPrice.Trim(0)))
	}
	return nil
}

// push checks every item, sends the valid ones in batches of BatchSize and
// fills one result per item. send returns the errors of rejected items by
// index, or an error when the request failed as a whole; push then stops
// and returns the results settled before that batch.
func (a *Adapter) push(ctx context.Context, keys []itemKey, check func(i int) error, send func(ctx context.Context, indexes []int) (map[int]error, error)) ([]adapters.ItemResult, error) {
	results := make([]adapters.ItemResult, len(keys))
	for i, key := range keys {
		results[i].SKU = key.SKU
	}

	flush := func(batch []int) error {
		itemErrs, err := send(ctx, batch)
		if err != nil {
			return err
		}
		for i, itemErr := range itemErrs {
			results[i].Err = itemErr
		}
		return nil
	}

	batch := make([]int, 0, min(a.cfg.BatchSize, len(keys)))
	for i := range keys {
		if err := check(i); err != nil {
			results[i].Err = err
			a.logItemError(keys[i], "", err)
			continue
		}
		batch = append(batch, i)
		if len(batch) == a.cfg.BatchSize {
			if err := flush(batch); err != nil {
				return results[:batch[0]], err
			}
			batch = batch[:0]
		}
	}
	if len(batch) > 0 {
		if err := flush(batch); err != nil {
			return results[:batch[0]], err
		}
	}
	return results, nil
}

// deliver sends one signed webhook with the given items and returns the
// errors of the items the store rejected, by index.
func deliver[T any](ctx context.Context, a *Adapter, event string, items []T, keys []itemKey, indexes []int) (map[int]error, error) {
	id, err := newDeliveryID()
	if err != nil {
		return nil, retry.Retriable(fmt.Errorf("%s: create delivery id: %w", a.cfg.Channel, err))
	}
	raw, err := json.Marshal(webhookBody[T]{
		Event:      event,
		DeliveryID: id,
		SentAt:     a.cfg.Clock.Now().UTC().Format(time.RFC3339Nano),
		Items:      items,
	})
	if err != nil {
		return nil, retry.Permanent(fmt.Errorf("%s: encode %s webhook: %w", a.cfg.Channel, event, err))
	}

	resp, err := a.client.Do(withDelivery(ctx, delivery{id: id, event: event}), httpx.Request{
		Method: http.MethodPost,
		Path:   a.cfg.URL,
		Body:   raw,
		LogAttrs: []slog.Attr{
			slog.String("event", event), slog.String("delivery_id", id), slog.Int("items", len(indexes)),
		},
	})
	if err != nil {
		return nil, a.explain(err, id)
	}

	itemErrs := a.applyRejected(resp.Body, id, keys, indexes)
	a.cfg.Logger.Debug("webhook delivered",
		slog.String("channel", a.cfg.Channel), slog.String("event", event), slog.String("delivery_id", id),
		slog.Int("items", len(indexes)), slog.Int("rejected", len(itemErrs)))
	return itemErrs, nil
}

// explain adds the delivery id to a failed request's error and, for 401,
// names the likely cause. The retry class is kept.
func (a *Adapter) explain(err error, deliveryID string) error {
	var status *httpx.StatusError
	if errors.As(err, &status) && status.StatusCode == http.StatusUnauthorized {
		return fmt.Errorf("%w (delivery %s; the store rejected the signature: check that it uses the same secret and the scheme in the webstore package documentation, and that its clock is within %s of the hub's)", err, deliveryID, DefaultTolerance)
	}
	return fmt.Errorf("%w (delivery %s)", err, deliveryID)
}

func newDeliveryID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

func (a *Adapter) logItemError(key itemKey, deliveryID string, err error) {
	attrs := []any{
		slog.String("channel", a.cfg.Channel), slog.String("sku", key.SKU), slog.String("external_id", key.ExternalID),
		slog.String("class", retry.Classify(err).String()), slog.Any("error", err),
	}
	if deliveryID != "" {
		attrs = append(attrs, slog.String("delivery_id", deliveryID))
	}
	a.cfg.Logger.Warn("item not updated", attrs...)
}

// Package generic pushes stock and prices to an HTTP API that is described
// entirely in YAML: endpoint, method, authentication, headers, a
// text/template for each request body, and rules that read success and
// per-item failures from the response. A seller adds such a channel to the
// hub's config without writing Go.
//
// An example, as it appears under a channel's generic: key:
//
//	url: https://shop.example/api/v1/stock
//	method: POST
//	content_type: application/json
//	auth:
//	  type: bearer            # none, basic (user, password_env), bearer (token_env), header (name, value_env)
//	  token_env: SHOP_TOKEN
//	headers:
//	  X-Source: obmenhub
//	batch_size: 100
//	requests_per_minute: 60
//	timeout: 30s
//	stock:
//	  body: |
//	    {"batch": {{json .BatchID}}, "items": [
//	    {{- range $i, $it := .Items}}{{if $i}},{{end}}
//	      {"id": {{json $it.ExternalID}}, "qty": {{$it.Quantity}}}
//	    {{- end}}]}
//	price:                    # optional; without it the channel gets stock only
//	  url: https://shop.example/api/v1/prices
//	  body: '{"prices": {{json .Items}}}'
//	response:
//	  success_status: [200, 207]
//	  item_errors:
//	    path: errors          # GJSON path to the list of failures
//	    id_field: id
//	    match: external_id    # or sku
//	    message_field: message
//	    code_field: code
//	    class: permanent      # or retriable
//	    retriable_codes: [LOCKED]
//
// # Templates
//
// A body template is Go text/template (https://pkg.go.dev/text/template)
// and renders TemplateData: .Kind ("stock" or "price"), .Items, .BatchID
// and .SentAt. A stock item has .SKU, .ExternalID and .Quantity; a price
// item has .SKU, .ExternalID, .Price, .OldPrice and .Currency, with prices
// as decimal strings. Referring to a field the kind does not have is an
// error. Helpers: json (encode any value as JSON, so {{json .SKU}} is a
// safely quoted string and {{json .Items}} a whole array), xml (escape
// text), unix and rfc3339 (format a time), and the built-in urlquery for
// form bodies such as
//
//	content_type: application/x-www-form-urlencoded
//	stock:
//	  body: '{{range $i, $it := .Items}}{{if $i}}&{{end}}stock[{{urlquery $it.ExternalID}}]={{$it.Quantity}}{{end}}'
//
// Validate parses every template and renders it with sample items,
// including a SKU with a quote and a backslash, so an unknown field or a
// JSON body with unescaped values fails when the config is loaded. When
// content_type contains "json", every rendered body must be valid JSON or
// the request is not sent.
//
// # Responses
//
// A status in response.success_status (default: every 2xx) means the
// request was taken. When response.item_errors is set, the adapter then
// looks up its path in the JSON response: each object found there is one
// failure, matched to an item of the request by id_field. A failure
// without an id applies to every item of the request. Items that no
// failure names are confirmed. Any other status fails the whole request:
// 429 with Retry-After is deferred, 408, 409, 5xx and timeouts are
// retried, and other 4xx are permanent.
package generic

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"text/template"

	"obmenhub/adapters"
	"obmenhub/adapters/httpx"
	"obmenhub/retry"
)

// Options are the adapter's settings that do not come from YAML.
type Options struct {
	// Channel names the channel in logs, errors and the breaker. Required.
	Channel string
	// Policy retries failed requests.
	Policy retry.Policy
	// Breaker configures the circuit breaker.
	Breaker httpx.BreakerConfig
	// Clock is the time source. Default retry.SystemClock().
	Clock retry.Clock
	// Logger receives failures, retries and item errors.
	// Default slog.Default().
	Logger *slog.Logger
	// Transport replaces the default HTTP transport, for tests.
	Transport http.RoundTripper
	// UserAgent is sent as the User-Agent header unless Config.Headers
	// sets one. Default resty's own.
	UserAgent string
}

// operation is a prepared stock or price request.
type operation struct {
	kind   string
	url    string
	method string
	body   *template.Template
}

// Adapter implements adapters.StockPusher, and adapters.PricePusher when
// the config has a price section. It is safe for concurrent use.
type Adapter struct {
	cfg    Config
	opts   Options
	client *httpx.Client
	stock  operation
	price  *operation
	log    *slog.Logger
}

var _ adapters.StockPusher = (*Adapter)(nil)

// New returns an Adapter for cfg, which must have its secrets resolved
// (see Config.Resolve). It fills defaults and validates cfg first.
func New(cfg Config, opts Options) (*Adapter, error) {
	cfg.SetDefaults()
	if opts.Channel == "" {
		return nil, errors.New("generic adapter: Options.Channel is empty; give the channel's name")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("generic channel %q: %w", opts.Channel, err)
	}
	headers, err := cfg.requestHeaders(opts.UserAgent)
	if err != nil {
		return nil, fmt.Errorf("generic channel %q: %w", opts.Channel, err)
	}
	if opts.Clock == nil {
		opts.Clock = retry.SystemClock()
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport
	}

	a := &Adapter{cfg: cfg, opts: opts, log: opts.Logger.With(slog.String("channel", opts.Channel))}
	if a.stock, err = a.prepare(KindStock, &cfg.Stock); err != nil {
		return nil, err
	}
	if cfg.Price != nil {
		price, err := a.prepare(KindPrice, cfg.Price)
		if err != nil {
			return nil, err
		}
		a.price = &price
	}

	a.client, err = httpx.New(httpx.Config{
		Channel: opts.Channel,
		// Every request names its full URL, so BaseURL only satisfies
		// httpx's check.
		BaseURL:       a.stock.url,
		Timeout:       cfg.Timeout,
		RatePerSecond: cfg.RequestsPerMinute / 60,
		Burst:         cfg.Burst,
		Policy:        opts.Policy,
		Breaker:       opts.Breaker,
		Clock:         opts.Clock,
		Logger:        a.log,
		Headers:       headers,
		Transport:     contentTypeTransport{next: opts.Transport, contentType: cfg.ContentType},
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Adapter) prepare(kind string, op *OperationConfig) (operation, error) {
	tmpl, err := parseBody(kind+".body", op.Body)
	if err != nil {
		return operation{}, err
	}
	u, m := a.cfg.operation(op)
	return operation{kind: kind, url: u, method: m, body: tmpl}, nil
}

// requestHeaders returns the static headers with the credentials.
func (c *Config) requestHeaders(userAgent string) (map[string]string, error) {
	headers := map[string]string{}
	if userAgent != "" {
		headers["User-Agent"] = userAgent
	}
	for k, v := range c.Headers {
		headers[k] = v
	}

	a := c.Auth
	unresolved := func(key, env string) error {
		return fmt.Errorf("auth.%s: the secret from %s is empty; call Config.Resolve before New", key, env)
	}
	switch a.Type {
	case AuthBasic:
		if a.Password == "" {
			return nil, unresolved("password_env", a.PasswordEnv)
		}
		headers["Authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(a.User+":"+a.Password))
	case AuthBearer:
		if a.Token == "" {
			return nil, unresolved("token_env", a.TokenEnv)
		}
		headers["Authorization"] = "Bearer " + a.Token
	case AuthHeader:
		if a.Value == "" {
			return nil, unresolved("value_env", a.ValueEnv)
		}
		headers[a.Name] = a.Value
	}
	return headers, nil
}

// MaxBatch returns the configured batch_size.
func (a *Adapter) MaxBatch() int { return a.cfg.BatchSize }

// MaxPriceBatch returns the configured batch_size.
func (a *Adapter) MaxPriceBatch() int { return a.cfg.BatchSize }

// BreakerState returns the state of the adapter's circuit breaker.
func (a *Adapter) BreakerState() string { return a.client.BreakerState() }

// PricePusher returns the adapter as an adapters.PricePusher, or false
// when the config has no price section.
func (a *Adapter) PricePusher() (adapters.PricePusher, bool) {
	if a.price == nil {
		return nil, false
	}
	return a, true
}

// PushStock renders items in requests of at most batch_size with the
// stock template. An item with an empty SKU or a negative quantity gets a
// permanent error and is not sent.
func (a *Adapter) PushStock(ctx context.Context, items []adapters.StockItem) ([]adapters.ItemResult, error) {
	keys := make([]itemKey, len(items))
	for i, item := range items {
		keys[i] = itemKey{SKU: item.SKU, ExternalID: item.ExternalID}
	}
	check := func(i int) error {
		switch {
		case items[i].SKU == "":
			return retry.Permanent(fmt.Errorf("%s: stock item with ExternalID %q has an empty SKU", a.opts.Channel, items[i].ExternalID))
		case items[i].Quantity < 0:
			return retry.Permanent(fmt.Errorf("%s: SKU %s has quantity %d, must not be negative", a.opts.Channel, items[i].SKU, items[i].Quantity))
		}
		return nil
	}
	build := func(indexes []int) any {
		out := make([]StockTemplateItem, len(indexes))
		for n, i := range indexes {
			out[n] = StockTemplateItem{SKU: items[i].SKU, ExternalID: items[i].ExternalID, Quantity: items[i].Quantity}
		}
		return out
	}
	return a.push(ctx, &a.stock, keys, check, build)
}

// PushPrices renders items in requests of at most batch_size with the
// price template. An item with an empty SKU, a price that is not positive
// or a negative old price gets a permanent error and is not sent. Without
// a price section every item fails as permanent.
func (a *Adapter) PushPrices(ctx context.Context, items []adapters.PriceItem) ([]adapters.ItemResult, error) {
	if a.price == nil {
		return nil, retry.Permanent(fmt.Errorf("%s: the channel config has no price section, so it takes no prices", a.opts.Channel))
	}
	keys := make([]itemKey, len(items))
	for i, item := range items {
		keys[i] = itemKey{SKU: item.SKU, ExternalID: item.ExternalID}
	}
	check := func(i int) error {
		item := items[i]
		switch {
		case item.SKU == "":
			return retry.Permanent(fmt.Errorf("%s: price item with ExternalID %q has an empty SKU", a.opts.Channel, item.ExternalID))
		case item.Price.Sign() <= 0:
			return retry.Permanent(fmt.Errorf("%s: SKU %s has price %s, must be greater than 0", a.opts.Channel, item.SKU, item.Price.Trim(0)))
		case item.OldPrice.Sign() < 0:
			return retry.Permanent(fmt.Errorf("%s: SKU %s has old price %s, must not be negative", a.opts.Channel, item.SKU, item.OldPrice.Trim(0)))
		}
		return nil
	}
	build := func(indexes []int) any {
		out := make([]PriceTemplateItem, len(indexes))
		for n, i := range indexes {
			item := items[i]
			out[n] = PriceTemplateItem{SKU: item.SKU, ExternalID: item.ExternalID, Price: item.Price.Trim(0).String(), Currency: item.Currency}
			if !item.OldPrice.IsZero() {
				out[n].OldPrice = item.OldPrice.Trim(0).String()
			}
		}
		return out
	}
	return a.push(ctx, a.price, keys, check, build)
}

// push checks every item, sends the valid ones in batches of batch_size
// and fills one result per item. When a request fails as a whole it stops
// and returns the results settled before that batch.
func (a *Adapter) push(ctx context.Context, op *operation, keys []itemKey, check func(i int) error, build func(indexes []int) any) ([]adapters.ItemResult, error) {
	results := make([]adapters.ItemResult, len(keys))
	for i, key := range keys {
		results[i].SKU = key.SKU
	}

	flush := func(batch []int) error {
		itemErrs, err := a.send(ctx, op, build(batch), keys, batch)
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

// send renders and sends one request, and returns the errors of the
// items that the response names as failed, by index.
func (a *Adapter) send(ctx context.Context, op *operation, templateItems any, keys []itemKey, indexes []int) (map[int]error, error) {
	batchID, err := newBatchID()
	if err != nil {
		return nil, retry.Retriable(fmt.Errorf("%s: create batch id: %w", a.opts.Channel, err))
	}
	data := TemplateData{Kind: op.kind, Items: templateItems, BatchID: batchID, SentAt: a.opts.Clock.Now().UTC()}
	body, err := render(op.body, data, a.cfg.ContentType)
	if err != nil {
		// The template passed the config-time dry run, so this is a value
		// of these items that it cannot handle; sending again cannot help.
		return nil, retry.Permanent(fmt.Errorf("%s: %s.body: %w", a.opts.Channel, op.kind, err))
	}

	resp, err := a.client.Do(ctx, httpx.Request{
		Method:       op.method,
		Path:         op.url,
		Body:         body,
		AcceptStatus: a.acceptStatus(),
		LogAttrs:     []slog.Attr{slog.String("kind", op.kind), slog.String("batch_id", batchID), slog.Int("items", len(indexes))},
	})
	if err != nil {
		return nil, fmt.Errorf("%w (batch %s)", err, batchID)
	}
	if codes := a.cfg.Response.SuccessStatus; len(codes) > 0 && !slices.Contains(codes, resp.StatusCode) {
		return nil, retry.Permanent(fmt.Errorf("%s: responded with HTTP %d, which is not in response.success_status %v (batch %s): %s",
			a.opts.Channel, resp.StatusCode, codes, batchID, snippet(resp.Body)))
	}

	itemErrs := a.itemErrors(resp.Body, batchID, keys, indexes)
	a.log.Debug("request delivered", slog.String("kind", op.kind), slog.String("batch_id", batchID),
		slog.Int("status", resp.StatusCode), slog.Int("items", len(indexes)), slog.Int("failed", len(itemErrs)))
	return itemErrs, nil
}

// acceptStatus returns the success statuses that httpx would otherwise
// treat as failures.
func (a *Adapter) acceptStatus() []int {
	var out []int
	for _, code := range a.cfg.Response.SuccessStatus {
		if code < 200 || code > 299 {
			out = append(out, code)
		}
	}
	return out
}

func newBatchID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}

func (a *Adapter) logItemError(key itemKey, batchID string, err error) {
	attrs := []any{
		slog.String("sku", key.SKU), slog.String("external_id", key.ExternalID),
		slog.String("class", retry.Classify(err).String()), slog.Any("error", err),
	}
	if batchID != "" {
		attrs = append(attrs, slog.String("batch_id", batchID))
	}
	a.log.Warn("item not updated", attrs...)
}

// contentTypeTransport sets the configured Content-Type, which httpx
// would otherwise send as application/json.
type contentTypeTransport struct {
	next        http.RoundTripper
	contentType string
}

func (t contentTypeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.Clone(req.Context())
	out.Header.Set("Content-Type", t.contentType)
	return t.next.RoundTrip(out)
}

package ozon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/httpx"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

// Limits of POST /v1/product/import/prices, from the Ozon Seller API spec
// (info.version 2.1, news up to 15 Aug 2025).
const (
	// MaxPricesPerRequest is the maxItems of the request's prices array.
	MaxPricesPerRequest = 1000
	// DefaultPriceUpdatesPerWindow and DefaultPriceUpdateWindow are the
	// method's rule that the price of each product may be updated at most
	// 10 times per hour.
	DefaultPriceUpdatesPerWindow = 10
	DefaultPriceUpdateWindow     = time.Hour
	// DefaultPriceRequestsPerSecond leaves room for the stock method's 80
	// requests per minute within the account-wide limit of 50 requests per
	// second for all methods of one Client-Id. The spec gives the price
	// method no limit of its own.
	DefaultPriceRequestsPerSecond = 48

	pricesPath = "/v1/product/import/prices"
)

// priceCurrencies are the values of currency_code that the spec lists.
var priceCurrencies = map[string]bool{"RUB": true, "BYN": true, "KZT": true, "EUR": true, "USD": true, "CNY": true}

func setPriceDefaults(cfg *Config) {
	if cfg.PriceRequestsPerSecond == 0 {
		cfg.PriceRequestsPerSecond = DefaultPriceRequestsPerSecond
	}
	if cfg.PriceUpdatesPerWindow == 0 {
		cfg.PriceUpdatesPerWindow = DefaultPriceUpdatesPerWindow
	}
	if cfg.PriceUpdateWindow == 0 {
		cfg.PriceUpdateWindow = DefaultPriceUpdateWindow
	}
}

func validatePriceConfig(cfg Config) []error {
	var errs []error
	if cfg.PriceUpdatesPerWindow < 0 {
		errs = append(errs, fmt.Errorf("PriceUpdatesPerWindow is %d, must not be negative", cfg.PriceUpdatesPerWindow))
	}
	if cfg.PriceUpdateWindow < 0 {
		errs = append(errs, fmt.Errorf("PriceUpdateWindow is %s, must not be negative", cfg.PriceUpdateWindow))
	}
	return errs
}

// newPriceClient returns the client of the price method: the same host and
// credentials as the stock client, with its own rate limiter and breaker.
func newPriceClient(cfg Config) (*httpx.Client, error) {
	return httpx.New(httpx.Config{
		Channel:       "ozon",
		BaseURL:       cfg.BaseURL,
		Timeout:       cfg.Timeout,
		RatePerSecond: cfg.PriceRequestsPerSecond,
		Burst:         cfg.Burst,
		Policy:        cfg.Policy,
		Breaker:       cfg.Breaker,
		Clock:         cfg.Clock,
		Logger:        cfg.Logger.With(slog.String("api", "prices")),
		Headers:       withUserAgent(map[string]string{"Client-Id": cfg.ClientID, "Api-Key": cfg.APIKey}, cfg.UserAgent),
		Transport:     cfg.Transport,
	})
}

// MaxPriceBatch returns the number of prices Ozon accepts in one request.
func (a *Adapter) MaxPriceBatch() int { return MaxPricesPerRequest }

type priceItem struct {
	OfferID      string `json:"offer_id"`
	Price        string `json:"price"`
	OldPrice     string `json:"old_price"`
	CurrencyCode string `json:"currency_code,omitempty"`
}

type pricesRequest struct {
	Prices []priceItem `json:"prices"`
}

type priceResult struct {
	ProductID int64       `json:"product_id"`
	OfferID   string      `json:"offer_id"`
	Updated   bool        `json:"updated"`
	Errors    []itemError `json:"errors"`
}

type pricesResponse struct {
	Result []priceResult `json:"result"`
}

// PushPrices sends items in requests of at most 1000 prices. Prices go out
// as decimal strings with at most two decimal places, and old_price is "0"
// when the item has none, which resets the crossed-out price.
//
// An item whose offer_id was sent PriceUpdatesPerWindow times within the
// last PriceUpdateWindow is not sent and gets a *retry.DeferredError. An
// item without offer_id, with a price that is not positive or has more
// than two decimal places, or with a currency the spec does not list gets
// a permanent error. A second item with the same offer_id goes in a later
// request, so the last one wins.
func (a *Adapter) PushPrices(ctx context.Context, items []adapters.PriceItem) ([]adapters.ItemResult, error) {
	results := make([]adapters.ItemResult, len(items))
	for i, item := range items {
		results[i].SKU = item.SKU
	}

	bodies := make([]priceItem, len(items))
	var batch []int
	inBatch := map[string]bool{}
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := a.sendPriceBatch(ctx, items, bodies, batch, results)
		batch = batch[:0]
		clear(inBatch)
		return err
	}

	for i, item := range items {
		body, err := buildPriceItem(item)
		if err != nil {
			results[i].Err = err
			a.logPriceError(item, err)
			continue
		}
		if inBatch[item.ExternalID] || len(batch) == MaxPricesPerRequest {
			first := batch[0]
			if err := flush(); err != nil {
				return results[:first], err
			}
		}
		if err := a.admitPrice(item); err != nil {
			results[i].Err = err
			a.logPriceError(item, err)
			continue
		}
		bodies[i] = body
		batch = append(batch, i)
		inBatch[item.ExternalID] = true
	}
	if len(batch) > 0 {
		first := batch[0]
		if err := flush(); err != nil {
			return results[:first], err
		}
	}
	return results, nil
}

// buildPriceItem checks an item and converts it to the request's form.
func buildPriceItem(item adapters.PriceItem) (priceItem, error) {
	if item.ExternalID == "" {
		return priceItem{}, retry.Permanent(fmt.Errorf("ozon: SKU %s has no offer_id (empty ExternalID)", item.SKU))
	}
	if !item.Price.IsPos() {
		return priceItem{}, retry.Permanent(fmt.Errorf("ozon: SKU %s has price %s, must be greater than 0", item.SKU, item.Price))
	}
	if item.OldPrice.IsNeg() {
		return priceItem{}, retry.Permanent(fmt.Errorf("ozon: SKU %s has old price %s, must be 0 (none) or greater", item.SKU, item.OldPrice))
	}
	price, err := formatPrice(item.SKU, "price", item.Price)
	if err != nil {
		return priceItem{}, err
	}
	oldPrice, err := formatPrice(item.SKU, "old price", item.OldPrice)
	if err != nil {
		return priceItem{}, err
	}
	if item.Currency != "" && !priceCurrencies[item.Currency] {
		return priceItem{}, retry.Permanent(fmt.Errorf("ozon: SKU %s has currency %q; Ozon accepts RUB, BYN, KZT, EUR, USD or CNY, matching the account's settlement currency", item.SKU, item.Currency))
	}
	return priceItem{OfferID: item.ExternalID, Price: price, OldPrice: oldPrice, CurrencyCode: item.Currency}, nil
}

// formatPrice returns d as Ozon's price text: a point as the decimal
// separator and at most two decimal places, which the spec requires.
func formatPrice(sku, field string, d model.Decimal) (string, error) {
	trimmed := d.Trim(0)
	if trimmed.Scale() > 2 {
		return "", retry.Permanent(fmt.Errorf("ozon: SKU %s has %s %s with more than two decimal places; round it in 1C", sku, field, d))
	}
	return trimmed.String(), nil
}

// admitPrice applies the rule of at most PriceUpdatesPerWindow price
// updates of one offer_id per PriceUpdateWindow, and records the update
// when the item may go out. A request counts whatever its response, because
// Ozon may have applied a request whose response was lost.
func (a *Adapter) admitPrice(item adapters.PriceItem) error {
	now := a.cfg.Clock.Now()
	a.mu.Lock()
	defer a.mu.Unlock()

	recent := a.priceSent[item.ExternalID]
	for len(recent) > 0 && !now.Before(recent[0].Add(a.cfg.PriceUpdateWindow)) {
		recent = recent[1:]
	}
	if len(recent) >= a.cfg.PriceUpdatesPerWindow {
		a.priceSent[item.ExternalID] = recent
		return &retry.DeferredError{
			Until: recent[0].Add(a.cfg.PriceUpdateWindow),
			Err:   fmt.Errorf("ozon: the price of offer_id %q was sent %d times in the last %s, and Ozon allows %d updates per %s", item.ExternalID, len(recent), a.cfg.PriceUpdateWindow, a.cfg.PriceUpdatesPerWindow, a.cfg.PriceUpdateWindow),
		}
	}
	a.priceSent[item.ExternalID] = append(recent, now)
	return nil
}

// sendPriceBatch sends the items at indexes and fills their results. It
// returns an error only when the request failed as a whole.
func (a *Adapter) sendPriceBatch(ctx context.Context, items []adapters.PriceItem, bodies []priceItem, indexes []int, results []adapters.ItemResult) error {
	body := pricesRequest{Prices: make([]priceItem, len(indexes))}
	for n, i := range indexes {
		body.Prices[n] = bodies[i]
	}

	resp, err := a.priceClient.Do(ctx, httpx.Request{
		Method:   http.MethodPost,
		Path:     pricesPath,
		Body:     body,
		LogAttrs: []slog.Attr{slog.Int("items", len(indexes))},
	})
	if err != nil {
		return err
	}

	var decoded pricesResponse
	if err := json.Unmarshal(resp.Body, &decoded); err != nil {
		return retry.Retriable(fmt.Errorf("ozon: decode response of %s: %w", pricesPath, err))
	}
	byOffer := make(map[string]priceResult, len(decoded.Result))
	for _, r := range decoded.Result {
		byOffer[r.OfferID] = r
	}

	now := a.cfg.Clock.Now()
	for _, i := range indexes {
		item := items[i]
		r, ok := byOffer[item.ExternalID]
		if !ok {
			results[i].Err = retry.Retriable(fmt.Errorf("ozon: response has no price result for offer_id %q (SKU %s)", item.ExternalID, item.SKU))
		} else {
			results[i].Err = a.priceOutcome(item, r, now)
		}
		if results[i].Err != nil {
			a.logPriceError(item, results[i].Err)
		}
	}
	return nil
}

// Per-item error codes of POST /v1/product/import/prices, from the method's
// table in the "Errors" section and its description in the Ozon Seller API
// spec.
var (
	// permanentPriceCodes need a change of the price or of the product's
	// settings by the seller. The spec spells one code with a space,
	// "invalid_cat egory_price", so both spellings are listed.
	permanentPriceCodes = map[string]bool{
		"invalid_cat egory_price":                 true,
		"invalid_category_price":                  true,
		"discount_for_average_price_is_too_small": true,
		"discount_for_low_price_is_too_small":     true,
		"discount_for_top_price_is_too_small":     true,
		"discount_too_big":                        true,
		"price_negative":                          true,
		"NOT_FOUND_ERROR":                         true,
		"offer_id_not_found":                      true,
		"action_price_enabled_min_price_missing":  true,
	}
	// priceRuleCodes mean that the product's price was updated too often.
	// NOTE: the spec states the rule of 10 updates per hour but names no
	// error code for it; TOO_MANY_REQUESTS is the code of the stock
	// method's similar rule and an assumption here.
	priceRuleCodes = map[string]bool{
		"TOO_MANY_REQUESTS": true,
	}
)

// priceOutcome returns nil for an updated item and a classified error
// otherwise. With several errors the item takes the class that needs the
// least retrying, as in itemOutcome.
func (a *Adapter) priceOutcome(item adapters.PriceItem, r priceResult, now time.Time) error {
	if r.Updated {
		return nil
	}
	if len(r.Errors) == 0 {
		return retry.Retriable(fmt.Errorf("ozon: price of offer_id %q (SKU %s) not updated and no error given", item.ExternalID, item.SKU))
	}

	var permanent, deferred, retriable []error
	for _, e := range r.Errors {
		itemErr := &ItemError{OfferID: item.ExternalID, Code: e.Code, Message: e.Message}
		switch {
		case permanentPriceCodes[e.Code]:
			permanent = append(permanent, itemErr)
		case priceRuleCodes[e.Code]:
			deferred = append(deferred, itemErr)
		default:
			retriable = append(retriable, itemErr)
		}
	}

	switch {
	case len(permanent) > 0:
		return retry.Permanent(errors.Join(permanent...))
	case len(deferred) > 0:
		// Ozon does not say when the window frees up, so wait for one
		// update's share of the window.
		wait := a.cfg.PriceUpdateWindow / time.Duration(max(a.cfg.PriceUpdatesPerWindow, 1))
		return &retry.DeferredError{Until: now.Add(wait), Err: errors.Join(deferred...)}
	default:
		return retry.Retriable(errors.Join(retriable...))
	}
}

func (a *Adapter) logPriceError(item adapters.PriceItem, err error) {
	a.cfg.Logger.Warn("price item not updated",
		slog.String("sku", item.SKU), slog.String("offer_id", item.ExternalID),
		slog.String("class", retry.Classify(err).String()), slog.Any("error", err))
}

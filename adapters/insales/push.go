package insales

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/govalues/decimal"

	"obmenhub/adapters"
	"obmenhub/adapters/httpx"
	"obmenhub/retry"
)

// stockVariant and priceVariant are elements of the request's variants
// array. Field names follow the variant resource of the InSales API.
type stockVariant struct {
	ID       int64 `json:"id"`
	Quantity int64 `json:"quantity"`
}

// priceVariant sends prices as decimal strings with two places, so that no
// float rounding happens on either side. A nil OldPrice is sent as null,
// which clears the crossed-out price.
type priceVariant struct {
	ID       int64   `json:"id"`
	Price    string  `json:"price"`
	OldPrice *string `json:"old_price"`
}

type groupUpdateRequest struct {
	Variants []any `json:"variants"`
}

// variantResult is one element of the response, which lists every variant of
// the request with its status, such as {"id": 1, "status": "ok"}.
type variantResult struct {
	ID     int64           `json:"id"`
	Status string          `json:"status"`
	Errors json.RawMessage `json:"errors,omitempty"`
}

// statusOK is the status of an updated variant.
const statusOK = "ok"

// VariantError is a variant that InSales listed in its response with a
// status other than "ok".
type VariantError struct {
	VariantID int64
	Status    string
	// Errors is the response's errors value as JSON text, empty when absent.
	Errors string
}

func (e *VariantError) Error() string {
	msg := fmt.Sprintf("insales rejected variant %d with status %q", e.VariantID, e.Status)
	if e.Errors != "" {
		msg += ": " + e.Errors
	}
	return msg
}

// pending is an item that passed the checks and waits for its request.
type pending struct {
	index   int   // index of the item in the caller's slice
	id      int64 // variant id
	variant any   // stockVariant or priceVariant
	sku     string
}

// PushStock sends the quantities of items in requests of at most 100
// variants. An item whose ExternalID is not a decimal variant id, or whose
// quantity is negative, gets a permanent error and is not sent.
func (a *Adapter) PushStock(ctx context.Context, items []adapters.StockItem) ([]adapters.ItemResult, error) {
	results := make([]adapters.ItemResult, len(items))
	var queue []pending
	for i, item := range items {
		results[i].SKU = item.SKU
		id, err := parseVariantID(item.SKU, item.ExternalID)
		if err == nil && item.Quantity < 0 {
			err = retry.Permanent(fmt.Errorf("insales: SKU %s has quantity %d, must not be negative", item.SKU, item.Quantity))
		}
		if err != nil {
			results[i].Err = err
			a.logItemError("stock", item.SKU, item.ExternalID, err)
			continue
		}
		queue = append(queue, pending{index: i, id: id, variant: stockVariant{ID: id, Quantity: item.Quantity}, sku: item.SKU})
	}
	return a.sendAll(ctx, "stock", queue, results)
}

// PushPrices sends the prices of items in requests of at most 100
// variants. Price and OldPrice go out as strings with two decimal places,
// and a zero OldPrice clears the crossed-out price. An item gets a
// permanent error and is not sent when its ExternalID is not a decimal
// variant id, a price is negative or has more than two decimal places, or
// its Currency is not the shop's.
func (a *Adapter) PushPrices(ctx context.Context, items []adapters.PriceItem) ([]adapters.ItemResult, error) {
	results := make([]adapters.ItemResult, len(items))
	var queue []pending
	for i, item := range items {
		results[i].SKU = item.SKU
		variant, err := a.priceVariant(item)
		if err != nil {
			results[i].Err = err
			a.logItemError("price", item.SKU, item.ExternalID, err)
			continue
		}
		queue = append(queue, pending{index: i, id: variant.ID, variant: variant, sku: item.SKU})
	}
	return a.sendAll(ctx, "price", queue, results)
}

func parseVariantID(sku, externalID string) (int64, error) {
	id, err := strconv.ParseInt(externalID, 10, 64)
	if err != nil || id <= 0 || externalID[0] == '+' {
		return 0, retry.Permanent(fmt.Errorf("insales: SKU %s has ExternalID %q, expected an InSales variant id in decimal digits", sku, externalID))
	}
	return id, nil
}

func (a *Adapter) priceVariant(item adapters.PriceItem) (priceVariant, error) {
	id, err := parseVariantID(item.SKU, item.ExternalID)
	if err != nil {
		return priceVariant{}, err
	}
	if item.Currency != "" && !strings.EqualFold(item.Currency, a.cfg.Currency) {
		return priceVariant{}, retry.Permanent(fmt.Errorf("insales: SKU %s has a price in %s, but the shop's prices are in %s; set Currency in the insales channel config", item.SKU, item.Currency, a.cfg.Currency))
	}
	price, err := formatMoney(item.SKU, "price", item.Price.Decimal)
	if err != nil {
		return priceVariant{}, err
	}
	variant := priceVariant{ID: id, Price: price}
	if !item.OldPrice.IsZero() {
		oldPrice, err := formatMoney(item.SKU, "old price", item.OldPrice.Decimal)
		if err != nil {
			return priceVariant{}, err
		}
		variant.OldPrice = &oldPrice
	}
	return variant, nil
}

// formatMoney returns d with exactly two decimal places, such as "1234.50".
// It rejects a value that two places cannot hold exactly, rather than send
// a price other than the one in 1C.
func formatMoney(sku, field string, d decimal.Decimal) (string, error) {
	if d.IsNeg() {
		return "", retry.Permanent(fmt.Errorf("insales: SKU %s has %s %s, must not be negative", sku, field, d))
	}
	if d.MinScale() > 2 {
		return "", retry.Permanent(fmt.Errorf("insales: SKU %s has %s %s with more than two decimal places; round it in 1C", sku, field, d))
	}
	return d.Trim(2).Pad(2).String(), nil
}

// sendAll sends queue in requests of MaxVariantsPerRequest and fills
// results. When a request fails as a whole, it returns the results settled
// before that request and the error.
func (a *Adapter) sendAll(ctx context.Context, kind string, queue []pending, results []adapters.ItemResult) ([]adapters.ItemResult, error) {
	for start := 0; start < len(queue); start += MaxVariantsPerRequest {
		batch := queue[start:min(start+MaxVariantsPerRequest, len(queue))]
		if err := a.sendBatch(ctx, kind, batch, results); err != nil {
			return results[:batch[0].index], err
		}
	}
	return results, nil
}

// sendBatch sends one group update and fills the results of batch from
// the response. It returns an error only when the request failed as a whole.
func (a *Adapter) sendBatch(ctx context.Context, kind string, batch []pending, results []adapters.ItemResult) error {
	body := groupUpdateRequest{Variants: make([]any, len(batch))}
	for n, p := range batch {
		body.Variants[n] = p.variant
	}

	resp, err := a.client.Do(ctx, httpx.Request{
		Method: http.MethodPut,
		Path:   groupUpdatePath,
		Body:   body,
		LogAttrs: []slog.Attr{
			slog.String("update", kind), slog.Int("items", len(batch)),
			slog.Int64("first_variant_id", batch[0].id), slog.String("first_sku", batch[0].sku),
		},
	})
	if err != nil {
		// A deferral from the usage guard reaches here wrapped as a failed
		// transport call, whose "retriable" wording would mislead.
		var deferred *retry.DeferredError
		if errors.As(err, &deferred) {
			return deferred
		}
		return explainCredentials(err)
	}
	a.applyResponse(kind, resp.Body, batch, results)
	return nil
}

// explainCredentials adds what to check to a rejection of the credentials,
// which httpx words for API keys.
func explainCredentials(err error) error {
	var statusErr *httpx.StatusError
	if errors.As(err, &statusErr) && (statusErr.StatusCode == http.StatusUnauthorized || statusErr.StatusCode == http.StatusForbidden) {
		return fmt.Errorf("%w; for insales, check Login (the app's identifier) and Password, and that the app is installed in the shop", err)
	}
	return err
}

// applyResponse maps the response's statuses to the results of batch. A
// variant that the response does not list gets a retriable error: sending an
// absolute quantity or price again is safe.
func (a *Adapter) applyResponse(kind string, body []byte, batch []pending, results []adapters.ItemResult) {
	var statuses []variantResult
	if err := json.Unmarshal(body, &statuses); err != nil {
		decodeErr := retry.Retriable(fmt.Errorf("insales: decode the group update response: %w (body %q)", err, truncate(body)))
		for _, p := range batch {
			results[p.index].Err = decodeErr
			a.logItemError(kind, p.sku, strconv.FormatInt(p.id, 10), decodeErr)
		}
		return
	}

	byID := make(map[int64]variantResult, len(statuses))
	for _, r := range statuses {
		byID[r.ID] = r
	}
	for _, p := range batch {
		r, ok := byID[p.id]
		switch {
		case !ok:
			results[p.index].Err = retry.Retriable(fmt.Errorf("insales: variant %d (SKU %s) not confirmed: the response does not list it", p.id, p.sku))
		case r.Status == statusOK:
			results[p.index].Err = nil
			continue
		default:
			// NOTE: the InSales reference shows only "ok" responses. Any other
			// status is taken as a rejection of the variant, such as an
			// unknown id, which sending it again cannot fix.
			results[p.index].Err = retry.Permanent(&VariantError{VariantID: p.id, Status: r.Status, Errors: truncate(r.Errors)})
		}
		a.logItemError(kind, p.sku, strconv.FormatInt(p.id, 10), results[p.index].Err)
	}
}

func (a *Adapter) logItemError(kind, sku, variantID string, err error) {
	a.cfg.Logger.Warn(kind+" item not updated",
		slog.String("sku", sku), slog.String("variant_id", variantID),
		slog.String("class", retry.Classify(err).String()), slog.Any("error", err))
}

func truncate(body []byte) string {
	const limit = 256
	if len(body) <= limit {
		return string(body)
	}
	return string(body[:limit]) + "…"
}

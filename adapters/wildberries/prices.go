package wildberries

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/httpx"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

// Limits of the prices and discounts methods, from the Wildberries products
// spec (info.version "products", about March 2026).
const (
	// MaxPricesPerRequest is the number of goods one upload task may
	// carry, from the description of the request's data array.
	MaxPricesPerRequest = 1000
	// DefaultPriceRequestsPerMinute and DefaultPriceBurst are the limit per
	// seller account shared by all methods of prices and discounts: 10
	// requests per 6 s with a burst of 5.
	DefaultPriceRequestsPerMinute = 100
	DefaultPriceBurst             = 5
	// DefaultPricesBaseURL is the server of the prices methods in the spec.
	DefaultPricesBaseURL = "https://discounts-prices-api.wildberries.ru"
	// DefaultPriceCurrency is the currency of a Russian seller account.
	DefaultPriceCurrency = "RUB"
	// DefaultPricePollInterval and DefaultPricePollTimeout pace the status
	// checks of an upload. They are this adapter's choice, not documented
	// limits.
	DefaultPricePollInterval = 3 * time.Second
	DefaultPricePollTimeout  = 5 * time.Minute

	uploadTaskPath   = "/api/v2/upload/task"
	taskStatusPath   = "/api/v2/history/tasks"
	taskDetailsPath  = "/api/v2/history/goods/task"
	detailsPageLimit = 1000
)

// Upload statuses (TaskStatus in the spec).
const (
	taskProcessed          = 3 // processed, no item has errors
	taskCancelled          = 4
	taskProcessedSomeFail  = 5 // processed, some items have errors
	taskProcessedAllFailed = 6
)

// goodStatusFailed is the GoodStatus of an item with errors, not updated.
const goodStatusFailed = 3

// errTextAlreadySet is the errorText of the 400 response to an upload
// whose every price and discount equals the current one.
const errTextAlreadySet = "The specified prices and discounts are already set"

// ErrPriceQuarantine matches a *QuarantineError with errors.Is.
var ErrPriceQuarantine = errors.New("price is in quarantine")

// QuarantineError is an item that Wildberries put in price quarantine
// because the new price with discount is at least 3 times lower than the
// current one. The item keeps selling at the old price until the seller
// releases it in the seller's account or sends another price, so trying
// the same price again cannot help.
type QuarantineError struct {
	NmID int64
	// Text is Wildberries' errorText for the item.
	Text string
}

func (e *QuarantineError) Error() string {
	return fmt.Sprintf("wildberries put nmID %d in price quarantine, so it still sells at the old price: release it in the seller's account "+
		"(Prices and discounts, Quarantine: https://seller.wildberries.ru/discount-and-prices/quarantine) or send another price (%s)", e.NmID, e.Text)
}

// Is reports whether target is ErrPriceQuarantine.
func (e *QuarantineError) Is(target error) bool { return target == ErrPriceQuarantine }

// PriceItemError is any other error that Wildberries reported for an item
// of a price upload.
type PriceItemError struct {
	NmID     int64
	UploadID int64
	Text     string
}

func (e *PriceItemError) Error() string {
	return fmt.Sprintf("wildberries rejected the price of nmID %d in upload %d: %s", e.NmID, e.UploadID, e.Text)
}

func setPriceDefaults(cfg *Config) {
	if cfg.PricesBaseURL == "" {
		cfg.PricesBaseURL = DefaultPricesBaseURL
		if cfg.BaseURL != DefaultBaseURL {
			cfg.PricesBaseURL = cfg.BaseURL
		}
	}
	if cfg.PriceRequestsPerMinute == 0 {
		cfg.PriceRequestsPerMinute = DefaultPriceRequestsPerMinute
	}
	if cfg.PriceBurst == 0 {
		cfg.PriceBurst = DefaultPriceBurst
	}
	if cfg.PriceCurrency == "" {
		cfg.PriceCurrency = DefaultPriceCurrency
	}
	if cfg.PricePollInterval == 0 {
		cfg.PricePollInterval = DefaultPricePollInterval
	}
	if cfg.PricePollTimeout == 0 {
		cfg.PricePollTimeout = DefaultPricePollTimeout
	}
}

func validatePriceConfig(cfg Config) []error {
	var errs []error
	if cfg.PricePollInterval < 0 {
		errs = append(errs, fmt.Errorf("PricePollInterval is %s, must not be negative", cfg.PricePollInterval))
	}
	if cfg.PricePollTimeout < 0 {
		errs = append(errs, fmt.Errorf("PricePollTimeout is %s, must not be negative", cfg.PricePollTimeout))
	}
	return errs
}

// newPriceClient returns the client of the prices API: another host than
// the stock methods, with its own rate limiter and breaker.
func newPriceClient(cfg Config) (*httpx.Client, error) {
	return httpx.New(httpx.Config{
		Channel:       "wildberries",
		BaseURL:       cfg.PricesBaseURL,
		Timeout:       cfg.Timeout,
		RatePerSecond: cfg.PriceRequestsPerMinute / 60,
		Burst:         cfg.PriceBurst,
		Policy:        cfg.Policy,
		Breaker:       cfg.Breaker,
		Clock:         cfg.Clock,
		Logger:        cfg.Logger.With(slog.String("api", "prices")),
		Headers:       withUserAgent(map[string]string{"Authorization": cfg.Token}, cfg.UserAgent),
		Transport:     cfg.Transport,
	})
}

// MaxPriceBatch returns the number of goods Wildberries accepts in one
// upload.
func (a *Adapter) MaxPriceBatch() int { return MaxPricesPerRequest }

type priceGood struct {
	NmID     int64 `json:"nmID"`
	Price    int64 `json:"price"`
	Discount int64 `json:"discount"`
}

type uploadRequest struct {
	Data []priceGood `json:"data"`
}

type uploadResponse struct {
	Data *struct {
		ID            int64 `json:"id"`
		AlreadyExists bool  `json:"alreadyExists"`
	} `json:"data"`
	Error     bool   `json:"error"`
	ErrorText string `json:"errorText"`
}

type taskStatusResponse struct {
	Data *struct {
		UploadID int64 `json:"uploadID"`
		Status   int   `json:"status"`
	} `json:"data"`
}

type goodHistory struct {
	NmID      int64  `json:"nmID"`
	Status    int    `json:"status"`
	ErrorText string `json:"errorText"`
}

type taskDetailsResponse struct {
	Data *struct {
		HistoryGoods []goodHistory `json:"historyGoods"`
	} `json:"data"`
}

// PushPrices sends items as upload tasks of at most 1000 goods, then polls
// each task's status on the adapter's clock until Wildberries has
// processed it, and reads the per-item errors.
//
// Wildberries takes a whole price before discount and a whole discount
// percent. An item without OldPrice is sent as its Price with discount 0.
// An item with OldPrice is sent as price OldPrice and the discount that
// brings it nearest to Price, rounded to a whole percent, so the price
// shown may differ from Price by up to half a percent of OldPrice.
//
// An item whose ExternalID is not a decimal nmID, whose prices are not
// whole, whose OldPrice is below Price, or whose currency is not
// PriceCurrency gets a permanent error and is not sent. A second item with
// the same nmID goes in a later upload, because Wildberries rejects an
// upload with duplicates. An item that Wildberries puts in price
// quarantine gets a permanent error that wraps a *QuarantineError.
func (a *Adapter) PushPrices(ctx context.Context, items []adapters.PriceItem) ([]adapters.ItemResult, error) {
	results := make([]adapters.ItemResult, len(items))
	for i, item := range items {
		results[i].SKU = item.SKU
	}

	goods := make([]priceGood, len(items))
	var batch []int
	inBatch := map[int64]bool{}
	flush := func() error {
		err := a.sendPriceBatch(ctx, items, goods, batch, results)
		batch = batch[:0]
		clear(inBatch)
		return err
	}

	for i, item := range items {
		good, err := a.buildPriceGood(item)
		if err != nil {
			results[i].Err = err
			a.logPriceError(item, 0, err)
			continue
		}
		if inBatch[good.NmID] || len(batch) == MaxPricesPerRequest {
			first := batch[0]
			if err := flush(); err != nil {
				return results[:first], err
			}
		}
		goods[i] = good
		batch = append(batch, i)
		inBatch[good.NmID] = true
	}
	if len(batch) > 0 {
		first := batch[0]
		if err := flush(); err != nil {
			return results[:first], err
		}
	}
	return results, nil
}

// buildPriceGood checks an item and converts it to an upload's good.
func (a *Adapter) buildPriceGood(item adapters.PriceItem) (priceGood, error) {
	nmID, err := strconv.ParseInt(item.ExternalID, 10, 64)
	if err != nil || nmID <= 0 || item.ExternalID[0] == '+' {
		return priceGood{}, retry.Permanent(fmt.Errorf("wildberries: SKU %s has ExternalID %q, expected an nmID in decimal digits", item.SKU, item.ExternalID))
	}
	if item.Currency != "" && item.Currency != a.cfg.PriceCurrency {
		return priceGood{}, retry.Permanent(fmt.Errorf("wildberries: SKU %s has currency %q, but the account takes prices in %s (Config.PriceCurrency)", item.SKU, item.Currency, a.cfg.PriceCurrency))
	}

	price, err := wholeAmount(item.SKU, "price", item.Price)
	if err != nil {
		return priceGood{}, err
	}
	if price <= 0 {
		return priceGood{}, retry.Permanent(fmt.Errorf("wildberries: SKU %s has price %s, must be greater than 0", item.SKU, item.Price))
	}
	if item.OldPrice.IsZero() {
		return priceGood{NmID: nmID, Price: price}, nil
	}

	oldPrice, err := wholeAmount(item.SKU, "old price", item.OldPrice)
	if err != nil {
		return priceGood{}, err
	}
	if oldPrice < price {
		return priceGood{}, retry.Permanent(fmt.Errorf("wildberries: SKU %s has old price %d below price %d; send 0 as the old price when there is no discount", item.SKU, oldPrice, price))
	}
	// Round half up to the nearest whole percent, and keep the price
	// above zero.
	discount := min((200*(oldPrice-price)+oldPrice)/(2*oldPrice), 99)
	return priceGood{NmID: nmID, Price: oldPrice, Discount: discount}, nil
}

// wholeAmount returns d as a whole number, because Wildberries rejects
// prices with a fraction ("Price should be a whole number").
func wholeAmount(sku, field string, d model.Decimal) (int64, error) {
	whole, frac, ok := d.Int64(0)
	if !ok || frac != 0 || !d.Trim(0).IsInt() {
		return 0, retry.Permanent(fmt.Errorf("wildberries: SKU %s has %s %s, must be a whole number of currency units", sku, field, d))
	}
	if whole < 0 {
		return 0, retry.Permanent(fmt.Errorf("wildberries: SKU %s has negative %s %s", sku, field, d))
	}
	return whole, nil
}

// sendPriceBatch uploads the items at indexes, waits for the upload to be
// processed and fills their results. It returns an error only when a
// request failed as a whole or the context ended.
func (a *Adapter) sendPriceBatch(ctx context.Context, items []adapters.PriceItem, goods []priceGood, indexes []int, results []adapters.ItemResult) error {
	body := uploadRequest{Data: make([]priceGood, len(indexes))}
	for n, i := range indexes {
		body.Data[n] = goods[i]
	}

	resp, err := a.priceClient.Do(ctx, httpx.Request{
		Method:       http.MethodPost,
		Path:         uploadTaskPath,
		Body:         body,
		AcceptStatus: []int{http.StatusAlreadyReported},
		LogAttrs:     []slog.Attr{slog.Int("items", len(indexes))},
	})
	if err != nil {
		if isAlreadySet(err) {
			// Every price already equals the one sent.
			return nil
		}
		return err
	}

	var decoded uploadResponse
	if err := json.Unmarshal(resp.Body, &decoded); err != nil {
		return retry.Retriable(fmt.Errorf("wildberries: decode response of %s: %w (body %q)", uploadTaskPath, err, truncate(resp.Body)))
	}
	if decoded.Data == nil || decoded.Data.ID == 0 {
		return retry.Retriable(fmt.Errorf("wildberries: response of %s has no upload id (body %q)", uploadTaskPath, truncate(resp.Body)))
	}
	uploadID := decoded.Data.ID
	log := a.cfg.Logger.With(slog.Int64("upload_id", uploadID))
	if decoded.Data.AlreadyExists {
		log.Info("price upload already exists, waiting for it", slog.Int("items", len(indexes)))
	}

	status, err := a.waitForTask(ctx, uploadID)
	if err != nil {
		return err
	}

	switch status {
	case 0:
		for _, i := range indexes {
			results[i].Err = retry.Retriable(fmt.Errorf("wildberries: price upload %d not processed within %s; sending it again is safe", uploadID, a.cfg.PricePollTimeout))
		}
	case taskProcessed:
		// Every item was applied.
	case taskCancelled:
		for _, i := range indexes {
			results[i].Err = retry.Retriable(fmt.Errorf("wildberries: price upload %d was cancelled", uploadID))
		}
	default:
		if err := a.applyTaskDetails(ctx, uploadID, items, goods, indexes, results); err != nil {
			return err
		}
	}
	for _, i := range indexes {
		if results[i].Err != nil {
			a.logPriceError(items[i], uploadID, results[i].Err)
		}
	}
	return nil
}

// isAlreadySet reports whether err is the 400 response stating that every
// price and discount of the upload is already set.
func isAlreadySet(err error) bool {
	var statusErr *httpx.StatusError
	if !errors.As(err, &statusErr) || statusErr.StatusCode != http.StatusBadRequest {
		return false
	}
	var decoded uploadResponse
	if json.Unmarshal([]byte(statusErr.Body), &decoded) != nil {
		return false
	}
	return decoded.ErrorText == errTextAlreadySet
}

// waitForTask polls the upload's status every PricePollInterval until it
// is processed or cancelled, and returns that status, or 0 when
// PricePollTimeout passed first.
func (a *Adapter) waitForTask(ctx context.Context, uploadID int64) (int, error) {
	deadline := a.cfg.Clock.Now().Add(a.cfg.PricePollTimeout)
	path := taskStatusPath + "?uploadID=" + strconv.FormatInt(uploadID, 10)
	for {
		if err := a.cfg.Clock.Sleep(ctx, a.cfg.PricePollInterval); err != nil {
			return 0, retry.Retriable(fmt.Errorf("wildberries: stopped waiting for price upload %d: %w", uploadID, err))
		}

		resp, err := a.priceClient.Do(ctx, httpx.Request{
			Method:   http.MethodGet,
			Path:     path,
			LogAttrs: []slog.Attr{slog.Int64("upload_id", uploadID)},
		})
		if err != nil {
			return 0, err
		}
		var decoded taskStatusResponse
		if err := json.Unmarshal(resp.Body, &decoded); err != nil {
			return 0, retry.Retriable(fmt.Errorf("wildberries: decode status of price upload %d: %w (body %q)", uploadID, err, truncate(resp.Body)))
		}

		// No data, or a status the spec does not list for processed
		// uploads, means the upload is still being processed.
		if decoded.Data != nil {
			switch decoded.Data.Status {
			case taskProcessed, taskCancelled, taskProcessedSomeFail, taskProcessedAllFailed:
				return decoded.Data.Status, nil
			}
		}
		if !a.cfg.Clock.Now().Before(deadline) {
			a.cfg.Logger.Warn("price upload not processed in time", slog.Int64("upload_id", uploadID), slog.Duration("timeout", a.cfg.PricePollTimeout))
			return 0, nil
		}
	}
}

// applyTaskDetails reads the per-item outcome of a processed upload, page
// by page, and fills the results of the items at indexes.
func (a *Adapter) applyTaskDetails(ctx context.Context, uploadID int64, items []adapters.PriceItem, goods []priceGood, indexes []int, results []adapters.ItemResult) error {
	byNmID := map[int64][]goodHistory{}
	for offset := 0; ; offset += detailsPageLimit {
		path := fmt.Sprintf("%s?uploadID=%d&limit=%d&offset=%d", taskDetailsPath, uploadID, detailsPageLimit, offset)
		resp, err := a.priceClient.Do(ctx, httpx.Request{
			Method:   http.MethodGet,
			Path:     path,
			LogAttrs: []slog.Attr{slog.Int64("upload_id", uploadID), slog.Int("offset", offset)},
		})
		if err != nil {
			return err
		}
		var decoded taskDetailsResponse
		if err := json.Unmarshal(resp.Body, &decoded); err != nil {
			return retry.Retriable(fmt.Errorf("wildberries: decode details of price upload %d: %w (body %q)", uploadID, err, truncate(resp.Body)))
		}
		if decoded.Data == nil {
			break
		}
		for _, g := range decoded.Data.HistoryGoods {
			byNmID[g.NmID] = append(byNmID[g.NmID], g)
		}
		if len(decoded.Data.HistoryGoods) < detailsPageLimit {
			break
		}
	}

	for _, i := range indexes {
		nmID := goods[i].NmID
		rows, ok := byNmID[nmID]
		if !ok {
			results[i].Err = retry.Retriable(fmt.Errorf("wildberries: details of price upload %d have no entry for nmID %d (SKU %s)", uploadID, nmID, items[i].SKU))
			continue
		}
		var errs []error
		for _, row := range rows {
			if row.Status == goodStatusFailed || row.ErrorText != "" {
				errs = append(errs, classifyPriceError(nmID, uploadID, row.ErrorText))
			}
		}
		// Classify finds ErrPermanent inside a join, so an item with any
		// permanent error is permanent.
		results[i].Err = errors.Join(errs...)
	}
	return nil
}

// permanentPriceTexts are parts of item errors that need the seller to act,
// from the errorText description of GoodHistory in the spec.
var permanentPriceTexts = []string{
	// The item is in a clearance sale by its stock index.
	"Item was added to the Sale due to high inventory",
}

// classifyPriceError returns the class of an item's errorText: permanent
// for quarantine and the documented errors that need the seller, retriable
// for any other.
func classifyPriceError(nmID, uploadID int64, text string) error {
	if text == "" {
		text = "not updated and no error given"
	}
	if strings.Contains(strings.ToLower(text), "quarantine") {
		return retry.Permanent(&QuarantineError{NmID: nmID, Text: text})
	}
	itemErr := &PriceItemError{NmID: nmID, UploadID: uploadID, Text: text}
	for _, p := range permanentPriceTexts {
		if strings.Contains(text, p) {
			return retry.Permanent(itemErr)
		}
	}
	return retry.Retriable(itemErr)
}

func (a *Adapter) logPriceError(item adapters.PriceItem, uploadID int64, err error) {
	attrs := []any{
		slog.String("sku", item.SKU), slog.String("nm_id", item.ExternalID),
		slog.String("class", retry.Classify(err).String()), slog.Any("error", err),
	}
	if uploadID != 0 {
		attrs = append(attrs, slog.Int64("upload_id", uploadID))
	}
	a.cfg.Logger.Warn("price item not updated", attrs...)
}

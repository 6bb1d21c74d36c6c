package wildberries

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"golang.org/x/time/rate"

	"obmenhub/adapters"
	"obmenhub/adapters/httpx"
	"obmenhub/retry"
)

// Limits of the cards list, from the description of
// POST /content/v2/get/cards/list in the Wildberries products spec.
const (
	// CardsPageSize is the cursor limit sent, the method's maximum.
	CardsPageSize = 100
	// ContentRequestsPerMinute is the limit per seller account shared by
	// the methods of the Content category.
	ContentRequestsPerMinute = 100
	// ContentBurst is the documented burst of the same limit.
	ContentBurst = 5
	// DefaultContentBaseURL is the server of the content methods in the
	// spec.
	DefaultContentBaseURL = "https://content-api.wildberries.ru"

	cardsListPath = "/content/v2/get/cards/list"
)

var _ adapters.CatalogLister = (*Adapter)(nil)

type cardsListRequest struct {
	Settings cardsListSettings `json:"settings"`
}

type cardsListSettings struct {
	Sort struct {
		Ascending bool `json:"ascending"`
	} `json:"sort"`
	Filter struct {
		// WithPhoto -1 lists every card. The default, 0, lists only cards
		// without photos.
		WithPhoto int `json:"withPhoto"`
	} `json:"filter"`
	Cursor cardsCursor `json:"cursor"`
}

type cardsCursor struct {
	Limit     int    `json:"limit,omitempty"`
	UpdatedAt string `json:"updatedAt,omitempty"`
	NmID      int64  `json:"nmID,omitempty"`
}

type cardsListResponse struct {
	Cards []struct {
		NmID       int64  `json:"nmID"`
		VendorCode string `json:"vendorCode"`
		Sizes      []struct {
			ChrtID   int64    `json:"chrtID"`
			TechSize string   `json:"techSize"`
			Skus     []string `json:"skus"`
		} `json:"sizes"`
	} `json:"cards"`
	Cursor struct {
		UpdatedAt string `json:"updatedAt"`
		NmID      int64  `json:"nmID"`
		Total     int    `json:"total"`
	} `json:"cursor"`
}

// ListCatalog reads every product card with POST
// /content/v2/get/cards/list, 100 cards per page, following the cursor in
// ascending updatedAt order until a page holds fewer cards than the limit,
// as the method's description prescribes. Cards in the trash are not listed.
//
// It returns one entry per size: ExternalID is the size's chrtID, PriceID
// the card's nmID, Article the card's vendorCode and Barcodes the size's
// skus. Article is vendorCode without the size, as the seller enters it,
// so all sizes of a card share it: it binds prices, which go by nmID, but
// stock of a card with several sizes can only be bound by barcode.
//
// Each request waits on the adapter's rate limiter and, in addition, on a
// limiter of the Content category's 100 requests per minute (burst 5).
// The second one lives for one call, so concurrent calls do not share it.
//
// An error wraps the retry class of the failed request. Entries already
// read are dropped, because a partial catalogue would unbind SKUs.
func (a *Adapter) ListCatalog(ctx context.Context) ([]adapters.CatalogEntry, error) {
	clock := a.cfg.Clock
	if clock == nil {
		clock = retry.SystemClock()
	}
	contentLimit := rate.NewLimiter(rate.Limit(ContentRequestsPerMinute/60.0), ContentBurst)

	entries := []adapters.CatalogEntry{}
	var cursor cardsCursor
	for page := 1; ; page++ {
		if err := waitContentLimit(ctx, clock, contentLimit); err != nil {
			return nil, err
		}
		list, err := a.listCards(ctx, page, cursor)
		if err != nil {
			return nil, err
		}
		entries = a.appendCardEntries(entries, list)

		if list.Cursor.Total < CardsPageSize || len(list.Cards) == 0 {
			break
		}
		next := cardsCursor{UpdatedAt: list.Cursor.UpdatedAt, NmID: list.Cursor.NmID}
		if next.UpdatedAt == "" || next.NmID == 0 {
			return nil, retry.Retriable(fmt.Errorf("wildberries: %s page %d is full but has no cursor to continue from", cardsListPath, page))
		}
		if next == cursor {
			return nil, retry.Retriable(fmt.Errorf("wildberries: %s returned cursor updatedAt %q, nmID %d again on page %d; the listing would not end", cardsListPath, next.UpdatedAt, next.NmID, page))
		}
		cursor = next
	}
	return entries, nil
}

// waitContentLimit sleeps on clock until limiter lets one request through.
func waitContentLimit(ctx context.Context, clock retry.Clock, limiter *rate.Limiter) error {
	now := clock.Now()
	delay := limiter.ReserveN(now, 1).DelayFrom(now)
	if delay <= 0 {
		return nil
	}
	if err := clock.Sleep(ctx, delay); err != nil {
		return fmt.Errorf("wildberries: list cards: waiting for the Content rate limit: %w", err)
	}
	return nil
}

// listCards reads one page of cards after cursor.
func (a *Adapter) listCards(ctx context.Context, page int, cursor cardsCursor) (*cardsListResponse, error) {
	var body cardsListRequest
	body.Settings.Sort.Ascending = true
	body.Settings.Filter.WithPhoto = -1
	body.Settings.Cursor = cursor
	body.Settings.Cursor.Limit = CardsPageSize

	resp, err := a.client.Do(ctx, httpx.Request{
		Method:   http.MethodPost,
		Path:     a.contentURL(cardsListPath),
		Body:     body,
		LogAttrs: []slog.Attr{slog.Int("page", page)},
	})
	if err != nil {
		return nil, fmt.Errorf("wildberries: list cards, page %d: %w", page, err)
	}
	var list cardsListResponse
	if err := json.Unmarshal(resp.Body, &list); err != nil {
		return nil, retry.Retriable(fmt.Errorf("wildberries: decode response of %s, page %d: %w", cardsListPath, page, err))
	}
	return &list, nil
}

// contentURL returns the address of a content method. The content methods
// live on another host than the stock methods, so with the default
// BaseURL the request goes to DefaultContentBaseURL as an absolute URL,
// which the client sends as it is. A BaseURL set in Config, such as a
// simulator or a proxy, serves both.
// TODO: add a ContentBaseURL field to Config for a proxy that splits them.
func (a *Adapter) contentURL(path string) string {
	if a.cfg.BaseURL == DefaultBaseURL {
		return DefaultContentBaseURL + path
	}
	return path
}

// appendCardEntries appends one entry per size of the page's cards.
func (a *Adapter) appendCardEntries(entries []adapters.CatalogEntry, list *cardsListResponse) []adapters.CatalogEntry {
	for _, card := range list.Cards {
		if len(card.Sizes) == 0 {
			a.cfg.Logger.Warn("wildberries card without sizes left out of the catalogue",
				slog.Int64("nm_id", card.NmID), slog.String("vendor_code", card.VendorCode))
		}
		for _, size := range card.Sizes {
			if size.ChrtID <= 0 {
				a.cfg.Logger.Warn("wildberries size without chrtID left out of the catalogue",
					slog.Int64("nm_id", card.NmID), slog.String("vendor_code", card.VendorCode), slog.String("tech_size", size.TechSize))
				continue
			}
			entries = append(entries, adapters.CatalogEntry{
				ExternalID: strconv.FormatInt(size.ChrtID, 10),
				PriceID:    strconv.FormatInt(card.NmID, 10),
				Article:    card.VendorCode,
				Barcodes:   size.Skus,
			})
		}
	}
	return entries
}

package ozon

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"obmenhub/adapters"
	"obmenhub/adapters/httpx"
	"obmenhub/retry"
)

// Limits of the catalogue methods, from their descriptions in the Ozon
// Seller API spec (info.version 2.1).
const (
	// ProductListPageSize is the limit sent to POST /v3/product/list, the
	// method's maximum.
	ProductListPageSize = 1000
	// MaxProductInfoIDs is the number of identifiers that one
	// POST /v3/product/info/list takes. A list page never holds more.
	MaxProductInfoIDs = 1000

	productListPath = "/v3/product/list"
	productInfoPath = "/v3/product/info/list"
)

var _ adapters.CatalogLister = (*Adapter)(nil)

type productListRequest struct {
	Filter productListFilter `json:"filter"`
	LastID string            `json:"last_id"`
	Limit  int64             `json:"limit"`
}

type productListFilter struct {
	Visibility string `json:"visibility"`
}

type productListItem struct {
	ProductID int64  `json:"product_id"`
	OfferID   string `json:"offer_id"`
	Archived  bool   `json:"archived"`
}

type productListResponse struct {
	Result struct {
		Items  []productListItem `json:"items"`
		Total  int64             `json:"total"`
		LastID string            `json:"last_id"`
	} `json:"result"`
}

// productInfoRequest selects products by product_id, which the spec types as strings
// of int64.
type productInfoRequest struct {
	ProductID []string `json:"product_id"`
}

type productInfoResponse struct {
	Items []struct {
		ID       int64    `json:"id"`
		OfferID  string   `json:"offer_id"`
		Barcodes []string `json:"barcodes"`
	} `json:"items"`
}

// ListCatalog reads every product of the account (visibility ALL, which
// includes archived products) with POST /v3/product/list, 1000 per page,
// and the barcodes of each page with one POST /v3/product/info/list.
// ExternalID and Article of an entry are the offer_id. A product that the
// info response leaves out is listed without barcodes.
//
// The requests go through the adapter's client, so they wait on the same
// rate limiter as stock updates. NOTE: Ozon gives these methods no limit
// of their own besides the account's 50 requests per second, so the
// listing spends the stock method's budget of RequestsPerMinute.
//
// An error wraps the retry class of the failed request. Entries already
// read are dropped, because a partial catalogue would unbind SKUs.
func (a *Adapter) ListCatalog(ctx context.Context) ([]adapters.CatalogEntry, error) {
	entries := []adapters.CatalogEntry{}
	lastID := ""
	for page := 1; ; page++ {
		list, err := a.listProducts(ctx, page, lastID)
		if err != nil {
			return nil, err
		}
		items := list.Result.Items
		if len(items) == 0 {
			break
		}

		barcodes, err := a.productBarcodes(ctx, page, items)
		if err != nil {
			return nil, err
		}
		for _, item := range items {
			if item.OfferID == "" {
				a.cfg.Logger.Warn("ozon product without offer_id left out of the catalogue", slog.Int64("product_id", item.ProductID))
				continue
			}
			codes, found := barcodes[item.ProductID]
			if !found {
				a.cfg.Logger.Warn("ozon product info missing; listing the product without barcodes",
					slog.Int64("product_id", item.ProductID), slog.String("offer_id", item.OfferID))
			}
			entries = append(entries, adapters.CatalogEntry{ExternalID: item.OfferID, Article: item.OfferID, Barcodes: codes})
		}

		next := list.Result.LastID
		if len(items) < ProductListPageSize || next == "" {
			break
		}
		if next == lastID {
			return nil, retry.Retriable(fmt.Errorf("ozon: %s returned last_id %q again on page %d; the listing would not end", productListPath, next, page))
		}
		lastID = next
	}
	return entries, nil
}

// listProducts reads one page of POST /v3/product/list.
func (a *Adapter) listProducts(ctx context.Context, page int, lastID string) (*productListResponse, error) {
	resp, err := a.client.Do(ctx, httpx.Request{
		Method:   http.MethodPost,
		Path:     productListPath,
		Body:     productListRequest{Filter: productListFilter{Visibility: "ALL"}, LastID: lastID, Limit: ProductListPageSize},
		LogAttrs: []slog.Attr{slog.Int("page", page)},
	})
	if err != nil {
		return nil, fmt.Errorf("ozon: list products, page %d: %w", page, err)
	}
	var list productListResponse
	if err := json.Unmarshal(resp.Body, &list); err != nil {
		return nil, retry.Retriable(fmt.Errorf("ozon: decode response of %s, page %d: %w", productListPath, page, err))
	}
	return &list, nil
}

// productBarcodes returns the barcodes of items by product_id. items must
// not be longer than MaxProductInfoIDs.
func (a *Adapter) productBarcodes(ctx context.Context, page int, items []productListItem) (map[int64][]string, error) {
	ids := make([]string, len(items))
	for i, item := range items {
		ids[i] = strconv.FormatInt(item.ProductID, 10)
	}
	resp, err := a.client.Do(ctx, httpx.Request{
		Method:   http.MethodPost,
		Path:     productInfoPath,
		Body:     productInfoRequest{ProductID: ids},
		LogAttrs: []slog.Attr{slog.Int("page", page), slog.Int("products", len(ids))},
	})
	if err != nil {
		return nil, fmt.Errorf("ozon: read product info, page %d: %w", page, err)
	}
	var info productInfoResponse
	if err := json.Unmarshal(resp.Body, &info); err != nil {
		return nil, retry.Retriable(fmt.Errorf("ozon: decode response of %s, page %d: %w", productInfoPath, page, err))
	}

	barcodes := make(map[int64][]string, len(info.Items))
	for _, item := range info.Items {
		barcodes[item.ID] = item.Barcodes
	}
	return barcodes, nil
}

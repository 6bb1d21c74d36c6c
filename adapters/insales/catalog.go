package insales

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"obmenhub/adapters"
	"obmenhub/adapters/httpx"
	"obmenhub/retry"
)

// ProductsPerPage is the per_page sent to GET /admin/products.json.
// NOTE: the InSales reference is not at hand. 250 is the value that public
// InSales clients send as the maximum. If the shop returned fewer products
// per full page, ListCatalog would stop after the first page.
const ProductsPerPage = 250

const productsPath = "/admin/products.json"

var _ adapters.CatalogLister = (*Adapter)(nil)

type catalogProduct struct {
	ID       int64 `json:"id"`
	Variants []struct {
		ID      int64   `json:"id"`
		SKU     *string `json:"sku"`
		Barcode *string `json:"barcode"`
	} `json:"variants"`
}

// ListCatalog reads every product of the shop with GET
// /admin/products.json, 250 per page, until a page holds fewer products.
// It returns one entry per variant: ExternalID is the variant id, Article
// its sku and Barcodes its barcode when it has one. A variant seen twice,
// because a product moved between pages while they were read, is listed
// once.
//
// Each page is one request through the adapter's client, so it counts
// against the shop's limit of requests per window like the group updates,
// and the usage guard defers it when the budget is spent.
//
// An error wraps the retry class of the failed request. Entries already
// read are dropped, because a partial catalogue would unbind SKUs.
func (a *Adapter) ListCatalog(ctx context.Context) ([]adapters.CatalogEntry, error) {
	entries := []adapters.CatalogEntry{}
	seen := map[int64]bool{}
	for page := 1; ; page++ {
		products, err := a.listProducts(ctx, page)
		if err != nil {
			return nil, err
		}
		for _, p := range products {
			for _, v := range p.Variants {
				if v.ID <= 0 || seen[v.ID] {
					continue
				}
				seen[v.ID] = true
				entry := adapters.CatalogEntry{ExternalID: strconv.FormatInt(v.ID, 10)}
				if v.SKU != nil {
					entry.Article = *v.SKU
				}
				if v.Barcode != nil && *v.Barcode != "" {
					entry.Barcodes = []string{*v.Barcode}
				}
				entries = append(entries, entry)
			}
		}
		if len(products) < ProductsPerPage {
			break
		}
	}
	return entries, nil
}

// listProducts reads one page of products.
func (a *Adapter) listProducts(ctx context.Context, page int) ([]catalogProduct, error) {
	resp, err := a.client.Do(ctx, httpx.Request{
		Method:   http.MethodGet,
		Path:     fmt.Sprintf("%s?page=%d&per_page=%d", productsPath, page, ProductsPerPage),
		LogAttrs: []slog.Attr{slog.Int("page", page)},
	})
	if err != nil {
		// A deferral from the usage guard reaches here wrapped as a failed
		// transport call, whose "retriable" wording would mislead.
		var deferred *retry.DeferredError
		if errors.As(err, &deferred) {
			return nil, fmt.Errorf("insales: list products, page %d: %w", page, deferred)
		}
		return nil, fmt.Errorf("insales: list products, page %d: %w", page, explainCredentials(err))
	}
	var products []catalogProduct
	if err := json.Unmarshal(resp.Body, &products); err != nil {
		return nil, retry.Retriable(fmt.Errorf("insales: decode response of %s, page %d: %w (body %q)", productsPath, page, err, truncate(resp.Body)))
	}
	return products, nil
}

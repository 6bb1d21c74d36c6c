package ozon_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/ozon"
	"obmenhub/e2e/ozonsim"
	"obmenhub/retry"
)

// catalogProducts returns n products whose product_ids are out of order,
// with no, one or two barcodes each.
func catalogProducts(n int) []ozonsim.Product {
	products := make([]ozonsim.Product, n)
	for i := range products {
		p := ozonsim.Product{
			ProductID: int64(900000 + (i*7919)%n),
			OfferID:   fmt.Sprintf("OF-%05d", i),
			Archived:  i%50 == 0,
		}
		for b := range i % 3 {
			p.Barcodes = append(p.Barcodes, fmt.Sprintf("46%011d", i*10+b))
		}
		products[i] = p
	}
	return products
}

func newCatalogPair(t *testing.T, products []ozonsim.Product) (*ozon.Adapter, *ozonsim.Server) {
	t.Helper()
	clock := retry.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	a, sim := newPair(t, clock, ozonsim.Config{}, 0)
	if err := sim.SetCatalog(products); err != nil {
		t.Fatal(err)
	}
	return a, sim
}

func TestListCatalogReadsEveryPage(t *testing.T) {
	products := catalogProducts(2500)
	a, sim := newCatalogPair(t, products)

	entries, err := a.ListCatalog(context.Background())
	if err != nil {
		t.Fatalf("ListCatalog: %v", err)
	}
	if len(entries) != len(products) {
		t.Fatalf("got %d entries, want %d", len(entries), len(products))
	}

	byOffer := map[string]adapters.CatalogEntry{}
	for _, e := range entries {
		if _, dup := byOffer[e.ExternalID]; dup {
			t.Errorf("offer_id %s listed twice", e.ExternalID)
		}
		byOffer[e.ExternalID] = e
	}
	for _, p := range products {
		e, ok := byOffer[p.OfferID]
		if !ok {
			t.Errorf("offer_id %s missing", p.OfferID)
			continue
		}
		if e.Article != p.OfferID {
			t.Errorf("offer_id %s: Article = %q, want the offer_id", p.OfferID, e.Article)
		}
		if e.PriceID != "" {
			t.Errorf("offer_id %s: PriceID = %q, want empty", p.OfferID, e.PriceID)
		}
		if !slices.Equal(e.Barcodes, p.Barcodes) {
			t.Errorf("offer_id %s: Barcodes = %v, want %v", p.OfferID, e.Barcodes, p.Barcodes)
		}
	}

	stats := sim.CatalogStats()
	if stats.ListRequests != 3 {
		t.Errorf("simulator got %d list requests, want 3 (1000 + 1000 + 500)", stats.ListRequests)
	}
	if stats.InfoRequests != 3 {
		t.Errorf("simulator got %d info requests, want 3", stats.InfoRequests)
	}
	if got := sim.Stats().ValidationFailures; got != 0 {
		t.Errorf("simulator rejected %d requests by spec", got)
	}
}

func TestListCatalogFullLastPage(t *testing.T) {
	a, sim := newCatalogPair(t, catalogProducts(ozon.ProductListPageSize))

	entries, err := a.ListCatalog(context.Background())
	if err != nil {
		t.Fatalf("ListCatalog: %v", err)
	}
	if len(entries) != ozon.ProductListPageSize {
		t.Errorf("got %d entries, want %d", len(entries), ozon.ProductListPageSize)
	}
	stats := sim.CatalogStats()
	if stats.ListRequests != 2 {
		t.Errorf("simulator got %d list requests, want 2 (a full page, then an empty one)", stats.ListRequests)
	}
	if stats.InfoRequests != 1 {
		t.Errorf("simulator got %d info requests, want 1", stats.InfoRequests)
	}
}

func TestListCatalogEmpty(t *testing.T) {
	a, sim := newCatalogPair(t, nil)

	entries, err := a.ListCatalog(context.Background())
	if err != nil {
		t.Fatalf("ListCatalog: %v", err)
	}
	if len(entries) != 0 {
		t.Errorf("got %d entries, want none", len(entries))
	}
	if got := sim.CatalogStats().InfoRequests; got != 0 {
		t.Errorf("simulator got %d info requests, want 0", got)
	}
}

func TestListCatalogErrorPage(t *testing.T) {
	tests := []struct {
		name      string
		failAfter int
		status    int
		want      retry.Class
	}{
		{"list page 2 answers 500", 2, http.StatusInternalServerError, retry.ClassRetriable},
		{"first info answers 500", 1, http.StatusInternalServerError, retry.ClassRetriable},
		{"list page 2 answers 403", 2, http.StatusForbidden, retry.ClassPermanent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, sim := newCatalogPair(t, catalogProducts(1500))
			sim.FailCatalogAfter(tc.failAfter, tc.status)

			entries, err := a.ListCatalog(context.Background())
			if err == nil {
				t.Fatalf("ListCatalog returned %d entries and no error", len(entries))
			}
			if got := retry.Classify(err); got != tc.want {
				t.Errorf("class %s (%v), want %s", got, err, tc.want)
			}
			if entries != nil {
				t.Errorf("got %d entries with the error, want none", len(entries))
			}
		})
	}
}

package insales_test

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"

	"obmenhub/adapters"
	"obmenhub/adapters/insales"
	"obmenhub/e2e/insalessim"
	"obmenhub/retry"
)

// catalogProducts returns n products; every other one has two variants,
// and every fifth variant has no barcode.
func catalogProducts(n int) []insalessim.Product {
	products := make([]insalessim.Product, n)
	variantID := int64(5000000)
	for i := range products {
		p := insalessim.Product{ID: int64(100000 + i), Title: fmt.Sprintf("Product %d", i)}
		for range 1 + i%2 {
			variantID++
			v := insalessim.ProductVariant{ID: variantID, SKU: fmt.Sprintf("ART-%d", variantID)}
			if variantID%5 != 0 {
				v.Barcode = fmt.Sprintf("460%010d", variantID)
			}
			p.Variants = append(p.Variants, v)
		}
		products[i] = p
	}
	return products
}

func newCatalogPair(t *testing.T, products []insalessim.Product) (*insales.Adapter, *insalessim.Server) {
	t.Helper()
	clock := retry.NewManualClock(start)
	sim := insalessim.NewTest(t, insalessim.Config{Clock: clock})
	if err := sim.SetCatalog(products); err != nil {
		t.Fatal(err)
	}
	return newAdapter(t, sim, clock, nil), sim
}

func TestListCatalogReadsEveryPage(t *testing.T) {
	products := catalogProducts(400) // 600 variants
	a, sim := newCatalogPair(t, products)

	entries, err := a.ListCatalog(context.Background())
	if err != nil {
		t.Fatalf("ListCatalog: %v", err)
	}
	if len(entries) != 600 {
		t.Fatalf("got %d entries, want 600", len(entries))
	}

	byID := map[string]adapters.CatalogEntry{}
	for _, e := range entries {
		if _, dup := byID[e.ExternalID]; dup {
			t.Errorf("variant %s listed twice", e.ExternalID)
		}
		byID[e.ExternalID] = e
	}
	for _, p := range products {
		for _, v := range p.Variants {
			id := strconv.FormatInt(v.ID, 10)
			e, ok := byID[id]
			if !ok {
				t.Errorf("variant %s missing", id)
				continue
			}
			if e.Article != v.SKU {
				t.Errorf("variant %s: Article = %q, want sku %q", id, e.Article, v.SKU)
			}
			if e.PriceID != "" {
				t.Errorf("variant %s: PriceID = %q, want empty", id, e.PriceID)
			}
			switch {
			case v.Barcode == "" && len(e.Barcodes) != 0:
				t.Errorf("variant %s without barcode: Barcodes = %v, want none", id, e.Barcodes)
			case v.Barcode != "" && (len(e.Barcodes) != 1 || e.Barcodes[0] != v.Barcode):
				t.Errorf("variant %s: Barcodes = %v, want [%s]", id, e.Barcodes, v.Barcode)
			}
		}
	}

	if got := sim.CatalogStats().Requests; got != 2 {
		t.Errorf("simulator got %d products list requests, want 2 (250 + 150 products)", got)
	}
	if got := sim.Stats().ValidationFailures; got != 0 {
		t.Errorf("simulator rejected %d requests", got)
	}
}

func TestListCatalogFullLastPage(t *testing.T) {
	a, sim := newCatalogPair(t, catalogProducts(2*insales.ProductsPerPage))

	entries, err := a.ListCatalog(context.Background())
	if err != nil {
		t.Fatalf("ListCatalog: %v", err)
	}
	if len(entries) != 3*insales.ProductsPerPage {
		t.Errorf("got %d entries, want %d", len(entries), 3*insales.ProductsPerPage)
	}
	if got := sim.CatalogStats().Requests; got != 3 {
		t.Errorf("simulator got %d requests, want 3 (two full pages, then an empty one)", got)
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
	if got := sim.CatalogStats().Requests; got != 1 {
		t.Errorf("simulator got %d requests, want 1", got)
	}
}

func TestListCatalogErrorPage(t *testing.T) {
	tests := []struct {
		name   string
		status int
		want   retry.Class
	}{
		{"page 2 answers 500", http.StatusInternalServerError, retry.ClassRetriable},
		{"page 2 answers 403", http.StatusForbidden, retry.ClassPermanent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, sim := newCatalogPair(t, catalogProducts(400))
			sim.FailCatalogAfter(1, tc.status)

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

func TestListCatalogDeferredWhenBudgetSpent(t *testing.T) {
	a, sim := newCatalogPair(t, catalogProducts(400))
	// Prime the guard with one request, then let other apps spend the rest.
	if _, err := a.ListCatalog(context.Background()); err != nil {
		t.Fatalf("first ListCatalog: %v", err)
	}
	sim.UseBudget(insalessim.DefaultRequestsPerWindow)

	_, err := a.ListCatalog(context.Background())
	if got := retry.Classify(err); got != retry.ClassDeferred {
		t.Errorf("class %s (%v), want deferred", got, err)
	}
}

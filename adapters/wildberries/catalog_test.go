package wildberries_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/wildberries"
	"obmenhub/e2e/wbsim"
	"obmenhub/retry"
)

// catalogCards returns n cards with two sizes each. Every third card has
// no photo, and several cards share an updatedAt, so paging must use nmID
// to tell them apart.
func catalogCards(n int) []wbsim.Card {
	base := time.Date(2025, 11, 3, 8, 0, 0, 0, time.UTC)
	cards := make([]wbsim.Card, n)
	for i := range cards {
		nmID := int64(300000000 + i*13)
		card := wbsim.Card{
			NmID:       nmID,
			ImtID:      nmID + 1,
			VendorCode: fmt.Sprintf("VC-%04d", i),
			UpdatedAt:  base.Add(time.Duration(i/4) * time.Second),
		}
		if i%3 != 0 {
			card.Photos = []wbsim.Photo{{Big: "https://example.invalid/1.webp"}}
		}
		for s, techSize := range []string{"S", "M"} {
			card.Sizes = append(card.Sizes, wbsim.Size{
				ChrtID:   nmID*10 + int64(s),
				TechSize: techSize,
				Skus:     []string{fmt.Sprintf("20%010d%d", i, s)},
			})
		}
		cards[i] = card
	}
	return cards
}

func newCatalogPair(t *testing.T, cards []wbsim.Card) (*wildberries.Adapter, *wbsim.Server) {
	t.Helper()
	a, sim := newPair(t)
	if err := sim.SetCatalog(cards); err != nil {
		t.Fatal(err)
	}
	return a, sim
}

func TestListCatalogReadsEveryPage(t *testing.T) {
	cards := catalogCards(230)
	a, sim := newCatalogPair(t, cards)

	entries, err := a.ListCatalog(context.Background())
	if err != nil {
		t.Fatalf("ListCatalog: %v", err)
	}
	if len(entries) != 2*len(cards) {
		t.Fatalf("got %d entries, want %d (two sizes per card)", len(entries), 2*len(cards))
	}

	byChrtID := map[string]adapters.CatalogEntry{}
	for _, e := range entries {
		if _, dup := byChrtID[e.ExternalID]; dup {
			t.Errorf("chrtID %s listed twice", e.ExternalID)
		}
		byChrtID[e.ExternalID] = e
	}
	for _, card := range cards {
		for _, size := range card.Sizes {
			chrtID := strconv.FormatInt(size.ChrtID, 10)
			e, ok := byChrtID[chrtID]
			if !ok {
				t.Errorf("chrtID %s of card %d missing", chrtID, card.NmID)
				continue
			}
			if want := strconv.FormatInt(card.NmID, 10); e.PriceID != want {
				t.Errorf("chrtID %s: PriceID = %q, want nmID %s", chrtID, e.PriceID, want)
			}
			if e.Article != card.VendorCode {
				t.Errorf("chrtID %s: Article = %q, want vendorCode %q", chrtID, e.Article, card.VendorCode)
			}
			if !slices.Equal(e.Barcodes, size.Skus) {
				t.Errorf("chrtID %s: Barcodes = %v, want %v", chrtID, e.Barcodes, size.Skus)
			}
		}
	}

	if got := sim.CatalogStats().Requests; got != 3 {
		t.Errorf("simulator got %d cards list requests, want 3 (100 + 100 + 30)", got)
	}
	if got := sim.Stats().ValidationFailures; got != 0 {
		t.Errorf("simulator rejected %d requests", got)
	}
}

func TestListCatalogFullLastPage(t *testing.T) {
	a, sim := newCatalogPair(t, catalogCards(2*wildberries.CardsPageSize))

	entries, err := a.ListCatalog(context.Background())
	if err != nil {
		t.Fatalf("ListCatalog: %v", err)
	}
	if len(entries) != 4*wildberries.CardsPageSize {
		t.Errorf("got %d entries, want %d", len(entries), 4*wildberries.CardsPageSize)
	}
	if got := sim.CatalogStats().Requests; got != 3 {
		t.Errorf("simulator got %d requests, want 3 (two full pages, then an empty one)", got)
	}
}

func TestListCatalogKeepsContentLimit(t *testing.T) {
	// 1000 cards take 11 requests, more than the Content burst of 5.
	a, sim := newCatalogPair(t, catalogCards(1000))

	entries, err := a.ListCatalog(context.Background())
	if err != nil {
		t.Fatalf("ListCatalog: %v", err)
	}
	if len(entries) != 2000 {
		t.Errorf("got %d entries, want 2000", len(entries))
	}
	stats := sim.CatalogStats()
	if stats.Requests != 11 {
		t.Errorf("simulator got %d requests, want 11", stats.Requests)
	}
	if stats.RateViolations != 0 {
		t.Errorf("simulator counted %d requests over the Content limit, want 0", stats.RateViolations)
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
			a, sim := newCatalogPair(t, catalogCards(230))
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

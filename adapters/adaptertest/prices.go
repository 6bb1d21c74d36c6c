package adaptertest

import (
	"context"
	"fmt"
	"testing"

	"obmenhub/adapters"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

// PriceEnv is an adapters.PricePusher wired to a running simulator.
type PriceEnv struct {
	Pusher adapters.PricePusher
	// Price returns the price and old price the simulator stores for an
	// external id, in the vendor's own text form.
	Price func(externalID string) (price, oldPrice string, ok bool)
	Stats func() Stats
}

// PriceHarness connects the price cases of the suite to one adapter.
type PriceHarness struct {
	Name string
	// ExternalID returns a valid external id for item number i.
	ExternalID func(i int) string
	// Setup starts a simulator and an adapter for opts.
	Setup func(t *testing.T, opts Options) *PriceEnv
	// FormatPrice returns the text the simulator stores for a price sent
	// as d, such as `"12.50"` for a vendor that takes decimal strings.
	FormatPrice func(d model.Decimal) string
	// WholePrices makes the suite send prices without a fraction, for a
	// vendor that takes whole currency units only (Wildberries).
	WholePrices bool
}

func (h PriceHarness) items(n int) []adapters.PriceItem {
	items := make([]adapters.PriceItem, n)
	for i := range items {
		price := fmt.Sprintf("%d.5", 100+i)
		if h.WholePrices {
			price = fmt.Sprintf("%d", 100+i)
		}
		items[i] = adapters.PriceItem{
			SKU:        fmt.Sprintf("SKU-%04d", i),
			ExternalID: h.ExternalID(i),
			Price:      model.MustDecimal(price),
		}
	}
	return items
}

// RunPrices runs the price cases of the contract against h.
func RunPrices(t *testing.T, h PriceHarness) {
	t.Run("prices batch at MaxPriceBatch", func(t *testing.T) { testPriceBatching(t, h) })
	t.Run("prices partial failures", func(t *testing.T) { testPricePartial(t, h) })
}

func testPriceBatching(t *testing.T, h PriceHarness) {
	env := h.Setup(t, Options{Clock: retry.NewManualClock(start), Policy: fastPolicy()})
	n := 2*env.Pusher.MaxPriceBatch() + 1
	items := h.items(n)

	results, err := env.Pusher.PushPrices(context.Background(), items)
	if err != nil {
		t.Fatalf("PushPrices: %v", err)
	}
	if len(results) != n {
		t.Fatalf("got %d results, want %d", len(results), n)
	}
	for i, r := range results {
		if r.SKU != items[i].SKU || r.Err != nil {
			t.Fatalf("result %d = {%s, %v}, want {%s, nil}", i, r.SKU, r.Err, items[i].SKU)
		}
	}
	if got := env.Stats().Requests; got != 3 {
		t.Errorf("simulator got %d requests, want 3", got)
	}
	for _, i := range []int{0, n / 2, n - 1} {
		price, _, ok := env.Price(items[i].ExternalID)
		if want := h.FormatPrice(items[i].Price); !ok || price != want {
			t.Errorf("price of %s = %s (found %v), want %s", items[i].ExternalID, price, ok, want)
		}
	}
	if n := env.Stats().ValidationFailures; n != 0 {
		t.Errorf("simulator rejected %d requests as invalid", n)
	}
}

func testPricePartial(t *testing.T, h PriceHarness) {
	items := h.items(6)
	known := []string{items[0].ExternalID, items[2].ExternalID, items[4].ExternalID}
	env := h.Setup(t, Options{Clock: retry.NewManualClock(start), Policy: fastPolicy(), KnownIDs: known})

	results, err := env.Pusher.PushPrices(context.Background(), items)
	if err != nil {
		t.Fatalf("PushPrices: %v", err)
	}
	for i, r := range results {
		class := retry.Classify(r.Err)
		if i%2 == 1 {
			if class != retry.ClassPermanent {
				t.Errorf("unknown item %s: class %s (%v), want permanent", items[i].ExternalID, class, r.Err)
			}
			continue
		}
		if class != retry.ClassNone {
			t.Errorf("known item %s: class %s (%v), want success", items[i].ExternalID, class, r.Err)
		}
		if _, _, ok := env.Price(items[i].ExternalID); !ok {
			t.Errorf("known item %s not stored", items[i].ExternalID)
		}
	}
}

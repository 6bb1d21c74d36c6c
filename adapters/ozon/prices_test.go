package ozon_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/ozon"
	"obmenhub/e2e/ozonsim"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

func newPricePair(t *testing.T, simCfg ozonsim.Config, adapterCfg ozon.Config) (*ozon.Adapter, *ozonsim.Server, *retry.ManualClock) {
	t.Helper()
	clock := retry.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	simCfg.Clock = clock
	sim := ozonsim.NewTest(t, simCfg)
	adapterCfg.BaseURL = sim.URL
	adapterCfg.ClientID = "sim-client"
	adapterCfg.APIKey = "sim-key"
	adapterCfg.WarehouseID = warehouse
	adapterCfg.Clock = clock
	if adapterCfg.Policy.Jitter == 0 {
		adapterCfg.Policy.Jitter = retry.JitterNone
	}
	a, err := ozon.New(adapterCfg)
	if err != nil {
		t.Fatal(err)
	}
	return a, sim, clock
}

func price(s string) model.Decimal { return model.MustDecimal(s) }

func TestPushPricesSetsPrices(t *testing.T) {
	a, sim, _ := newPricePair(t, ozonsim.Config{}, ozon.Config{})
	items := []adapters.PriceItem{
		{SKU: "S1", ExternalID: "A-1", Price: price("1448.50")},
		{SKU: "S2", ExternalID: "A-2", Price: price("900"), OldPrice: price("1200"), Currency: "RUB"},
	}

	res, err := a.PushPrices(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.SKU != items[i].SKU || r.Err != nil {
			t.Errorf("result %d = %+v, want SKU %s without error", i, r, items[i].SKU)
		}
	}

	tests := []struct {
		offerID string
		want    ozonsim.Price
	}{
		{"A-1", ozonsim.Price{Price: "1448.5", OldPrice: "0", Currency: "RUB"}},
		{"A-2", ozonsim.Price{Price: "900", OldPrice: "1200", Currency: "RUB"}},
	}
	for _, tc := range tests {
		got, ok := sim.Price(tc.offerID)
		if !ok || got != tc.want {
			t.Errorf("price of %s = %+v (found %v), want %+v", tc.offerID, got, ok, tc.want)
		}
	}
	if got := sim.Stats().ValidationFailures; got != 0 {
		t.Errorf("simulator rejected %d requests by the spec, want 0", got)
	}
	if got := len(sim.Prices()); got != 2 {
		t.Errorf("simulator holds %d prices, want 2", got)
	}
}

func TestPriceErrorCodes(t *testing.T) {
	tests := []struct {
		code string
		want retry.Class
	}{
		{"discount_too_big", retry.ClassPermanent},
		{"NOT_FOUND_ERROR", retry.ClassPermanent},
		{"invalid_cat egory_price", retry.ClassPermanent},
		{"action_price_enabled_min_price_missing", retry.ClassPermanent},
		{"TOO_MANY_REQUESTS", retry.ClassDeferred},
		{"SOMETHING_NEW", retry.ClassRetriable},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			a, sim, _ := newPricePair(t, ozonsim.Config{}, ozon.Config{})
			sim.FailPriceItem("A-1", tc.code)
			res, err := a.PushPrices(context.Background(), []adapters.PriceItem{
				{SKU: "S1", ExternalID: "A-1", Price: price("100")},
				{SKU: "S2", ExternalID: "A-2", Price: price("100")},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := retry.Classify(res[0].Err); got != tc.want {
				t.Errorf("rejected item: class %s (%v), want %s", got, res[0].Err, tc.want)
			}
			if res[1].Err != nil {
				t.Errorf("other item: %v, want no error", res[1].Err)
			}
		})
	}
}

func TestPriceDiscountRuleFromSimulator(t *testing.T) {
	a, _, _ := newPricePair(t, ozonsim.Config{}, ozon.Config{})
	// A price of 500 needs a difference over 5%; 510 is under 2% above it.
	res, err := a.PushPrices(context.Background(), []adapters.PriceItem{{SKU: "S1", ExternalID: "A-1", Price: price("500"), OldPrice: price("510")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := retry.Classify(res[0].Err); got != retry.ClassPermanent {
		t.Fatalf("class %s (%v), want permanent", got, res[0].Err)
	}
	var itemErr *ozon.ItemError
	if !errors.As(res[0].Err, &itemErr) || itemErr.Code != "discount_for_average_price_is_too_small" {
		t.Errorf("error %v, want code discount_for_average_price_is_too_small", res[0].Err)
	}
}

func TestPriceRuleClientSide(t *testing.T) {
	a, sim, clock := newPricePair(t, ozonsim.Config{}, ozon.Config{})
	start := clock.Now()
	item := func(n int) []adapters.PriceItem {
		return []adapters.PriceItem{{SKU: "S1", ExternalID: "A-1", Price: model.IntDecimal(int64(100 + n))}}
	}

	for n := range 10 {
		res, err := a.PushPrices(context.Background(), item(n))
		if err != nil || res[0].Err != nil {
			t.Fatalf("push %d: %v, %v", n+1, err, res)
		}
		clock.Advance(time.Minute)
	}

	res, err := a.PushPrices(context.Background(), item(10))
	if err != nil {
		t.Fatal(err)
	}
	var deferred *retry.DeferredError
	if !errors.As(res[0].Err, &deferred) {
		t.Fatalf("11th push in an hour: %v, want *retry.DeferredError", res[0].Err)
	}
	if want := start.Add(time.Hour); !deferred.Until.Equal(want) {
		t.Errorf("Until = %s, want %s", deferred.Until, want)
	}
	if got := sim.Stats().PriceRequests; got != 10 {
		t.Errorf("simulator got %d price requests, want 10", got)
	}

	clock.Advance(deferred.Until.Sub(clock.Now()))
	res, err = a.PushPrices(context.Background(), item(11))
	if err != nil || res[0].Err != nil {
		t.Fatalf("push after the window: %v, %v", err, res)
	}
	if got, _ := sim.Price("A-1"); got.Price != "111" {
		t.Errorf("price = %q, want 111", got.Price)
	}
	if got := sim.Stats().PriceRuleViolations; got != 0 {
		t.Errorf("simulator counted %d price rule violations, want 0", got)
	}
}

func TestPriceRuleServerAnswer(t *testing.T) {
	// A client window larger than the server's lets the server's rule fire.
	a, sim, _ := newPricePair(t, ozonsim.Config{PriceUpdatesPerWindow: 1}, ozon.Config{PriceUpdatesPerWindow: 5})
	item := []adapters.PriceItem{{SKU: "S1", ExternalID: "A-1", Price: price("100")}}
	if res, err := a.PushPrices(context.Background(), item); err != nil || res[0].Err != nil {
		t.Fatalf("first push: %v, %v", err, res)
	}

	res, err := a.PushPrices(context.Background(), item)
	if err != nil {
		t.Fatal(err)
	}
	if got := retry.Classify(res[0].Err); got != retry.ClassDeferred {
		t.Errorf("class %s (%v), want deferred", got, res[0].Err)
	}
	if got := sim.Stats().PriceRuleViolations; got != 1 {
		t.Errorf("simulator counted %d price rule violations, want 1", got)
	}
}

func TestPriceBatching(t *testing.T) {
	tests := []struct {
		name         string
		items        int
		duplicateAt  int // index whose offer_id repeats item 0's, or -1
		wantRequests int
	}{
		{"exactly one batch", 1000, -1, 1},
		{"one over the limit", 1001, -1, 2},
		{"two and a half batches", 2500, -1, 3},
		{"duplicate offer_id splits", 10, 5, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, sim, _ := newPricePair(t, ozonsim.Config{}, ozon.Config{})
			items := make([]adapters.PriceItem, tc.items)
			for i := range items {
				items[i] = adapters.PriceItem{SKU: fmt.Sprintf("S%d", i), ExternalID: fmt.Sprintf("A-%d", i), Price: model.IntDecimal(int64(100 + i))}
			}
			if tc.duplicateAt >= 0 {
				items[tc.duplicateAt].ExternalID = items[0].ExternalID
			}

			res, err := a.PushPrices(context.Background(), items)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range res {
				if r.Err != nil {
					t.Fatalf("item %d: %v", i, r.Err)
				}
			}
			if got := sim.Stats().PriceRequests; got != tc.wantRequests {
				t.Errorf("simulator got %d price requests, want %d", got, tc.wantRequests)
			}
			if got := sim.Stats().ValidationFailures; got != 0 {
				t.Errorf("simulator rejected %d requests by the spec, want 0", got)
			}
			if tc.duplicateAt >= 0 {
				want := fmt.Sprint(100 + tc.duplicateAt)
				if got, _ := sim.Price(items[0].ExternalID); got.Price != want {
					t.Errorf("price of the repeated offer_id = %q, want the later %s", got.Price, want)
				}
			}
		})
	}
}

func TestPriceInvalidItems(t *testing.T) {
	tests := []struct {
		name string
		item adapters.PriceItem
	}{
		{"empty offer_id", adapters.PriceItem{SKU: "S1", Price: price("100")}},
		{"zero price", adapters.PriceItem{SKU: "S1", ExternalID: "A-1"}},
		{"negative old price", adapters.PriceItem{SKU: "S1", ExternalID: "A-1", Price: price("100"), OldPrice: price("-1")}},
		{"three decimal places", adapters.PriceItem{SKU: "S1", ExternalID: "A-1", Price: price("100.125")}},
		{"unknown currency", adapters.PriceItem{SKU: "S1", ExternalID: "A-1", Price: price("100"), Currency: "GBP"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, sim, _ := newPricePair(t, ozonsim.Config{}, ozon.Config{})
			res, err := a.PushPrices(context.Background(), []adapters.PriceItem{tc.item})
			if err != nil {
				t.Fatal(err)
			}
			if got := retry.Classify(res[0].Err); got != retry.ClassPermanent {
				t.Errorf("class %s (%v), want permanent", got, res[0].Err)
			}
			if got := sim.Stats().PriceRequests; got != 0 {
				t.Errorf("simulator got %d price requests, want 0", got)
			}
		})
	}
}

func TestPriceTooManyRequests(t *testing.T) {
	// The simulator allows one price request per hour; the adapter's own
	// limiter is faster, so the second request gets 429.
	a, sim, _ := newPricePair(t,
		ozonsim.Config{PriceRequestsPerSecond: 1.0 / 3600, PriceBurst: 1},
		ozon.Config{Policy: retry.Policy{MaxAttempts: 2, Jitter: retry.JitterNone}})

	if res, err := a.PushPrices(context.Background(), []adapters.PriceItem{{SKU: "S1", ExternalID: "A-1", Price: price("100")}}); err != nil || res[0].Err != nil {
		t.Fatalf("first push: %v, %v", err, res)
	}
	res, err := a.PushPrices(context.Background(), []adapters.PriceItem{{SKU: "S2", ExternalID: "A-2", Price: price("100")}})
	if err == nil {
		t.Fatalf("second push succeeded with %v, want a request error", res)
	}
	if got := retry.Classify(err); got != retry.ClassRetriable {
		t.Errorf("class %s (%v), want retriable: Ozon sends no delay header", got, err)
	}
	if len(res) != 0 {
		t.Errorf("results = %v, want none", res)
	}
	if got := sim.Stats().TooManyRequests; got != 2 {
		t.Errorf("simulator sent %d 429 answers, want 2 (one per attempt)", got)
	}
	if got := sim.Stats().PriceRateViolations; got != 2 {
		t.Errorf("simulator counted %d price rate violations, want 2", got)
	}
}

func TestSimulatorRejectsMalformedPriceRequest(t *testing.T) {
	_, sim, _ := newPricePair(t, ozonsim.Config{}, ozon.Config{})
	// price is a string in the spec; a number must fail validation.
	body := `{"prices":[{"offer_id":"A-1","price":100,"old_price":"0"}]}`
	req, err := http.NewRequest(http.MethodPost, sim.URL+"/v1/product/import/prices", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Client-Id", "sim-client")
	req.Header.Set("Api-Key", "sim-key")

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	if got := sim.Stats().ValidationFailures; got != 1 {
		t.Errorf("simulator counted %d validation failures, want 1", got)
	}
	if _, ok := sim.Price("A-1"); ok {
		t.Error("simulator stored the price of a malformed request")
	}
}

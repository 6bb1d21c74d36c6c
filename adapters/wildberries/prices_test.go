package wildberries_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/wildberries"
	"obmenhub/e2e/wbsim"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

func newPricePair(t *testing.T, simCfg wbsim.Config, adapterCfg wildberries.Config) (*wildberries.Adapter, *wbsim.Server, *retry.ManualClock) {
	t.Helper()
	clock := retry.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	simCfg.Clock = clock
	sim := wbsim.NewTest(t, simCfg)
	adapterCfg.BaseURL = sim.URL
	adapterCfg.Token = "sim-token"
	adapterCfg.WarehouseID = warehouse
	adapterCfg.Clock = clock
	if adapterCfg.Policy.Jitter == 0 {
		adapterCfg.Policy.Jitter = retry.JitterNone
	}
	a, err := wildberries.New(adapterCfg)
	if err != nil {
		t.Fatal(err)
	}
	return a, sim, clock
}

func price(s string) model.Decimal { return model.MustDecimal(s) }

func TestPushPricesSetsPrices(t *testing.T) {
	a, sim, _ := newPricePair(t, wbsim.Config{}, wildberries.Config{})
	items := []adapters.PriceItem{
		{SKU: "S1", ExternalID: "101", Price: price("999")},
		{SKU: "S2", ExternalID: "102", Price: price("700"), OldPrice: price("1000"), Currency: "RUB"},
		{SKU: "S3", ExternalID: "103", Price: price("667"), OldPrice: price("1000")},
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
		nmID string
		want wbsim.Price
	}{
		{"101", wbsim.Price{Price: 999, Discount: 0}},
		{"102", wbsim.Price{Price: 1000, Discount: 30}},
		{"103", wbsim.Price{Price: 1000, Discount: 33}}, // 33.3% rounds to 33
	}
	for _, tc := range tests {
		got, ok := sim.Price(tc.nmID)
		if !ok || got != tc.want {
			t.Errorf("price of nmID %s = %+v (found %v), want %+v", tc.nmID, got, ok, tc.want)
		}
	}
	stats := sim.Stats()
	if stats.ValidationFailures != 0 {
		t.Errorf("simulator rejected %d requests by the spec, want 0", stats.ValidationFailures)
	}
	if stats.PriceUploads != 1 {
		t.Errorf("simulator got %d uploads, want 1", stats.PriceUploads)
	}
	if len(sim.Prices()) != 3 {
		t.Errorf("simulator holds %d prices, want 3", len(sim.Prices()))
	}
}

func TestPricePollingUsesClock(t *testing.T) {
	a, sim, clock := newPricePair(t, wbsim.Config{PriceProcessingDelay: 10 * time.Second}, wildberries.Config{PricePollInterval: 3 * time.Second})
	start := time.Now()

	res, err := a.PushPrices(context.Background(), []adapters.PriceItem{{SKU: "S1", ExternalID: "101", Price: price("500")}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("push: %v, %v", err, res)
	}
	// Four polls of 3 s reach the 10 s processing delay.
	if _, sleeps := clock.Slept(); sleeps < 4 {
		t.Errorf("adapter slept %d times on the clock, want at least 4 polls", sleeps)
	}
	if real := time.Since(start); real > 5*time.Second {
		t.Errorf("push took %s of real time; polling must wait on the injected clock", real)
	}
	if h := sim.PriceHistory(101); len(h) != 1 {
		t.Errorf("history of nmID 101 has %d entries, want 1", len(h))
	}
}

func TestPriceItemErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		want retry.Class
	}{
		{"high inventory sale", "You can't change the item price. Item was added to the Sale due to high inventory", retry.ClassPermanent},
		{"unknown error", "Something went wrong", retry.ClassRetriable},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, sim, _ := newPricePair(t, wbsim.Config{}, wildberries.Config{})
			sim.FailPriceItem(11, tc.text)
			res, err := a.PushPrices(context.Background(), []adapters.PriceItem{
				{SKU: "A", ExternalID: "11", Price: price("100")},
				{SKU: "B", ExternalID: "12", Price: price("200")},
			})
			if err != nil {
				t.Fatal(err)
			}
			if got := retry.Classify(res[0].Err); got != tc.want {
				t.Errorf("rejected item: class %s (%v), want %s", got, res[0].Err, tc.want)
			}
			if res[0].Err != nil && !strings.Contains(res[0].Err.Error(), tc.text) {
				t.Errorf("error %q does not contain Wildberries' text %q", res[0].Err, tc.text)
			}
			if res[1].Err != nil {
				t.Errorf("other item: %v, want no error", res[1].Err)
			}
		})
	}
}

func TestPriceQuarantineReportedOnce(t *testing.T) {
	a, sim, _ := newPricePair(t, wbsim.Config{}, wildberries.Config{})
	sim.SetPrice(11, wbsim.Price{Price: 3000})
	items := []adapters.PriceItem{
		{SKU: "CUT", ExternalID: "11", Price: price("1000")}, // 3000 is 3 times 1000
		{SKU: "OK", ExternalID: "12", Price: price("500")},
	}

	res, err := a.PushPrices(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	if got := retry.Classify(res[0].Err); got != retry.ClassPermanent {
		t.Errorf("quarantined item: class %s (%v), want permanent", got, res[0].Err)
	}
	if !errors.Is(res[0].Err, wildberries.ErrPriceQuarantine) {
		t.Errorf("quarantined item: %v does not match ErrPriceQuarantine", res[0].Err)
	}
	var quarantine *wildberries.QuarantineError
	if !errors.As(res[0].Err, &quarantine) || quarantine.NmID != 11 {
		t.Errorf("quarantined item: %v, want *QuarantineError for nmID 11", res[0].Err)
	}
	if msg := res[0].Err.Error(); !strings.Contains(msg, "quarantine") || !strings.Contains(msg, "seller's account") {
		t.Errorf("message %q does not say the item is in quarantine and where to release it", msg)
	}
	if res[1].Err != nil {
		t.Errorf("other item: %v, want no error", res[1].Err)
	}

	stats := sim.Stats()
	if stats.PriceUploads != 1 {
		t.Errorf("simulator got %d uploads, want 1: a quarantined item is not sent again", stats.PriceUploads)
	}
	if stats.Quarantined != 1 {
		t.Errorf("simulator quarantined %d items, want 1", stats.Quarantined)
	}
	if got, _ := sim.Price("11"); got.Price != 3000 {
		t.Errorf("price of the quarantined item = %d, want the old 3000", got.Price)
	}
}

func TestPriceQuarantineRatioConfigurable(t *testing.T) {
	a, sim, _ := newPricePair(t, wbsim.Config{QuarantineRatio: 1.5}, wildberries.Config{})
	sim.SetPrice(11, wbsim.Price{Price: 3000})
	res, err := a.PushPrices(context.Background(), []adapters.PriceItem{{SKU: "CUT", ExternalID: "11", Price: price("1900")}})
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(res[0].Err, wildberries.ErrPriceQuarantine) {
		t.Errorf("a cut by more than the ratio 1.5: %v, want quarantine", res[0].Err)
	}
}

func TestPriceInvalidItems(t *testing.T) {
	tests := []struct {
		name string
		item adapters.PriceItem
	}{
		{"non-numeric nmID", adapters.PriceItem{SKU: "S1", ExternalID: "12a", Price: price("100")}},
		{"empty nmID", adapters.PriceItem{SKU: "S1", Price: price("100")}},
		{"signed nmID", adapters.PriceItem{SKU: "S1", ExternalID: "+12", Price: price("100")}},
		{"fractional price", adapters.PriceItem{SKU: "S1", ExternalID: "12", Price: price("99.90")}},
		{"zero price", adapters.PriceItem{SKU: "S1", ExternalID: "12"}},
		{"old price below price", adapters.PriceItem{SKU: "S1", ExternalID: "12", Price: price("100"), OldPrice: price("90")}},
		{"other currency", adapters.PriceItem{SKU: "S1", ExternalID: "12", Price: price("100"), Currency: "KZT"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, sim, _ := newPricePair(t, wbsim.Config{}, wildberries.Config{})
			res, err := a.PushPrices(context.Background(), []adapters.PriceItem{tc.item})
			if err != nil {
				t.Fatal(err)
			}
			if got := retry.Classify(res[0].Err); got != retry.ClassPermanent {
				t.Errorf("class %s (%v), want permanent", got, res[0].Err)
			}
			if !strings.Contains(res[0].Err.Error(), tc.item.SKU) {
				t.Errorf("error %q does not name SKU %s", res[0].Err, tc.item.SKU)
			}
			if got := sim.Stats().PriceRequests; got != 0 {
				t.Errorf("simulator got %d price requests, want 0", got)
			}
		})
	}
}

func TestPriceBatching(t *testing.T) {
	tests := []struct {
		name        string
		items       int
		duplicateAt int // index whose nmID repeats item 0's, or -1
		wantUploads int
	}{
		{"exactly one upload", 1000, -1, 1},
		{"one over the limit", 1001, -1, 2},
		{"duplicate nmID splits", 10, 5, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, sim, _ := newPricePair(t, wbsim.Config{}, wildberries.Config{})
			items := make([]adapters.PriceItem, tc.items)
			for i := range items {
				items[i] = adapters.PriceItem{SKU: fmt.Sprintf("S%d", i), ExternalID: fmt.Sprint(1000 + i), Price: model.IntDecimal(int64(100 + i))}
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
			stats := sim.Stats()
			if stats.PriceUploads != tc.wantUploads {
				t.Errorf("simulator got %d uploads, want %d", stats.PriceUploads, tc.wantUploads)
			}
			if stats.ValidationFailures != 0 {
				t.Errorf("simulator rejected %d requests by the spec, want 0", stats.ValidationFailures)
			}
			if tc.duplicateAt >= 0 {
				if got, _ := sim.Price(items[0].ExternalID); got.Price != int64(100+tc.duplicateAt) {
					t.Errorf("price of the repeated nmID = %d, want the later %d", got.Price, 100+tc.duplicateAt)
				}
			}
		})
	}
}

func TestPriceAlreadySet(t *testing.T) {
	a, sim, _ := newPricePair(t, wbsim.Config{}, wildberries.Config{})
	sim.SetPrice(11, wbsim.Price{Price: 100})
	res, err := a.PushPrices(context.Background(), []adapters.PriceItem{{SKU: "S1", ExternalID: "11", Price: price("100")}})
	if err != nil {
		t.Fatalf("push of the current price: %v", err)
	}
	if res[0].Err != nil {
		t.Errorf("item: %v, want no error for a price already set", res[0].Err)
	}
	if got := sim.Stats().PriceUploads; got != 0 {
		t.Errorf("simulator created %d uploads, want 0", got)
	}
}

func TestPriceTooManyRequests(t *testing.T) {
	// The simulator allows one prices request per 10 s, and the adapter's
	// own limiter is faster. Polls get 429 with X-Ratelimit-Retry, which
	// the adapter waits out on the clock.
	a, sim, _ := newPricePair(t,
		wbsim.Config{PriceRequestsPerMinute: 6, PriceBurst: 1, PriceProcessingDelay: time.Second},
		wildberries.Config{PriceRequestsPerMinute: 600, PriceBurst: 10, PricePollInterval: time.Second})

	res, err := a.PushPrices(context.Background(), []adapters.PriceItem{{SKU: "S1", ExternalID: "11", Price: price("100")}})
	if err != nil || res[0].Err != nil {
		t.Fatalf("push: %v, %v", err, res)
	}
	stats := sim.Stats()
	if stats.TooManyRequests == 0 {
		t.Error("simulator sent no 429 answer; the test does not exercise rate limiting")
	}
	if stats.PriceRateViolations != stats.TooManyRequests {
		t.Errorf("price rate violations %d, 429 answers %d, want equal", stats.PriceRateViolations, stats.TooManyRequests)
	}
	if got, _ := sim.Price("11"); got.Price != 100 {
		t.Errorf("price = %d, want 100", got.Price)
	}
}

func TestPriceRequestsWithinLimit(t *testing.T) {
	// With the documented limits on both sides, the adapter never gets 429.
	a, sim, _ := newPricePair(t, wbsim.Config{}, wildberries.Config{})
	for round := range 5 {
		items := make([]adapters.PriceItem, 20)
		for i := range items {
			items[i] = adapters.PriceItem{SKU: fmt.Sprintf("S%d", i), ExternalID: fmt.Sprint(1000 + i), Price: model.IntDecimal(int64(200 + round))}
		}
		if _, err := a.PushPrices(context.Background(), items); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
	}
	if got := sim.Stats().PriceRateViolations; got != 0 {
		t.Errorf("simulator counted %d price rate violations, want 0", got)
	}
}

func TestPricePollTimeout(t *testing.T) {
	a, _, _ := newPricePair(t, wbsim.Config{PriceProcessingDelay: time.Hour}, wildberries.Config{PricePollTimeout: time.Minute})
	res, err := a.PushPrices(context.Background(), []adapters.PriceItem{{SKU: "S1", ExternalID: "11", Price: price("100")}})
	if err != nil {
		t.Fatal(err)
	}
	if got := retry.Classify(res[0].Err); got != retry.ClassRetriable {
		t.Errorf("class %s (%v), want retriable", got, res[0].Err)
	}
}

func TestSimulatorRejectsMalformedPriceRequest(t *testing.T) {
	_, sim, _ := newPricePair(t, wbsim.Config{}, wildberries.Config{})
	// nmID is an integer in the spec; a string must fail validation.
	body := `{"data":[{"nmID":"11","price":100}]}`
	req, err := http.NewRequest(http.MethodPost, sim.URL+"/api/v2/upload/task", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "sim-token")

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
	stats := sim.Stats()
	if stats.ValidationFailures != 1 {
		t.Errorf("simulator counted %d validation failures, want 1", stats.ValidationFailures)
	}
	if stats.PriceUploads != 0 {
		t.Errorf("simulator created %d uploads from a malformed request, want 0", stats.PriceUploads)
	}
}

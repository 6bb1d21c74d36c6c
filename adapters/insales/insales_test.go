package insales_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/insales"
	"obmenhub/e2e/insalessim"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newAdapter(t *testing.T, sim *insalessim.Server, clock retry.Clock, change func(*insales.Config)) *insales.Adapter {
	t.Helper()
	cfg := insales.Config{
		BaseURL:   sim.URL,
		Login:     insalessim.DefaultLogin,
		Password:  insalessim.DefaultPassword,
		Clock:     clock,
		Policy:    retry.Policy{Jitter: retry.JitterNone},
		UserAgent: "obmenhub-test",
	}
	if change != nil {
		change(&cfg)
	}
	a, err := insales.New(cfg)
	if err != nil {
		t.Fatalf("insales.New: %v", err)
	}
	return a
}

func stockItems(n int) []adapters.StockItem {
	items := make([]adapters.StockItem, n)
	for i := range items {
		items[i] = adapters.StockItem{SKU: fmt.Sprintf("SKU-%05d", i), ExternalID: strconv.Itoa(700000 + i), Quantity: int64(i % 37)}
	}
	return items
}

func checkAllConfirmed(t *testing.T, results []adapters.ItemResult, n int) {
	t.Helper()
	if len(results) != n {
		t.Fatalf("got %d results, want %d", len(results), n)
	}
	for i, r := range results {
		if r.Err != nil {
			t.Fatalf("result %d (%s): %v", i, r.SKU, r.Err)
		}
	}
}

func TestPushStockBatchesAt100(t *testing.T) {
	clock := retry.NewManualClock(start)
	sim := insalessim.NewTest(t, insalessim.Config{Clock: clock})
	a := newAdapter(t, sim, clock, nil)
	items := stockItems(250)

	results, err := a.PushStock(context.Background(), items)
	if err != nil {
		t.Fatalf("PushStock: %v", err)
	}
	checkAllConfirmed(t, results, len(items))

	stats := sim.Stats()
	if stats.Requests != 3 {
		t.Errorf("simulator got %d requests, want 3 (100 + 100 + 50)", stats.Requests)
	}
	if stats.Updated != 250 {
		t.Errorf("simulator updated %d variants, want 250", stats.Updated)
	}
	if stats.ValidationFailures != 0 {
		t.Errorf("simulator rejected %d requests as invalid", stats.ValidationFailures)
	}
	for _, i := range []int{0, 99, 100, 249} {
		got, ok := sim.Stock(items[i].ExternalID)
		if !ok || got != items[i].Quantity {
			t.Errorf("stock of %s = %d (found %v), want %d", items[i].ExternalID, got, ok, items[i].Quantity)
		}
	}
	if agents := sim.Agents(); len(agents) != 3 || agents[0] != "obmenhub-test" {
		t.Errorf("agents = %v, want 3 times obmenhub-test", agents)
	}
}

func TestPushStockPartialFailure(t *testing.T) {
	clock := retry.NewManualClock(start)
	sim := insalessim.NewTest(t, insalessim.Config{Clock: clock, KnownVariantIDs: []int64{11, 13}})
	a := newAdapter(t, sim, clock, nil)
	items := []adapters.StockItem{
		{SKU: "A", ExternalID: "11", Quantity: 1},
		{SKU: "B", ExternalID: "12", Quantity: 2},
		{SKU: "C", ExternalID: "13", Quantity: 3},
	}

	results, err := a.PushStock(context.Background(), items)
	if err != nil {
		t.Fatalf("PushStock: %v", err)
	}
	if results[0].Err != nil || results[2].Err != nil {
		t.Errorf("known variants: %v, %v; want success", results[0].Err, results[2].Err)
	}
	if got := retry.Classify(results[1].Err); got != retry.ClassPermanent {
		t.Errorf("unknown variant: class %s (%v), want permanent", got, results[1].Err)
	}
	var variantErr *insales.VariantError
	if !errors.As(results[1].Err, &variantErr) || variantErr.VariantID != 12 || variantErr.Status != "error" {
		t.Errorf("unknown variant error = %#v, want a VariantError for 12 with status error", results[1].Err)
	}
	if _, ok := sim.Stock("12"); ok {
		t.Error("simulator stored the unknown variant 12")
	}
	if got, _ := sim.Stock("13"); got != 3 {
		t.Errorf("stock of 13 = %d, want 3", got)
	}
}

func TestInvalidItemsNotSent(t *testing.T) {
	clock := retry.NewManualClock(start)
	sim := insalessim.NewTest(t, insalessim.Config{Clock: clock})
	a := newAdapter(t, sim, clock, nil)
	items := []adapters.StockItem{
		{SKU: "BAD-ID", ExternalID: "12a", Quantity: 1},
		{SKU: "OK", ExternalID: "777", Quantity: 3},
		{SKU: "EMPTY-ID", ExternalID: "", Quantity: 1},
		{SKU: "PLUS-ID", ExternalID: "+5", Quantity: 1},
		{SKU: "NEGATIVE", ExternalID: "778", Quantity: -1},
	}

	results, err := a.PushStock(context.Background(), items)
	if err != nil {
		t.Fatalf("PushStock: %v", err)
	}
	for _, i := range []int{0, 2, 3} {
		if got := retry.Classify(results[i].Err); got != retry.ClassPermanent {
			t.Errorf("item %s: class %s (%v), want permanent", items[i].SKU, got, results[i].Err)
			continue
		}
		msg := results[i].Err.Error()
		if !strings.Contains(msg, items[i].SKU) || !strings.Contains(msg, strconv.Quote(items[i].ExternalID)) {
			t.Errorf("error %q does not name SKU %s and value %q", msg, items[i].SKU, items[i].ExternalID)
		}
	}
	if got := retry.Classify(results[4].Err); got != retry.ClassPermanent {
		t.Errorf("negative quantity: class %s (%v), want permanent", got, results[4].Err)
	}
	if results[1].Err != nil {
		t.Errorf("valid item: %v", results[1].Err)
	}
	if got := sim.Stats().Updated; got != 1 {
		t.Errorf("simulator updated %d variants, want only the valid one", got)
	}
}

func TestServiceUnavailableIsDeferred(t *testing.T) {
	clock := retry.NewManualClock(start)
	sim := insalessim.NewTest(t, insalessim.Config{Clock: clock, RequestsPerWindow: 2})
	// Without the guard the adapter sends the third request and gets 503.
	a := newAdapter(t, sim, clock, func(c *insales.Config) { c.DisableUsageGuard = true })
	items := stockItems(300)

	results, err := a.PushStock(context.Background(), items)
	var deferred *retry.DeferredError
	if !errors.As(err, &deferred) {
		t.Fatalf("PushStock error = %v, want a *retry.DeferredError", err)
	}
	wantUntil := start.Add(insalessim.DefaultWindow)
	if deferred.Until.Before(wantUntil) || deferred.Until.After(wantUntil.Add(2*time.Second)) {
		t.Errorf("Until = %s, want about %s (the end of the window)", deferred.Until, wantUntil)
	}
	checkAllConfirmed(t, results, 200)
	if got := sim.Stats().ServiceUnavailable; got != 1 {
		t.Errorf("simulator sent %d 503 responses, want 1", got)
	}

	requests := sim.Stats().Requests
	_, err = a.PushStock(context.Background(), items[200:])
	if !errors.As(err, &deferred) {
		t.Fatalf("push within Retry-After: %v, want a *retry.DeferredError", err)
	}
	if got := sim.Stats().Requests; got != requests {
		t.Errorf("adapter sent %d requests within Retry-After, want 0", got-requests)
	}

	clock.Advance(insalessim.DefaultWindow)
	results, err = a.PushStock(context.Background(), items[200:])
	if err != nil {
		t.Fatalf("push after Retry-After: %v", err)
	}
	checkAllConfirmed(t, results, 100)
}

func TestShortRetryAfterIsWaitedOut(t *testing.T) {
	clock := retry.NewManualClock(start)
	sim := insalessim.NewTest(t, insalessim.Config{Clock: clock, RequestsPerWindow: 1, Window: 10 * time.Second})
	a := newAdapter(t, sim, clock, func(c *insales.Config) { c.DisableUsageGuard = true })

	results, err := a.PushStock(context.Background(), stockItems(150))
	if err != nil {
		t.Fatalf("PushStock: %v", err)
	}
	checkAllConfirmed(t, results, 150)
	if got := sim.Stats().ServiceUnavailable; got != 1 {
		t.Errorf("simulator sent %d 503 responses, want 1", got)
	}
	if slept, _ := clock.Slept(); slept < 10*time.Second {
		t.Errorf("adapter waited %s, want at least the 10 s of Retry-After", slept)
	}
}

func TestUsageGuardDefersBeforeLimit(t *testing.T) {
	clock := retry.NewManualClock(start)
	sim := insalessim.NewTest(t, insalessim.Config{Clock: clock})
	sim.UseBudget(495)
	a := newAdapter(t, sim, clock, nil)

	results, err := a.PushStock(context.Background(), stockItems(300))
	var deferred *retry.DeferredError
	if !errors.As(err, &deferred) {
		t.Fatalf("PushStock error = %v, want a *retry.DeferredError", err)
	}
	checkAllConfirmed(t, results, 100)
	if !deferred.Until.After(clock.Now().Add(time.Minute)) {
		t.Errorf("Until = %s, want the end of the window, minutes after %s", deferred.Until, clock.Now())
	}
	stats := sim.Stats()
	if stats.RateViolations != 0 {
		t.Errorf("simulator counted %d requests over the limit, want 0", stats.RateViolations)
	}
	if stats.Requests != 1 {
		t.Errorf("simulator got %d requests, want 1: the response showed 496/500, within the reserve", stats.Requests)
	}
}

func TestUsageNearLimitSlowsDown(t *testing.T) {
	// 5 minutes of the scaled clock pass in about one second.
	clock := retry.NewScaledClock(300)
	sim := insalessim.NewTest(t, insalessim.Config{Clock: clock})
	sim.UseBudget(450)
	a := newAdapter(t, sim, clock, func(c *insales.Config) { c.Policy.MaxDeferWait = 2 * insales.UsageWindow })
	items := stockItems(10000)

	results, err := a.PushStock(context.Background(), items)
	if err != nil {
		t.Fatalf("PushStock: %v", err)
	}
	checkAllConfirmed(t, results, len(items))

	stats := sim.Stats()
	if stats.RateViolations != 0 {
		t.Errorf("simulator counted %d requests over the limit, want 0", stats.RateViolations)
	}
	if stats.ServiceUnavailable != 0 {
		t.Errorf("simulator sent %d 503 responses, want 0", stats.ServiceUnavailable)
	}
	if stats.Requests != 100 {
		t.Errorf("simulator got %d requests, want 100", stats.Requests)
	}
	first := sim.History(700000)
	last := sim.History(700000 + int64(len(items)) - 1)
	if len(first) != 1 || len(last) != 1 {
		t.Fatalf("history of first and last variant has %d and %d updates, want 1 each", len(first), len(last))
	}
	// Only 40 requests fit in the first window (50 left, 10 held in
	// reserve), so the rest had to wait for the next one.
	if gap := last[0].At.Sub(first[0].At); gap < 4*time.Minute {
		t.Errorf("push took %s of scaled time, want the wait for the next window", gap)
	}
}

func TestBadCredentialsArePermanent(t *testing.T) {
	clock := retry.NewManualClock(start)
	sim := insalessim.NewTest(t, insalessim.Config{Clock: clock})
	a := newAdapter(t, sim, clock, func(c *insales.Config) { c.Password = "wrong" })

	_, err := a.PushStock(context.Background(), stockItems(1))
	if got := retry.Classify(err); got != retry.ClassPermanent {
		t.Fatalf("class %s (%v), want permanent", got, err)
	}
	if !strings.Contains(err.Error(), "Login") || !strings.Contains(err.Error(), "Password") {
		t.Errorf("error %q does not say to check Login and Password", err)
	}
	if strings.Contains(err.Error(), "wrong") {
		t.Errorf("error %q contains the password", err)
	}
	if got := sim.Stats().Requests; got != 1 {
		t.Errorf("adapter sent %d requests, want 1", got)
	}
}

func TestPushPricesSendsTwoDecimalStrings(t *testing.T) {
	clock := retry.NewManualClock(start)
	sim := insalessim.NewTest(t, insalessim.Config{Clock: clock})
	a := newAdapter(t, sim, clock, nil)
	items := []adapters.PriceItem{
		{SKU: "A", ExternalID: "11", Price: model.MustDecimal("1234.5"), OldPrice: model.MustDecimal("1500")},
		{SKU: "B", ExternalID: "12", Price: model.MustDecimal("99.990"), Currency: "rub"},
		{SKU: "C", ExternalID: "13", Price: model.MustDecimal("10.005")},
		{SKU: "D", ExternalID: "14", Price: model.MustDecimal("-1")},
		{SKU: "E", ExternalID: "15", Price: model.MustDecimal("5"), Currency: "USD"},
		{SKU: "F", ExternalID: "16", Price: model.MustDecimal("5"), OldPrice: model.MustDecimal("7.123")},
	}

	results, err := a.PushPrices(context.Background(), items)
	if err != nil {
		t.Fatalf("PushPrices: %v", err)
	}
	for _, i := range []int{0, 1} {
		if results[i].Err != nil {
			t.Errorf("item %s: %v", items[i].SKU, results[i].Err)
		}
	}
	for _, i := range []int{2, 3, 4, 5} {
		if got := retry.Classify(results[i].Err); got != retry.ClassPermanent {
			t.Errorf("item %s: class %s (%v), want permanent", items[i].SKU, got, results[i].Err)
		}
	}

	tests := []struct {
		variantID          int64
		wantPrice, wantOld string
	}{
		{11, `"1234.50"`, `"1500.00"`},
		{12, `"99.99"`, `null`},
	}
	for _, tc := range tests {
		history := sim.History(tc.variantID)
		if len(history) != 1 {
			t.Fatalf("variant %d has %d updates, want 1", tc.variantID, len(history))
		}
		if history[0].Price != tc.wantPrice {
			t.Errorf("variant %d price sent as %s, want %s", tc.variantID, history[0].Price, tc.wantPrice)
		}
		if history[0].OldPrice != tc.wantOld {
			t.Errorf("variant %d old_price sent as %s, want %s", tc.variantID, history[0].OldPrice, tc.wantOld)
		}
		if history[0].Quantity != nil {
			t.Errorf("variant %d: price update also set quantity %d", tc.variantID, *history[0].Quantity)
		}
	}
	if got := sim.Stats().Updated; got != 2 {
		t.Errorf("simulator updated %d variants, want 2", got)
	}
}

func TestNewRejectsIncompleteConfig(t *testing.T) {
	_, err := insales.New(insales.Config{})
	if err == nil {
		t.Fatal("New with an empty config succeeded")
	}
	for _, field := range []string{"BaseURL", "Login", "Password"} {
		if !strings.Contains(err.Error(), field) {
			t.Errorf("error %q does not name %s", err, field)
		}
	}
}

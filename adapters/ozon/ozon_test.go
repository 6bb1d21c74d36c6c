package ozon_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/ozon"
	"obmenhub/e2e/ozonsim"
	"obmenhub/retry"
)

const warehouse = 22142605386000

func newPair(t *testing.T, clock *retry.ManualClock, simCfg ozonsim.Config, pairInterval time.Duration) (*ozon.Adapter, *ozonsim.Server) {
	t.Helper()
	simCfg.Clock = clock
	sim := ozonsim.NewTest(t, simCfg)
	a, err := ozon.New(ozon.Config{
		BaseURL: sim.URL, ClientID: "sim-client", APIKey: "sim-key", WarehouseID: warehouse,
		PairInterval: pairInterval, Clock: clock, Policy: retry.Policy{Jitter: retry.JitterNone},
	})
	if err != nil {
		t.Fatal(err)
	}
	return a, sim
}

func TestPairRuleClientSide(t *testing.T) {
	clock := retry.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	a, sim := newPair(t, clock, ozonsim.Config{}, 0)
	item := []adapters.StockItem{{SKU: "S1", ExternalID: "A-1", Quantity: 5}}

	if res, err := a.PushStock(context.Background(), item); err != nil || res[0].Err != nil {
		t.Fatalf("first push: %v, %v", err, res)
	}
	clock.Advance(10 * time.Second)
	item[0].Quantity = 7
	res, err := a.PushStock(context.Background(), item)
	if err != nil {
		t.Fatalf("second push: %v", err)
	}
	var deferred *retry.DeferredError
	if !errors.As(res[0].Err, &deferred) {
		t.Fatalf("second push result: %v, want *retry.DeferredError", res[0].Err)
	}
	if want := clock.Now().Add(20 * time.Second); !deferred.Until.Equal(want) {
		t.Errorf("Until = %s, want %s", deferred.Until, want)
	}
	if got := sim.Stats().Requests; got != 1 {
		t.Errorf("simulator got %d requests, want 1", got)
	}

	clock.Advance(20 * time.Second)
	if res, err := a.PushStock(context.Background(), item); err != nil || res[0].Err != nil {
		t.Fatalf("push after 30 s: %v, %v", err, res)
	}
	if got, _ := sim.Stock("A-1", warehouse); got != 7 {
		t.Errorf("stock = %d, want 7", got)
	}
}

func TestPairRuleServerAnswer(t *testing.T) {
	clock := retry.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	// A client interval shorter than the server's lets the server's rule fire.
	a, sim := newPair(t, clock, ozonsim.Config{}, time.Second)
	item := []adapters.StockItem{{SKU: "S1", ExternalID: "A-1", Quantity: 5}}
	if _, err := a.PushStock(context.Background(), item); err != nil {
		t.Fatal(err)
	}
	clock.Advance(5 * time.Second)

	res, err := a.PushStock(context.Background(), item)
	if err != nil {
		t.Fatal(err)
	}
	if class := retry.Classify(res[0].Err); class != retry.ClassDeferred {
		t.Errorf("class %s (%v), want deferred", class, res[0].Err)
	}
	if got := sim.Stats().PairViolations; got != 1 {
		t.Errorf("simulator counted %d pair violations, want 1", got)
	}
}

func TestItemErrorCodes(t *testing.T) {
	tests := []struct {
		code string
		want retry.Class
	}{
		{"offer_id_not_found", retry.ClassPermanent},
		{"STOCK_TOO_BIG", retry.ClassPermanent},
		{"PRICE_IS_NOT_SENT", retry.ClassRetriable},
		{"TOO_MANY_REQUESTS", retry.ClassDeferred},
		{"SOMETHING_NEW", retry.ClassRetriable},
	}
	for _, tc := range tests {
		t.Run(tc.code, func(t *testing.T) {
			clock := retry.NewManualClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
			a, sim := newPair(t, clock, ozonsim.Config{}, 0)
			sim.FailItem("A-1", tc.code)
			res, err := a.PushStock(context.Background(), []adapters.StockItem{{SKU: "S1", ExternalID: "A-1", Quantity: 1}})
			if err != nil {
				t.Fatal(err)
			}
			if got := retry.Classify(res[0].Err); got != tc.want {
				t.Errorf("class %s (%v), want %s", got, res[0].Err, tc.want)
			}
		})
	}
}

func TestNewRejectsMissingCredentials(t *testing.T) {
	_, err := ozon.New(ozon.Config{WarehouseID: 1})
	if err == nil {
		t.Fatal("New accepted a config without ClientID and APIKey")
	}
}

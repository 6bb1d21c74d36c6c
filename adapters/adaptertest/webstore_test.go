package adaptertest

import (
	"fmt"
	"testing"

	"obmenhub/adapters/webstore"
	"obmenhub/e2e/webstoresim"
	"obmenhub/hub/model"
)

// webstoreSKU returns the SKU of the suite's item number i. The store
// keys stock and prices by SKU, so the harness makes each external id
// equal to its item's SKU, and KnownIDs work as known SKUs.
func webstoreSKU(i int) string { return fmt.Sprintf("SKU-%04d", i) }

// startWebstore starts the store simulator and an adapter for opts.
func startWebstore(t *testing.T, opts Options) (*webstore.Adapter, *webstoresim.Server) {
	t.Helper()
	sim := webstoresim.NewTest(t, webstoresim.Config{
		Clock: opts.Clock, KnownSKUs: opts.KnownIDs,
		RequestsPerMinute: opts.SimPerMinute, Burst: opts.SimBurst,
	})
	cfg := webstore.Config{
		URL: sim.WebhookURL, Secret: webstoresim.DefaultSecret, BatchSize: 100,
		Timeout: opts.Timeout, Policy: opts.Policy, Breaker: opts.Breaker, Clock: opts.Clock,
	}
	if opts.BadCredentials {
		cfg.Secret = "some-other-secret-value"
	}
	if opts.UnlimitedClient {
		cfg.RequestsPerMinute = 1e9
		cfg.Burst = 1000
	}
	a, err := webstore.New(cfg)
	if err != nil {
		t.Fatalf("webstore.New: %v", err)
	}
	return a, sim
}

func webstoreStats(sim *webstoresim.Server) func() Stats {
	return func() Stats {
		s := sim.Stats()
		return Stats{Requests: s.Requests, TooManyRequests: s.TooManyRequests, ValidationFailures: s.BadRequests}
	}
}

func TestWebstoreContract(t *testing.T) {
	Run(t, Harness{
		Name:                   "webstore",
		ExternalID:             webstoreSKU,
		ConflictConfirmsOthers: true,
		Setup: func(t *testing.T, opts Options) *Env {
			a, sim := startWebstore(t, opts)
			return &Env{
				Pusher: a, FailNext: sim.FailNext, DelayNext: sim.DelayNext, BreakerState: a.BreakerState,
				Stock: sim.Stock,
				Stats: webstoreStats(sim),
			}
		},
	})
}

func TestWebstorePriceContract(t *testing.T) {
	RunPrices(t, PriceHarness{
		Name:        "webstore",
		ExternalID:  webstoreSKU,
		FormatPrice: func(d model.Decimal) string { return d.Trim(0).String() },
		Setup: func(t *testing.T, opts Options) *PriceEnv {
			a, sim := startWebstore(t, opts)
			price := func(sku string) (string, string, bool) {
				p, ok := sim.Price(sku)
				return p.Price, p.OldPrice, ok
			}
			return &PriceEnv{Pusher: a, Price: price, Stats: webstoreStats(sim)}
		},
	})
}

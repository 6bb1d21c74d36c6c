package adaptertest

import (
	"fmt"
	"strconv"
	"testing"

	"obmenhub/adapters/ozon"
	"obmenhub/adapters/wildberries"
	"obmenhub/e2e/ozonsim"
	"obmenhub/e2e/wbsim"
	"obmenhub/hub/model"
)

const warehouse = 22142605386000

func ozonOfferID(i int) string { return fmt.Sprintf("OFFER-%04d", i) }

// startOzon starts the simulator and an adapter for opts.
func startOzon(t *testing.T, opts Options) (*ozon.Adapter, *ozonsim.Server) {
	t.Helper()
	sim := ozonsim.NewTest(t, ozonsim.Config{
		Clock:             opts.Clock,
		KnownOffers:       opts.KnownIDs,
		RequestsPerMinute: opts.SimPerMinute,
		Burst:             opts.SimBurst,
	})
	cfg := ozon.Config{
		BaseURL: sim.URL, ClientID: "sim-client", APIKey: "sim-key", WarehouseID: warehouse,
		Timeout: opts.Timeout, Policy: opts.Policy, Breaker: opts.Breaker, Clock: opts.Clock,
	}
	if opts.BadCredentials {
		cfg.APIKey = "wrong-key"
	}
	if opts.UnlimitedClient {
		cfg.RequestsPerMinute = 1e9
		cfg.Burst = 1000
	}
	a, err := ozon.New(cfg)
	if err != nil {
		t.Fatalf("ozon.New: %v", err)
	}
	return a, sim
}

func ozonStats(sim *ozonsim.Server) func() Stats {
	return func() Stats {
		s := sim.Stats()
		return Stats{Requests: s.Requests, TooManyRequests: s.TooManyRequests, ValidationFailures: s.ValidationFailures}
	}
}

func TestOzonContract(t *testing.T) {
	Run(t, Harness{
		Name:                   "ozon",
		ExternalID:             ozonOfferID,
		ConflictConfirmsOthers: true,
		Setup: func(t *testing.T, opts Options) *Env {
			a, sim := startOzon(t, opts)
			return &Env{
				Pusher: a, FailNext: sim.FailNext, DelayNext: sim.DelayNext, BreakerState: a.BreakerState,
				Stock: func(id string) (int64, bool) { return sim.Stock(id, warehouse) },
				Stats: ozonStats(sim),
			}
		},
	})
}

func TestOzonPriceContract(t *testing.T) {
	RunPrices(t, PriceHarness{
		Name:        "ozon",
		ExternalID:  ozonOfferID,
		FormatPrice: func(d model.Decimal) string { return d.Trim(0).String() },
		Setup: func(t *testing.T, opts Options) *PriceEnv {
			a, sim := startOzon(t, opts)
			price := func(offerID string) (string, string, bool) {
				p, ok := sim.Price(offerID)
				return p.Price, p.OldPrice, ok
			}
			return &PriceEnv{Pusher: a, Price: price, Stats: ozonStats(sim)}
		},
	})
}

func wildberriesID(i int) string { return strconv.Itoa(100000 + i) }

// startWildberries starts the simulator and an adapter for opts. The
// simulator processes a price upload 2 s after it arrives on opts.Clock,
// and the adapter polls on the same clock, so the price cases take no
// real time.
func startWildberries(t *testing.T, opts Options) (*wildberries.Adapter, *wbsim.Server) {
	t.Helper()
	var known []int64
	if opts.KnownIDs != nil {
		known = []int64{}
		for _, id := range opts.KnownIDs {
			n, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				t.Fatalf("known id %q: %v", id, err)
			}
			known = append(known, n)
		}
	}
	sim := wbsim.NewTest(t, wbsim.Config{
		Clock:             opts.Clock,
		KnownChrtIDs:      known,
		RequestsPerMinute: opts.SimPerMinute,
		Burst:             opts.SimBurst,
	})
	cfg := wildberries.Config{
		BaseURL: sim.URL, Token: "sim-token", WarehouseID: warehouse,
		Timeout: opts.Timeout, Policy: opts.Policy, Breaker: opts.Breaker, Clock: opts.Clock,
	}
	if opts.BadCredentials {
		cfg.Token = "wrong-token"
	}
	if opts.UnlimitedClient {
		cfg.RequestsPerMinute = 1e9
		cfg.Burst = 1000
	}
	a, err := wildberries.New(cfg)
	if err != nil {
		t.Fatalf("wildberries.New: %v", err)
	}
	return a, sim
}

func TestWildberriesContract(t *testing.T) {
	Run(t, Harness{
		Name:       "wildberries",
		ExternalID: wildberriesID,
		Setup: func(t *testing.T, opts Options) *Env {
			a, sim := startWildberries(t, opts)
			return &Env{
				Pusher: a, FailNext: sim.FailNext, DelayNext: sim.DelayNext, BreakerState: a.BreakerState,
				Stock: func(id string) (int64, bool) { return sim.Stock(id, warehouse) },
				Stats: func() Stats {
					s := sim.Stats()
					return Stats{Requests: s.Requests, TooManyRequests: s.TooManyRequests, ValidationFailures: s.ValidationFailures}
				},
			}
		},
	})
}

// wildberriesPriceItems is the max number of items a price case of the
// suite sends.
const wildberriesPriceItems = 2*wildberries.MaxPricesPerRequest + 1

// wildberriesPermanentPriceText is a per-item error text of a price upload
// that the adapter classifies as permanent.
const wildberriesPermanentPriceText = "You can't change the item price. Item was added to the Sale due to high inventory"

func TestWildberriesPriceContract(t *testing.T) {
	RunPrices(t, PriceHarness{
		Name:        "wildberries",
		ExternalID:  wildberriesID,
		WholePrices: true,
		// The simulator stores the whole price before discount, and the
		// suite sends no old price, so the discount is 0.
		FormatPrice: func(d model.Decimal) string { return d.Trim(0).String() },
		Setup: func(t *testing.T, opts Options) *PriceEnv {
			a, sim := startWildberries(t, opts)
			if opts.KnownIDs != nil {
				// NOTE: the simulator has no set of known nmIDs for prices,
				// so every nmID that KnownIDs omits gets a per-item error
				// that the adapter classifies as permanent instead.
				known := map[string]bool{}
				for _, id := range opts.KnownIDs {
					known[id] = true
				}
				for i := range wildberriesPriceItems {
					if id := wildberriesID(i); !known[id] {
						nmID, _ := strconv.ParseInt(id, 10, 64)
						sim.FailPriceItem(nmID, wildberriesPermanentPriceText)
					}
				}
			}
			price := func(nmID string) (string, string, bool) {
				p, ok := sim.Price(nmID)
				return strconv.FormatInt(p.Price, 10), "", ok
			}
			stats := func() Stats {
				s := sim.Stats()
				// The suite counts one request per batch. Wildberries takes
				// a batch as one upload and the adapter then polls its
				// status, so uploads stand for requests here.
				return Stats{Requests: s.PriceUploads, TooManyRequests: s.TooManyRequests, ValidationFailures: s.ValidationFailures}
			}
			return &PriceEnv{Pusher: a, Price: price, Stats: stats}
		},
	})
}

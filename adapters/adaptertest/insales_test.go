package adaptertest

import (
	"strconv"
	"testing"
	"time"

	"obmenhub/adapters/insales"
	"obmenhub/e2e/insalessim"
	"obmenhub/hub/model"
)

func insalesVariantID(i int) string { return strconv.Itoa(5000000 + i) }

// startInSales starts the simulator and an adapter for opts.
func startInSales(t *testing.T, opts Options) (*insales.Adapter, *insalessim.Server) {
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

	simCfg := insalessim.Config{Clock: opts.Clock, KnownVariantIDs: known}
	if opts.SimPerMinute > 0 {
		// InSales limits requests per fixed window rather than per minute,
		// so the suite's rate becomes a window that admits SimBurst requests.
		simCfg.RequestsPerWindow = max(opts.SimBurst, 1)
		simCfg.Window = time.Duration(float64(simCfg.RequestsPerWindow) / opts.SimPerMinute * float64(time.Minute))
	}
	sim := insalessim.NewTest(t, simCfg)

	cfg := insales.Config{
		BaseURL: sim.URL, Login: insalessim.DefaultLogin, Password: insalessim.DefaultPassword,
		Timeout: opts.Timeout, Policy: opts.Policy, Breaker: opts.Breaker, Clock: opts.Clock,
	}
	if opts.BadCredentials {
		cfg.Password = "wrong-password"
	}
	if opts.UnlimitedClient {
		cfg.RequestsPer5Min = 1e9
		cfg.Burst = 1000
		cfg.DisableUsageGuard = true
	}
	a, err := insales.New(cfg)
	if err != nil {
		t.Fatalf("insales.New: %v", err)
	}
	return a, sim
}

func insalesStats(sim *insalessim.Server) func() Stats {
	return func() Stats {
		s := sim.Stats()
		// InSales responds with 503, not 429, when the limit is reached.
		return Stats{Requests: s.Requests, TooManyRequests: s.ServiceUnavailable, ValidationFailures: s.ValidationFailures}
	}
}

func TestInSalesContract(t *testing.T) {
	Run(t, Harness{
		Name:                   "insales",
		ExternalID:             insalesVariantID,
		ConflictConfirmsOthers: true,
		Setup: func(t *testing.T, opts Options) *Env {
			a, sim := startInSales(t, opts)
			return &Env{
				Pusher: a, FailNext: sim.FailNext, DelayNext: sim.DelayNext, BreakerState: a.BreakerState,
				Stock: sim.Stock,
				Stats: insalesStats(sim),
			}
		},
	})
}

func TestInSalesPriceContract(t *testing.T) {
	RunPrices(t, PriceHarness{
		Name:        "insales",
		ExternalID:  insalesVariantID,
		FormatPrice: func(d model.Decimal) string { return `"` + d.Trim(2).Pad(2).String() + `"` },
		Setup: func(t *testing.T, opts Options) *PriceEnv {
			a, sim := startInSales(t, opts)
			return &PriceEnv{Pusher: a, Price: sim.Price, Stats: insalesStats(sim)}
		},
	})
}

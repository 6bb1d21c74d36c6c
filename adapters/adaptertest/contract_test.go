package adaptertest

import (
	"fmt"
	"strconv"
	"testing"

	"obmenhub/adapters/ozon"
	"obmenhub/adapters/wildberries"
	"obmenhub/e2e/ozonsim"
	"obmenhub/e2e/wbsim"
)

const warehouse = 22142605386000

func TestOzonContract(t *testing.T) {
	Run(t, Harness{
		Name:                   "ozon",
		ExternalID:             func(i int) string { return fmt.Sprintf("OFFER-%04d", i) },
		ConflictConfirmsOthers: true,
		Setup: func(t *testing.T, opts Options) *Env {
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

func TestWildberriesContract(t *testing.T) {
	Run(t, Harness{
		Name:       "wildberries",
		ExternalID: func(i int) string { return strconv.Itoa(100000 + i) },
		Setup: func(t *testing.T, opts Options) *Env {
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

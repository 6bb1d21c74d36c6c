package adaptertest

import (
	"fmt"
	"testing"

	"obmenhub/adapters/generic"
	"obmenhub/hub/model"
)

// genericBatchSize is small so that the batching case sends few items.
const genericBatchSize = 50

func genericItemID(i int) string { return fmt.Sprintf("ITEM-%04d", i) }

// genericChannelConfig returns the channel config a seller would write in
// YAML for the generic simulator, with the secret already resolved.
func genericChannelConfig(t *testing.T, simURL string, opts Options) generic.Config {
	t.Helper()
	cfg := generic.Config{
		URL:       simURL + genericStockPath,
		Auth:      generic.AuthConfig{Type: generic.AuthBearer, TokenEnv: "SHOP_TOKEN"},
		Headers:   map[string]string{"X-Source": "obmenhub"},
		BatchSize: genericBatchSize,
		Timeout:   opts.Timeout,
		Stock: generic.OperationConfig{
			Body: `{"batch": {{json .BatchID}}, "items": [
{{- range $i, $it := .Items}}{{if $i}},{{end}}
  {"id": {{json $it.ExternalID}}, "qty": {{$it.Quantity}}}
{{- end}}]}`,
		},
		Price: &generic.OperationConfig{
			URL: simURL + genericPricePath,
			Body: `{"batch": {{json .BatchID}}, "prices": [
{{- range $i, $it := .Items}}{{if $i}},{{end}}
  {"id": {{json $it.ExternalID}}, "price": {{json $it.Price}}{{if $it.OldPrice}}, "old_price": {{json $it.OldPrice}}{{end}}}
{{- end}}]}`,
		},
		Response: generic.ResponseConfig{
			SuccessStatus: []int{200},
			ItemErrors: &generic.ItemErrorsConfig{
				Path:         "errors",
				IDField:      "id",
				Match:        generic.MatchExternalID,
				MessageField: "message",
				CodeField:    "code",
				Class:        generic.ClassPermanent,
			},
		},
	}
	if opts.UnlimitedClient {
		cfg.RequestsPerMinute = 1e9
		cfg.Burst = 1000
	}

	token := genericSimToken
	if opts.BadCredentials {
		token = "wrong-token"
	}
	getenv := func(name string) string {
		if name == "SHOP_TOKEN" {
			return token
		}
		return ""
	}
	if err := cfg.Resolve(getenv); err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	return cfg
}

// startGeneric starts the generic simulator and an adapter for opts.
func startGeneric(t *testing.T, opts Options) (*generic.Adapter, *genericSim) {
	t.Helper()
	sim := startGenericSim(t, genericSimConfig{
		Clock:             opts.Clock,
		KnownIDs:          opts.KnownIDs,
		RequestsPerMinute: opts.SimPerMinute,
		Burst:             opts.SimBurst,
	})
	a, err := generic.New(genericChannelConfig(t, sim.URL, opts), generic.Options{
		Channel: "generic-sim",
		Policy:  opts.Policy,
		Breaker: opts.Breaker,
		Clock:   opts.Clock,
	})
	if err != nil {
		t.Fatalf("generic.New: %v", err)
	}
	return a, sim
}

func TestGenericContract(t *testing.T) {
	Run(t, Harness{
		Name:                   "generic",
		ExternalID:             genericItemID,
		ConflictConfirmsOthers: true,
		Setup: func(t *testing.T, opts Options) *Env {
			a, sim := startGeneric(t, opts)
			return &Env{
				Pusher: a, FailNext: sim.FailNext, DelayNext: sim.DelayNext, BreakerState: a.BreakerState,
				Stock: sim.Stock,
				Stats: sim.Stats,
			}
		},
	})
}

func TestGenericPriceContract(t *testing.T) {
	RunPrices(t, PriceHarness{
		Name:        "generic",
		ExternalID:  genericItemID,
		FormatPrice: func(d model.Decimal) string { return d.Trim(0).String() },
		Setup: func(t *testing.T, opts Options) *PriceEnv {
			a, sim := startGeneric(t, opts)
			pusher, ok := a.PricePusher()
			if !ok {
				t.Fatal("generic adapter has no price pusher although the config has a price section")
			}
			return &PriceEnv{Pusher: pusher, Price: sim.Price, Stats: sim.Stats}
		},
	})
}

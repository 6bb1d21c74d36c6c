// Package adaptertest is the contract test suite that every
// adapters.StockPusher passes against its vendor simulator.
package adaptertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/httpx"
	"obmenhub/retry"
)

// Options describe the environment that one case of the suite needs.
type Options struct {
	// Clock is shared by the adapter and the simulator.
	Clock *retry.ManualClock
	// Timeout bounds one attempt of a request; 0 keeps the adapter default.
	Timeout time.Duration
	Policy  retry.Policy
	Breaker httpx.BreakerConfig
	// KnownIDs, when not nil, are the only external ids the simulator accepts.
	KnownIDs []string
	// UnlimitedClient disables the adapter's own rate limiter, and
	// SimPerMinute with SimBurst set the simulator's limit, so that the
	// simulator answers 429.
	UnlimitedClient bool
	SimPerMinute    float64
	SimBurst        int
	// BadCredentials gives the adapter credentials the simulator rejects.
	BadCredentials bool
}

// Stats are the simulator counters the suite checks.
type Stats struct {
	Requests           int
	TooManyRequests    int
	ValidationFailures int
}

// Env is an adapter wired to a running simulator.
type Env struct {
	Pusher    adapters.StockPusher
	FailNext  func(n int)
	DelayNext func(d time.Duration)
	Stock     func(externalID string) (int64, bool)
	Stats     func() Stats
	// BreakerState returns the adapter's breaker state.
	BreakerState func() string
}

// Harness connects the suite to one adapter.
type Harness struct {
	Name string
	// ExternalID returns a valid external id for item number i.
	ExternalID func(i int) string
	// Setup starts a simulator and an adapter for opts.
	Setup func(t *testing.T, opts Options) *Env
	// ConflictConfirmsOthers reports whether items of a request that the
	// vendor partly rejected are confirmed (Ozon reports each item) or
	// left retriable (Wildberries' 409 does not confirm the rest).
	ConflictConfirmsOthers bool
}

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func (h Harness) items(n int) []adapters.StockItem {
	items := make([]adapters.StockItem, n)
	for i := range items {
		items[i] = adapters.StockItem{SKU: fmt.Sprintf("SKU-%04d", i), ExternalID: h.ExternalID(i), Quantity: int64(i % 50)}
	}
	return items
}

func fastPolicy() retry.Policy {
	return retry.Policy{Jitter: retry.JitterNone, BaseDelay: 500 * time.Millisecond, MaxAttempts: 4}
}

// Run runs every case of the contract against h.
func Run(t *testing.T, h Harness) {
	t.Run("batches at MaxBatch", func(t *testing.T) { testBatching(t, h) })
	t.Run("partial failures", func(t *testing.T) { testPartial(t, h) })
	t.Run("429 then success", func(t *testing.T) { testRateLimited(t, h) })
	t.Run("open breaker defers", func(t *testing.T) { testBreaker(t, h) })
	t.Run("timeout is retriable", func(t *testing.T) { testTimeout(t, h) })
	t.Run("bad credentials are permanent", func(t *testing.T) { testCredentials(t, h) })
	t.Run("5xx then success", func(t *testing.T) { testServerError(t, h) })
}

func checkNoValidationFailures(t *testing.T, env *Env) {
	t.Helper()
	if n := env.Stats().ValidationFailures; n != 0 {
		t.Errorf("simulator rejected %d requests as invalid against the vendor spec", n)
	}
}

func testBatching(t *testing.T, h Harness) {
	env := h.Setup(t, Options{Clock: retry.NewManualClock(start), Policy: fastPolicy()})
	n := 2*env.Pusher.MaxBatch() + 1
	items := h.items(n)

	results, err := env.Pusher.PushStock(context.Background(), items)
	if err != nil {
		t.Fatalf("PushStock: %v", err)
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
		got, ok := env.Stock(items[i].ExternalID)
		if !ok || got != items[i].Quantity {
			t.Errorf("stock of %s = %d (found %v), want %d", items[i].ExternalID, got, ok, items[i].Quantity)
		}
	}
	checkNoValidationFailures(t, env)
}

func testPartial(t *testing.T, h Harness) {
	items := h.items(6)
	known := []string{items[0].ExternalID, items[2].ExternalID, items[4].ExternalID}
	env := h.Setup(t, Options{Clock: retry.NewManualClock(start), Policy: fastPolicy(), KnownIDs: known})

	results, err := env.Pusher.PushStock(context.Background(), items)
	if err != nil {
		t.Fatalf("PushStock: %v", err)
	}
	for i, r := range results {
		class := retry.Classify(r.Err)
		switch {
		case i%2 == 1:
			if class != retry.ClassPermanent {
				t.Errorf("unknown item %s: class %s (%v), want permanent", items[i].ExternalID, class, r.Err)
			}
		case h.ConflictConfirmsOthers:
			if class != retry.ClassNone {
				t.Errorf("known item %s: class %s (%v), want success", items[i].ExternalID, class, r.Err)
			}
			if _, ok := env.Stock(items[i].ExternalID); !ok {
				t.Errorf("known item %s not stored", items[i].ExternalID)
			}
		default:
			if class != retry.ClassRetriable {
				t.Errorf("known item %s: class %s (%v), want retriable", items[i].ExternalID, class, r.Err)
			}
		}
	}
	checkNoValidationFailures(t, env)
}

func testRateLimited(t *testing.T, h Harness) {
	clock := retry.NewManualClock(start)
	env := h.Setup(t, Options{Clock: clock, Policy: fastPolicy(), UnlimitedClient: true, SimPerMinute: 60, SimBurst: 1})
	n := env.Pusher.MaxBatch() + 1
	items := h.items(n)

	results, err := env.Pusher.PushStock(context.Background(), items)
	if err != nil {
		t.Fatalf("PushStock: %v", err)
	}
	for i, r := range results {
		if r.Err != nil {
			t.Fatalf("result %d: %v", i, r.Err)
		}
	}
	stats := env.Stats()
	if stats.TooManyRequests == 0 {
		t.Errorf("simulator sent no 429; the case did not test rate limiting")
	}
	if slept, _ := clock.Slept(); slept < 500*time.Millisecond {
		t.Errorf("adapter waited %s on the clock after 429, want at least 500ms", slept)
	}
	checkNoValidationFailures(t, env)
}

func testBreaker(t *testing.T, h Harness) {
	clock := retry.NewManualClock(start)
	policy := fastPolicy()
	policy.MaxAttempts = 2
	policy.MaxDeferWait = time.Second
	env := h.Setup(t, Options{Clock: clock, Policy: policy, Breaker: httpx.BreakerConfig{ConsecutiveFailures: 2, OpenTimeout: time.Minute}})
	env.FailNext(100)

	_, err := env.Pusher.PushStock(context.Background(), h.items(1))
	if class := retry.Classify(err); class != retry.ClassRetriable {
		t.Fatalf("first push: class %s (%v), want retriable", class, err)
	}
	if state := env.BreakerState(); state != "open" {
		t.Fatalf("breaker state %q after 2 failures, want open", state)
	}

	requests := env.Stats().Requests
	items := []adapters.StockItem{{SKU: "SKU-B", ExternalID: h.ExternalID(7), Quantity: 1}}
	_, err = env.Pusher.PushStock(context.Background(), items)
	var deferred *retry.DeferredError
	if !errors.As(err, &deferred) {
		t.Fatalf("push with open breaker: %v, want *retry.DeferredError", err)
	}
	if !deferred.Until.After(clock.Now()) {
		t.Errorf("Until %s is not after now %s", deferred.Until, clock.Now())
	}
	if got := env.Stats().Requests; got != requests {
		t.Errorf("open breaker let %d requests through", got-requests)
	}
}

func testTimeout(t *testing.T, h Harness) {
	policy := fastPolicy()
	policy.MaxAttempts = 1
	env := h.Setup(t, Options{Clock: retry.NewManualClock(start), Policy: policy, Timeout: 20 * time.Millisecond})
	env.DelayNext(60 * time.Millisecond)

	_, err := env.Pusher.PushStock(context.Background(), h.items(1))
	if class := retry.Classify(err); class != retry.ClassRetriable {
		t.Fatalf("class %s (%v), want retriable", class, err)
	}
	if !strings.Contains(err.Error(), "timed out") {
		t.Errorf("error %q does not say the request timed out", err)
	}
}

func testCredentials(t *testing.T, h Harness) {
	env := h.Setup(t, Options{Clock: retry.NewManualClock(start), Policy: fastPolicy(), BadCredentials: true})

	_, err := env.Pusher.PushStock(context.Background(), h.items(1))
	if class := retry.Classify(err); class != retry.ClassPermanent {
		t.Fatalf("class %s (%v), want permanent", class, err)
	}
	if !strings.Contains(err.Error(), "credentials") {
		t.Errorf("error %q does not mention the credentials", err)
	}
	if got := env.Stats().Requests; got != 1 {
		t.Errorf("adapter sent %d requests, want 1 (no retry of rejected credentials)", got)
	}
}

func testServerError(t *testing.T, h Harness) {
	env := h.Setup(t, Options{Clock: retry.NewManualClock(start), Policy: fastPolicy()})
	env.FailNext(2)
	items := h.items(3)

	results, err := env.Pusher.PushStock(context.Background(), items)
	if err != nil {
		t.Fatalf("PushStock: %v", err)
	}
	for i, r := range results {
		if r.Err != nil {
			t.Errorf("result %d: %v", i, r.Err)
		}
	}
	if got := env.Stats().Requests; got != 3 {
		t.Errorf("simulator got %d requests, want 3 (two 500s, one success)", got)
	}
	checkNoValidationFailures(t, env)
}

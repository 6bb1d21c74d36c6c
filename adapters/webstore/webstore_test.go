package webstore_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/webstore"
	"obmenhub/e2e/webstoresim"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

var start = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newPair(t *testing.T, simCfg webstoresim.Config, cfg webstore.Config) (*webstore.Adapter, *webstoresim.Server, *retry.ManualClock) {
	t.Helper()
	clock := retry.NewManualClock(start)
	if simCfg.Clock == nil {
		simCfg.Clock = clock
	}
	sim := webstoresim.NewTest(t, simCfg)
	cfg.URL = sim.WebhookURL
	if cfg.Secret == "" {
		cfg.Secret = webstoresim.DefaultSecret
	}
	if cfg.Clock == nil {
		cfg.Clock = clock
	}
	cfg.Policy.Jitter = retry.JitterNone
	a, err := webstore.New(cfg)
	if err != nil {
		t.Fatalf("webstore.New: %v", err)
	}
	return a, sim, clock
}

func TestPushPricesStored(t *testing.T) {
	a, sim, _ := newPair(t, webstoresim.Config{}, webstore.Config{UserAgent: "obmenhub/test"})
	items := []adapters.PriceItem{
		{SKU: "A", ExternalID: "1", Price: model.MustDecimal("1990.50"), OldPrice: model.MustDecimal("2490.00"), Currency: "RUB"},
		{SKU: "B", ExternalID: "2", Price: model.MustDecimal("10")},
	}

	results, err := a.PushPrices(context.Background(), items)
	if err != nil {
		t.Fatalf("PushPrices: %v", err)
	}
	for i, r := range results {
		if r.SKU != items[i].SKU || r.Err != nil {
			t.Errorf("result %d = {%s, %v}, want {%s, nil}", i, r.SKU, r.Err, items[i].SKU)
		}
	}

	want := map[string]webstoresim.Price{
		"A": {Price: "1990.5", OldPrice: "2490", Currency: "RUB"},
		"B": {Price: "10"},
	}
	for sku, w := range want {
		got, ok := sim.Price(sku)
		if !ok || got != w {
			t.Errorf("price of %s = %+v (found %v), want %+v", sku, got, ok, w)
		}
	}
	history := sim.PriceHistory("A")
	if len(history) != 1 || history[0].Agent != "obmenhub/test" {
		t.Errorf("history of A = %+v, want one update from obmenhub/test", history)
	}
	if s := sim.Stats(); s.BadRequests != 0 || s.SignatureFailures != 0 {
		t.Errorf("simulator stats %+v, want no bad requests or signature failures", s)
	}
}

func TestRejectedItemsClassified(t *testing.T) {
	a, sim, _ := newPair(t, webstoresim.Config{}, webstore.Config{})
	sim.RejectSKU("GONE", "product deleted", false)
	sim.RejectSKU("LOCKED", "product is being edited", true)
	items := []adapters.StockItem{
		{SKU: "OK", ExternalID: "1", Quantity: 5},
		{SKU: "GONE", ExternalID: "2", Quantity: 1},
		{SKU: "LOCKED", ExternalID: "3", Quantity: 2},
	}

	results, err := a.PushStock(context.Background(), items)
	if err != nil {
		t.Fatalf("PushStock: %v", err)
	}
	wantClass := []retry.Class{retry.ClassNone, retry.ClassPermanent, retry.ClassRetriable}
	for i, want := range wantClass {
		if got := retry.Classify(results[i].Err); got != want {
			t.Errorf("%s: class %s (%v), want %s", items[i].SKU, got, results[i].Err, want)
		}
	}
	if !strings.Contains(results[1].Err.Error(), "product deleted") {
		t.Errorf("error %q does not carry the store's message", results[1].Err)
	}
	var rejected *webstore.RejectedError
	if !errors.As(results[2].Err, &rejected) || rejected.DeliveryID == "" {
		t.Errorf("error %v is not a *RejectedError with a delivery id", results[2].Err)
	}
	if _, ok := sim.Stock("GONE"); ok {
		t.Error("store applied a rejected item")
	}
	if got, _ := sim.Stock("OK"); got != 5 {
		t.Errorf("stock of OK = %d, want 5", got)
	}
}

func TestInvalidItemsNotSent(t *testing.T) {
	a, sim, _ := newPair(t, webstoresim.Config{}, webstore.Config{})

	stock, err := a.PushStock(context.Background(), []adapters.StockItem{
		{SKU: "", ExternalID: "1", Quantity: 1},
		{SKU: "NEG", ExternalID: "2", Quantity: -1},
	})
	if err != nil {
		t.Fatalf("PushStock: %v", err)
	}
	prices, err := a.PushPrices(context.Background(), []adapters.PriceItem{
		{SKU: "ZERO", Price: model.MustDecimal("0")},
		{SKU: "NEGOLD", Price: model.MustDecimal("5"), OldPrice: model.MustDecimal("-1")},
	})
	if err != nil {
		t.Fatalf("PushPrices: %v", err)
	}
	for _, r := range append(stock, prices...) {
		if retry.Classify(r.Err) != retry.ClassPermanent {
			t.Errorf("item %q: %v, want permanent", r.SKU, r.Err)
		}
	}
	if got := sim.Stats().Requests; got != 0 {
		t.Errorf("simulator got %d requests, want 0", got)
	}
}

func TestWrongSecretNamesCause(t *testing.T) {
	a, sim, _ := newPair(t, webstoresim.Config{}, webstore.Config{Secret: "not-the-store-secret"})

	_, err := a.PushStock(context.Background(), []adapters.StockItem{{SKU: "A", Quantity: 1}})
	if retry.Classify(err) != retry.ClassPermanent {
		t.Fatalf("err = %v, want permanent", err)
	}
	if !strings.Contains(err.Error(), "same secret") {
		t.Errorf("error %q does not point at the shared secret", err)
	}
	if got := sim.Stats().SignatureFailures; got != 1 {
		t.Errorf("signature failures = %d, want 1", got)
	}
}

func TestStaleTimestampRejected(t *testing.T) {
	simClock := retry.NewManualClock(start.Add(10 * time.Minute))
	a, sim, _ := newPair(t, webstoresim.Config{Clock: simClock}, webstore.Config{})

	_, err := a.PushStock(context.Background(), []adapters.StockItem{{SKU: "A", Quantity: 1}})
	if retry.Classify(err) != retry.ClassPermanent {
		t.Fatalf("err = %v, want permanent", err)
	}
	s := sim.Stats()
	if s.StaleTimestamps != 1 {
		t.Errorf("stale timestamps = %d, want 1", s.StaleTimestamps)
	}
	if s.SignatureFailures != 0 {
		t.Errorf("signature failures = %d, want 0: the signature itself was right", s.SignatureFailures)
	}
}

func TestRetryKeepsDeliveryID(t *testing.T) {
	// The first attempt reaches the store, but its response is lost, so the
	// adapter sends the same delivery again.
	var calls atomic.Int32
	lossy := roundTripFunc(func(req *http.Request) (*http.Response, error) {
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err == nil && calls.Add(1) == 1 {
			resp.Body.Close()
			return nil, errors.New("connection reset by peer")
		}
		return resp, err
	})
	a, sim, _ := newPair(t, webstoresim.Config{}, webstore.Config{Transport: lossy})

	results, err := a.PushStock(context.Background(), []adapters.StockItem{{SKU: "A", Quantity: 4}})
	if err != nil || results[0].Err != nil {
		t.Fatalf("PushStock: %v, result %v", err, results)
	}
	s := sim.Stats()
	if s.Deliveries != 1 || s.DuplicateDeliveries != 1 {
		t.Errorf("deliveries = %d, duplicates = %d; want 1 and 1", s.Deliveries, s.DuplicateDeliveries)
	}
	if history := sim.StockHistory("A"); len(history) != 1 {
		t.Errorf("stock history of A has %d updates, want 1", len(history))
	}
}

func TestTooManyRequestsDeferred(t *testing.T) {
	a, sim, clock := newPair(t, webstoresim.Config{}, webstore.Config{Policy: retry.Policy{MaxDeferWait: time.Minute}})
	items := []adapters.StockItem{{SKU: "A", Quantity: 1}}

	sim.LimitNext(1, 3*time.Second)
	if _, err := a.PushStock(context.Background(), items); err != nil {
		t.Fatalf("PushStock after a short 429: %v", err)
	}
	if slept, _ := clock.Slept(); slept < 3*time.Second {
		t.Errorf("adapter waited %s, want at least the 3s of Retry-After", slept)
	}

	sim.LimitNext(1, 10*time.Minute)
	_, err := a.PushStock(context.Background(), items)
	var deferred *retry.DeferredError
	if !errors.As(err, &deferred) {
		t.Fatalf("PushStock after a long 429: %v, want *retry.DeferredError", err)
	}
	if want := clock.Now().Add(10 * time.Minute); !deferred.Until.Equal(want) {
		t.Errorf("Until = %s, want %s", deferred.Until, want)
	}
}

func TestEmptyAnswerAcceptsAll(t *testing.T) {
	var gotHeaders http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHeaders = r.Header.Clone()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	a, err := webstore.New(webstore.Config{URL: srv.URL + "/hook", Secret: webstoresim.DefaultSecret})
	if err != nil {
		t.Fatal(err)
	}

	results, err := a.PushStock(context.Background(), []adapters.StockItem{{SKU: "A", Quantity: 1}, {SKU: "B", Quantity: 2}})
	if err != nil {
		t.Fatalf("PushStock: %v", err)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s: %v", r.SKU, r.Err)
		}
	}
	if got := gotHeaders.Get(webstore.HeaderEvent); got != webstore.EventStock {
		t.Errorf("%s = %q, want %q", webstore.HeaderEvent, got, webstore.EventStock)
	}
	if got := gotHeaders.Get(webstore.HeaderDelivery); len(got) != 32 {
		t.Errorf("%s = %q, want 32 hex digits", webstore.HeaderDelivery, got)
	}
}

func TestVerify(t *testing.T) {
	secret := []byte("0123456789abcdef")
	body := []byte(`{"event":"stock.updated"}`)
	now := time.Unix(1_772_000_000, 0)
	ts := "1772000000"
	sig := webstore.Sign(secret, ts, body)

	tests := []struct {
		name      string
		secret    []byte
		signature string
		timestamp string
		body      []byte
		now       time.Time
		want      error
	}{
		{"valid", secret, sig, ts, body, now, nil},
		{"valid within tolerance", secret, sig, ts, body, now.Add(4 * time.Minute), nil},
		{"other secret", []byte("another-secret-123"), sig, ts, body, now, webstore.ErrInvalidSignature},
		{"tampered body", secret, sig, ts, []byte(`{"event":"price.updated"}`), now, webstore.ErrInvalidSignature},
		{"changed timestamp", secret, sig, "1772000001", body, now, webstore.ErrInvalidSignature},
		{"missing prefix", secret, strings.TrimPrefix(sig, "sha256="), ts, body, now, webstore.ErrInvalidSignature},
		{"stale", secret, sig, ts, body, now.Add(6 * time.Minute), webstore.ErrStaleTimestamp},
		{"from the future", secret, sig, ts, body, now.Add(-6 * time.Minute), webstore.ErrStaleTimestamp},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := webstore.Verify(tc.secret, tc.signature, tc.timestamp, tc.body, tc.now, 0)
			if !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
				t.Errorf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestSignKnownVector pins the scheme to a value computed outside Go:
//
//	printf '%s' '1700000000.{}' | openssl dgst -sha256 -hmac 'test-secret-0123'
func TestSignKnownVector(t *testing.T) {
	got := webstore.Sign([]byte("test-secret-0123"), "1700000000", []byte("{}"))
	const want = "sha256=ea2eadf7c27b053551cd7793322bfdc36e5b3dc9f9e1164ab971e732d4994602"
	if got != want {
		t.Errorf("Sign = %s, want %s", got, want)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  webstore.Config
		want string
	}{
		{"missing url", webstore.Config{Secret: webstoresim.DefaultSecret}, "URL"},
		{"relative url", webstore.Config{URL: "/hook", Secret: webstoresim.DefaultSecret}, "URL"},
		{"short secret", webstore.Config{URL: "http://127.0.0.1/hook", Secret: "short"}, "Secret has 5 bytes"},
		{"negative batch", webstore.Config{URL: "http://127.0.0.1/hook", Secret: webstoresim.DefaultSecret, BatchSize: -1}, "BatchSize"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := webstore.New(tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

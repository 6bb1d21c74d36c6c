package adaptertest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/govalues/decimal"
	"golang.org/x/time/rate"
)

// genericSimToken is the bearer token the generic simulator accepts.
const genericSimToken = "generic-sim-token"

// Paths of the generic simulator's endpoints.
const (
	genericStockPath = "/api/stock"
	genericPricePath = "/api/prices"
)

// genericSimConfig configures a genericSim.
type genericSimConfig struct {
	// Clock is the time source of the rate limit.
	Clock interface{ Now() time.Time }
	// KnownIDs, when not nil, are the only item ids the shop accepts. The
	// response lists any other id in its errors with code NOT_FOUND.
	KnownIDs []string
	// RequestsPerMinute, when above 0, limits requests and sends 429 with
	// Retry-After beyond it. Burst is the number accepted at once.
	RequestsPerMinute float64
	Burst             int
}

// genericSim is a loopback HTTP shop API of the kind the generic adapter is
// written for. It is made up for the contract suite and imitates no vendor:
//
//	POST /api/stock   {"batch": "<id>", "items": [{"id": "...", "qty": 5}]}
//	POST /api/prices  {"batch": "<id>", "prices": [{"id": "...", "price": "10.5", "old_price": "12"}]}
//
// Both take "Authorization: Bearer <token>" and respond with 200 and
// {"errors": [{"id": "...", "code": "...", "message": "..."}]}, listing the
// items they did not apply. A wrong token gets 401, a body that breaks this
// format gets 400, and a request over the rate limit gets 429 with
// Retry-After in whole seconds.
type genericSim struct {
	URL string

	clock   interface{ Now() time.Time }
	known   map[string]bool
	limiter *rate.Limiter
	logf    func(format string, args ...any)

	mu        sync.Mutex
	failNext  int
	delayNext time.Duration
	stock     map[string]int64
	prices    map[string]genericSimPrice
	stats     Stats
}

// genericSimPrice is a price as the shop stores it, in the decimal
// strings of the request.
type genericSimPrice struct {
	Price    string
	OldPrice string
}

type genericSimFailure struct {
	ID      string `json:"id"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// startGenericSim starts a genericSim on a loopback port and closes it
// when the test ends.
func startGenericSim(t *testing.T, cfg genericSimConfig) *genericSim {
	t.Helper()
	s := &genericSim{
		clock:  cfg.Clock,
		logf:   t.Logf,
		stock:  map[string]int64{},
		prices: map[string]genericSimPrice{},
	}
	if cfg.KnownIDs != nil {
		s.known = map[string]bool{}
		for _, id := range cfg.KnownIDs {
			s.known[id] = true
		}
	}
	if cfg.RequestsPerMinute > 0 {
		s.limiter = rate.NewLimiter(rate.Limit(cfg.RequestsPerMinute/60), max(cfg.Burst, 1))
	}

	mux := http.NewServeMux()
	mux.HandleFunc("POST "+genericStockPath, s.handle(s.applyStock))
	mux.HandleFunc("POST "+genericPricePath, s.handle(s.applyPrices))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// handle runs the steps every request shares (injected failure or delay,
// authentication, rate limit) and then apply, which decodes and stores
// the body and returns the failed items, or an error for a malformed body.
func (s *genericSim) handle(apply func(body []byte) ([]genericSimFailure, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.stats.Requests++
		fail := s.failNext > 0
		if fail {
			s.failNext--
		}
		delay := s.delayNext
		s.delayNext = 0
		s.mu.Unlock()

		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		if fail {
			writeGenericJSON(w, http.StatusInternalServerError, map[string]string{"error": "injected failure"})
			return
		}
		if r.Header.Get("Authorization") != "Bearer "+genericSimToken {
			writeGenericJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid bearer token"})
			return
		}
		if retryAfter, limited := s.admitRate(); limited {
			w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
			writeGenericJSON(w, http.StatusTooManyRequests, map[string]string{"error": "too many requests"})
			return
		}

		body, err := io.ReadAll(r.Body)
		if err == nil && r.Header.Get("Content-Type") != "application/json" {
			err = fmt.Errorf("Content-Type is %q, expected application/json", r.Header.Get("Content-Type"))
		}
		var failures []genericSimFailure
		if err == nil {
			failures, err = apply(body)
		}
		if err != nil {
			s.mu.Lock()
			s.stats.ValidationFailures++
			s.mu.Unlock()
			s.logf("generic simulator: rejected %s %s with 400: %v", r.Method, r.URL.Path, err)
			writeGenericJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeGenericJSON(w, http.StatusOK, map[string]any{"errors": failures})
	}
}

// admitRate takes a token from the limiter. When none is left it counts a
// 429 and returns the seconds until the next token, at least 1.
func (s *genericSim) admitRate() (retryAfter int, limited bool) {
	if s.limiter == nil {
		return 0, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	if s.limiter.AllowN(now, 1) {
		return 0, false
	}
	s.stats.TooManyRequests++
	wait := (1 - s.limiter.TokensAt(now)) / float64(s.limiter.Limit())
	return max(1, int(math.Ceil(wait))), true
}

func (s *genericSim) applyStock(body []byte) ([]genericSimFailure, error) {
	var req struct {
		Batch string `json:"batch"`
		Items []struct {
			ID  string `json:"id"`
			Qty *int64 `json:"qty"`
		} `json:"items"`
	}
	if err := decodeGenericStrict(body, &req); err != nil {
		return nil, err
	}
	if req.Batch == "" || len(req.Items) == 0 {
		return nil, errors.New("batch or items is empty")
	}
	for n, item := range req.Items {
		if item.ID == "" || item.Qty == nil || *item.Qty < 0 {
			return nil, fmt.Errorf("items[%d]: id is empty or qty is missing or negative", n)
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	failures := []genericSimFailure{}
	for _, item := range req.Items {
		if s.known != nil && !s.known[item.ID] {
			failures = append(failures, genericSimFailure{ID: item.ID, Code: "NOT_FOUND", Message: "no product with this id"})
			continue
		}
		s.stock[item.ID] = *item.Qty
	}
	return failures, nil
}

func (s *genericSim) applyPrices(body []byte) ([]genericSimFailure, error) {
	var req struct {
		Batch  string `json:"batch"`
		Prices []struct {
			ID       string `json:"id"`
			Price    string `json:"price"`
			OldPrice string `json:"old_price"`
		} `json:"prices"`
	}
	if err := decodeGenericStrict(body, &req); err != nil {
		return nil, err
	}
	if req.Batch == "" || len(req.Prices) == 0 {
		return nil, errors.New("batch or prices is empty")
	}
	for n, item := range req.Prices {
		price, err := decimal.Parse(item.Price)
		if item.ID == "" || err != nil || !price.IsPos() {
			return nil, fmt.Errorf("prices[%d]: id is empty or price %q is not a positive decimal string", n, item.Price)
		}
		if item.OldPrice != "" {
			if _, err := decimal.Parse(item.OldPrice); err != nil {
				return nil, fmt.Errorf("prices[%d]: old_price %q is not a decimal string", n, item.OldPrice)
			}
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	failures := []genericSimFailure{}
	for _, item := range req.Prices {
		if s.known != nil && !s.known[item.ID] {
			failures = append(failures, genericSimFailure{ID: item.ID, Code: "NOT_FOUND", Message: "no product with this id"})
			continue
		}
		s.prices[item.ID] = genericSimPrice{Price: item.Price, OldPrice: item.OldPrice}
	}
	return failures, nil
}

// FailNext makes the next n requests fail with 500 before anything else
// is checked.
func (s *genericSim) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// DelayNext makes the next request wait d of real time before the shop
// responds, to let a client time out.
func (s *genericSim) DelayNext(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.delayNext = d
}

// Stock returns the stock last set for id.
func (s *genericSim) Stock(id string) (int64, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.stock[id]
	return v, ok
}

// Price returns the price and old price last set for id.
func (s *genericSim) Price(id string) (price, oldPrice string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.prices[id]
	return p.Price, p.OldPrice, ok
}

// Stats returns the counters since the shop started. ValidationFailures
// counts the 400 responses to malformed bodies.
func (s *genericSim) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func decodeGenericStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("invalid body: %w", err)
	}
	if dec.More() {
		return errors.New("invalid body: data after the JSON value")
	}
	return nil
}

func writeGenericJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

package wbsim

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http"
	"sort"
	"strconv"
	"time"

	"golang.org/x/time/rate"

	"obmenhub/e2e/simkit"
)

// apiError is the spec's Error schema, used by 400, 403 and 404 responses.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// problem is the application/problem+json body of 401 and 429 responses.
type problem struct {
	Title      string `json:"title"`
	Detail     string `json:"detail"`
	Code       string `json:"code"`
	RequestID  string `json:"requestId"`
	Origin     string `json:"origin"`
	Status     int    `json:"status"`
	StatusText string `json:"statusText"`
	Timestamp  string `json:"timestamp"`
}

type conflictItem struct {
	SKU    string `json:"sku"`
	ChrtID int64  `json:"chrtId"`
	Amount int64  `json:"amount"`
}

type conflictEntry struct {
	Code    string         `json:"code"`
	Message string         `json:"message"`
	Data    []conflictItem `json:"data,omitempty"`
}

type stockItem struct {
	ChrtID int64 `json:"chrtId"`
	Amount int64 `json:"amount"`
}

// conflictRequestCost is the number of requests that one 409 response costs
// against the rate limit, per the spec's limits table.
const conflictRequestCost = 10

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /api/v3/stocks/{warehouseId}", s.handleStocks)
	s.handlePriceMethods(mux)
	mux.HandleFunc("POST /content/v2/get/cards/list", s.handleCardsList)
	s.handleOrderMethods(mux)
	mux.HandleFunc("GET /sim/stocks", s.handleSnapshot)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.count(func(st *Stats) { st.Requests++ })
		writeJSON(w, http.StatusNotFound, "application/json", apiError{Code: "NotFound", Message: "Not found: " + r.Method + " " + r.URL.Path})
	})
	return mux
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
}

func (s *Server) handleStocks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stats.Requests++
	fail, delay := s.faults.Take()
	if fail {
		s.stats.InjectedFailures++
	}
	s.mu.Unlock()

	if !simkit.Wait(r.Context(), delay) {
		return
	}
	now := s.cfg.Clock.Now()
	if fail {
		writeJSON(w, http.StatusInternalServerError, "application/json", apiError{Code: "InternalServerError", Message: "Internal server error"})
		return
	}

	if r.Header.Get("Authorization") != s.cfg.Token {
		s.count(func(st *Stats) { st.AuthFailures++ })
		writeJSON(w, http.StatusUnauthorized, "application/problem+json", s.problem(http.StatusUnauthorized, "unauthorized", "token problem; token is invalid", now))
		return
	}

	if !s.admitRate(w, now) {
		return
	}

	// A client that died mid-request, as a killed hub does, leaves a
	// truncated body: that is no request the hub built, so it is counted
	// apart from the invalid ones.
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		s.count(func(st *Stats) { st.AbortedRequests++ })
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))

	if err := s.validate(r); err != nil {
		s.count(func(st *Stats) { st.ValidationFailures++ })
		s.cfg.Logger.Warn("wbsim: request rejected by spec", slog.Any("error", err))
		writeJSON(w, http.StatusBadRequest, "application/json", apiError{Code: "IncorrectRequestBody", Message: err.Error()})
		return
	}

	warehouse, err := strconv.ParseInt(r.PathValue("warehouseId"), 10, 64)
	if err != nil || (s.warehouses != nil && !s.warehouses[warehouse]) {
		writeJSON(w, http.StatusNotFound, "application/json", apiError{Code: "NotFound", Message: "warehouse not found"})
		return
	}

	var body struct {
		Stocks []stockItem `json:"stocks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		s.count(func(st *Stats) { st.ValidationFailures++ })
		writeJSON(w, http.StatusBadRequest, "application/json", apiError{Code: "IncorrectRequestBody", Message: "Incorrect required body"})
		return
	}

	if conflicts := s.findConflicts(body.Stocks); len(conflicts) > 0 {
		s.mu.Lock()
		s.stats.Conflicts++
		s.mu.Unlock()
		// The first request was counted by admitRate.
		s.limiter.ReserveN(now, conflictRequestCost-1)
		writeJSON(w, http.StatusConflict, "application/json", conflicts)
		return
	}

	s.mu.Lock()
	s.log.Request(r.UserAgent())
	for _, item := range body.Stocks {
		key := Key{ChrtID: item.ChrtID, WarehouseID: warehouse}
		s.log.Set(key, item.Amount, r.UserAgent(), now)
		s.stats.Updated++
	}
	s.mu.Unlock()
	w.Header().Set("X-Ratelimit-Remaining", strconv.Itoa(int(math.Max(0, s.limiter.TokensAt(now)))))
	w.WriteHeader(http.StatusNoContent)
}

// admitRate takes one request from the rate limit, or answers 429 with
// Wildberries' headers: X-Ratelimit-Retry (seconds until the next request
// is allowed), X-Ratelimit-Limit (the burst) and X-Ratelimit-Reset
// (seconds until the burst is full again).
func (s *Server) admitRate(w http.ResponseWriter, now time.Time) bool {
	return s.admitRateOn(w, now, s.limiter, nil)
}

// admitRateOn is admitRate on limiter; countMore, when set, counts a
// violation in more counters than RateViolations.
func (s *Server) admitRateOn(w http.ResponseWriter, now time.Time, limiter *rate.Limiter, countMore func(*Stats)) bool {
	if limiter.AllowN(now, 1) {
		return true
	}
	s.count(func(st *Stats) {
		st.RateViolations++
		if countMore != nil {
			countMore(st)
		}
	})
	if s.cfg.ObserveRateOnly {
		return true
	}
	s.count(func(st *Stats) { st.TooManyRequests++ })

	perToken := time.Duration(float64(time.Second) / float64(limiter.Limit()))
	tokens := limiter.TokensAt(now)
	retryAfter := time.Duration((1 - tokens) * float64(perToken))
	reset := time.Duration((float64(limiter.Burst()) - tokens) * float64(perToken))

	w.Header().Set("X-Ratelimit-Retry", strconv.Itoa(ceilSeconds(retryAfter)))
	w.Header().Set("X-Ratelimit-Limit", strconv.Itoa(limiter.Burst()))
	w.Header().Set("X-Ratelimit-Reset", strconv.Itoa(ceilSeconds(reset)))
	writeJSON(w, http.StatusTooManyRequests, "application/problem+json", s.problem(http.StatusTooManyRequests, "too many requests", "limited by wbsim", now))
	return false
}

// findConflicts returns the 409 entries for the request's items, grouped
// by code, or nil when every item can be applied. Call without s.mu.
func (s *Server) findConflicts(items []stockItem) []conflictEntry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var entries []conflictEntry
	byCode := map[string]int{}
	add := func(code, message string, item stockItem) {
		i, ok := byCode[code]
		if !ok {
			i = len(entries)
			byCode[code] = i
			entries = append(entries, conflictEntry{Code: code, Message: message})
		}
		entries[i].Data = append(entries[i].Data, conflictItem{ChrtID: item.ChrtID, Amount: item.Amount})
	}
	for _, item := range items {
		switch {
		case s.itemErrors[item.ChrtID] != "":
			add(s.itemErrors[item.ChrtID], "injected error", item)
		case s.known != nil && !s.known[item.ChrtID]:
			add("NotFound", "Not found", item)
		}
	}
	return entries
}

func (s *Server) problem(status int, title, detail string, now time.Time) problem {
	return problem{
		Title: title, Detail: detail, Code: "wbsim", RequestID: strconv.FormatInt(now.UnixNano(), 16),
		Origin: "wbsim", Status: status, StatusText: http.StatusText(status), Timestamp: now.UTC().Format(time.RFC3339),
	}
}

func ceilSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// validate checks r against the vendor spec, when the server has one.
func (s *Server) validate(r *http.Request) error {
	if s.spec == nil {
		return nil
	}
	return s.spec.ValidateRequest(r)
}

// handleSnapshot lists the stock the simulator holds, for a person trying
// the demo: GET /sim/stocks. It is no Wildberries method.
func (s *Server) handleSnapshot(w http.ResponseWriter, _ *http.Request) {
	type row struct {
		ChrtID      int64 `json:"chrtId"`
		WarehouseID int64 `json:"warehouse_id"`
		Amount      int64 `json:"amount"`
	}
	rows := []row{}
	for k, v := range s.Snapshot() {
		rows = append(rows, row{k.ChrtID, k.WarehouseID, v})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ChrtID < rows[j].ChrtID })
	writeJSON(w, http.StatusOK, "application/json", map[string]any{"stocks": rows, "stats": s.Stats()})
}

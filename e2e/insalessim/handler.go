package insalessim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"obmenhub/e2e/simkit"
)

const (
	groupUpdatePath  = "/admin/products/variants_group_update.json"
	headerUsageLimit = "API-Usage-Limit"
	headerRetryAfter = "Retry-After"
)

// variantFields are the fields of a variant that the group update takes.
// The hub sends id with quantity, or id with price and old_price.
var variantFields = map[string]bool{
	"id": true, "quantity": true, "price": true, "old_price": true, "cost_price": true,
}

// variantStatus is one element of the response.
type variantStatus struct {
	ID     int64    `json:"id"`
	Status string   `json:"status"`
	Errors []string `json:"errors,omitempty"`
}

// errorBody is the body of a response that rejects the whole request.
type errorBody struct {
	Errors []string `json:"errors"`
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT "+groupUpdatePath, s.handleGroupUpdate)
	mux.HandleFunc("GET /admin/products.json", s.handleProductList)
	mux.HandleFunc("GET /admin/orders.json", s.handleOrderList)
	mux.HandleFunc("GET /sim/stocks", s.handleSnapshot)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.count(func(st *Stats) { st.Requests++ })
		s.writeUsage(w)
		writeJSON(w, http.StatusNotFound, errorBody{Errors: []string{"not found: " + r.Method + " " + r.URL.Path}})
	})
	return mux
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
}

func (s *Server) handleGroupUpdate(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *Stats) { st.Requests++ })
	if !simkit.Wait(r.Context(), s.faults.TakeDelay()) {
		return
	}
	now := s.cfg.Clock.Now()

	login, password, ok := r.BasicAuth()
	if !ok || login != s.cfg.Login || password != s.cfg.Password {
		s.count(func(st *Stats) { st.AuthFailures++ })
		s.writeUsage(w)
		w.Header().Set("WWW-Authenticate", `Basic realm="Application"`)
		writeJSON(w, http.StatusUnauthorized, errorBody{Errors: []string{"HTTP Basic: Access denied."}})
		return
	}

	if !s.admitRate(w, now) {
		return
	}

	if s.takeFailure() {
		s.writeUsage(w)
		writeJSON(w, http.StatusInternalServerError, errorBody{Errors: []string{"internal server error (injected by FailNext)"}})
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

	variants, err := parseGroupUpdate(r.Header.Get("Content-Type"), raw)
	if err != nil {
		s.count(func(st *Stats) { st.ValidationFailures++ })
		s.cfg.Logger.Warn("insalessim: invalid group update rejected", slog.Any("error", err))
		s.writeUsage(w)
		writeJSON(w, http.StatusBadRequest, errorBody{Errors: []string{err.Error()}})
		return
	}

	statuses := s.apply(variants, r.UserAgent(), now)
	s.writeUsage(w)
	writeJSON(w, http.StatusOK, statuses)
}

func (s *Server) takeFailure() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.faults.TakeFailure() {
		return false
	}
	s.stats.InjectedFailures++
	return true
}

// rollWindow ends the current window when its time is up. Call with s.mu
// held.
func (s *Server) rollWindow(now time.Time) {
	if !s.windowEnd.IsZero() && !now.Before(s.windowEnd) {
		s.used = 0
		s.windowEnd = time.Time{}
	}
}

// admitRate counts one request against the window, or responds with 503 and
// Retry-After, the seconds until the window ends, as InSales does when the
// limit is reached.
func (s *Server) admitRate(w http.ResponseWriter, now time.Time) bool {
	s.mu.Lock()
	s.rollWindow(now)
	if s.windowEnd.IsZero() {
		s.windowEnd = now.Add(s.cfg.Window)
	}
	if s.used < s.cfg.RequestsPerWindow {
		s.used++
		s.mu.Unlock()
		return true
	}
	s.stats.RateViolations++
	if s.cfg.ObserveRateOnly {
		s.used++
		s.mu.Unlock()
		return true
	}
	s.stats.ServiceUnavailable++
	retryAfter := ceilSeconds(s.windowEnd.Sub(now))
	s.mu.Unlock()

	s.writeUsage(w)
	w.Header().Set(headerRetryAfter, strconv.Itoa(retryAfter))
	writeJSON(w, http.StatusServiceUnavailable, errorBody{Errors: []string{"API request limit reached"}})
	return false
}

// writeUsage sets API-Usage-Limit to the requests counted in the window
// and the limit, such as "12/500".
func (s *Server) writeUsage(w http.ResponseWriter) {
	s.mu.Lock()
	used := s.used
	s.mu.Unlock()
	w.Header().Set(headerUsageLimit, fmt.Sprintf("%d/%d", used, s.cfg.RequestsPerWindow))
}

// variantUpdate is one checked element of the request's variants array.
type variantUpdate struct {
	ID       int64
	Quantity *int64
	Price    string // JSON text, empty when absent
	OldPrice string
}

// parseGroupUpdate checks the body of a group update: a JSON object with
// only a variants array of 1 to MaxVariantsPerRequest objects, each with a
// positive integer id, an integer quantity when present, decimal prices
// as strings or numbers, and at least one field besides id.
func parseGroupUpdate(contentType string, raw []byte) ([]variantUpdate, error) {
	mediaType, _, err := mime.ParseMediaType(contentType)
	if err != nil || mediaType != "application/json" {
		return nil, fmt.Errorf("Content-Type is %q, expected application/json", contentType)
	}

	var body map[string]json.RawMessage
	if err := strictDecode(raw, &body); err != nil {
		return nil, fmt.Errorf("body is not a JSON object: %w", err)
	}
	for key := range body {
		if key != "variants" {
			return nil, fmt.Errorf("unknown top-level field %q; only variants is expected", key)
		}
	}
	var elements []map[string]json.RawMessage
	if err := strictDecode(body["variants"], &elements); err != nil {
		return nil, fmt.Errorf("variants is not an array of objects: %w", err)
	}
	if len(elements) == 0 || len(elements) > MaxVariantsPerRequest {
		return nil, fmt.Errorf("variants has %d elements, must have 1 to %d", len(elements), MaxVariantsPerRequest)
	}

	updates := make([]variantUpdate, len(elements))
	for i, element := range elements {
		u, err := parseVariant(element)
		if err != nil {
			return nil, fmt.Errorf("variants[%d]: %w", i, err)
		}
		updates[i] = u
	}
	return updates, nil
}

func parseVariant(element map[string]json.RawMessage) (variantUpdate, error) {
	var u variantUpdate
	for key := range element {
		if !variantFields[key] {
			return u, fmt.Errorf("unknown field %q", key)
		}
	}
	if len(element) < 2 {
		return u, errors.New("no field to update besides id")
	}

	id, err := parseInteger(element["id"])
	if err != nil || id <= 0 {
		return u, fmt.Errorf("id is %s, expected a positive integer", element["id"])
	}
	u.ID = id

	if raw, ok := element["quantity"]; ok {
		quantity, err := parseInteger(raw)
		if err != nil {
			return u, fmt.Errorf("quantity is %s, expected an integer", raw)
		}
		u.Quantity = &quantity
	}
	for _, field := range []string{"price", "old_price", "cost_price"} {
		raw, ok := element[field]
		if !ok {
			continue
		}
		if err := checkDecimal(raw, field != "price"); err != nil {
			return u, fmt.Errorf("%s is %s: %w", field, raw, err)
		}
	}
	u.Price = string(element["price"])
	u.OldPrice = string(element["old_price"])
	return u, nil
}

// parseInteger parses a JSON number without a fraction or exponent.
func parseInteger(raw json.RawMessage) (int64, error) {
	text := strings.TrimSpace(string(raw))
	return strconv.ParseInt(text, 10, 64)
}

// checkDecimal accepts a non-negative decimal as a JSON string or number,
// and null when nullable.
func checkDecimal(raw json.RawMessage, nullable bool) error {
	text := strings.TrimSpace(string(raw))
	if text == "null" {
		if nullable {
			return nil
		}
		return errors.New("null is not allowed")
	}
	if strings.HasPrefix(text, `"`) {
		if err := json.Unmarshal(raw, &text); err != nil {
			return err
		}
	}
	value, err := strconv.ParseFloat(text, 64)
	if err != nil || value < 0 || math.IsNaN(value) || math.IsInf(value, 0) || strings.ContainsAny(text, "eEx") {
		return errors.New("expected a non-negative decimal")
	}
	return nil
}

func strictDecode(raw []byte, v any) error {
	if len(raw) == 0 {
		return errors.New("missing")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.More() {
		return errors.New("trailing data after the JSON value")
	}
	return nil
}

// apply stores the known variants and returns the response, which lists
// every variant of the request in order with status "ok" or "error".
//
// NOTE: the InSales reference shows only "ok" responses. An unknown id gets
// a response here with status "error" and an errors array, a guess at the
// real response.
func (s *Server) apply(updates []variantUpdate, agent string, now time.Time) []variantStatus {
	s.mu.Lock()
	defer s.mu.Unlock()

	statuses := make([]variantStatus, len(updates))
	applied := false
	for i, u := range updates {
		if s.known != nil && !s.known[u.ID] {
			s.stats.ItemErrors++
			statuses[i] = variantStatus{ID: u.ID, Status: "error", Errors: []string{"variant not found"}}
			continue
		}

		v := s.variants[u.ID]
		if u.Quantity != nil {
			quantity := *u.Quantity
			v.Quantity = &quantity
		}
		if u.Price != "" {
			v.Price = u.Price
		}
		if u.OldPrice != "" {
			v.OldPrice = u.OldPrice
		}
		s.variants[u.ID] = v
		s.history[u.ID] = append(s.history[u.ID], Update{Quantity: u.Quantity, Price: u.Price, OldPrice: u.OldPrice, Agent: agent, At: now})
		s.stats.Updated++
		applied = true
		statuses[i] = variantStatus{ID: u.ID, Status: "ok"}
	}
	if applied {
		s.agents = append(s.agents, agent)
	}
	return statuses
}

// handleSnapshot lists the variants the simulator holds, for a person
// trying the demo: GET /sim/stocks. It is no InSales method.
func (s *Server) handleSnapshot(w http.ResponseWriter, _ *http.Request) {
	type row struct {
		ID       int64           `json:"id"`
		Quantity *int64          `json:"quantity"`
		Price    json.RawMessage `json:"price,omitempty"`
		OldPrice json.RawMessage `json:"old_price,omitempty"`
	}
	rows := []row{}
	for id, v := range s.Snapshot() {
		rows = append(rows, row{ID: id, Quantity: v.Quantity, Price: rawOrNil(v.Price), OldPrice: rawOrNil(v.OldPrice)})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].ID < rows[j].ID })
	writeJSON(w, http.StatusOK, map[string]any{"variants": rows, "stats": s.Stats()})
}

func rawOrNil(text string) json.RawMessage {
	if text == "" {
		return nil
	}
	return json.RawMessage(text)
}

func ceilSeconds(d time.Duration) int {
	return max(1, int(math.Ceil(d.Seconds())))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

package webstoresim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/govalues/decimal"

	"obmenhub/e2e/simkit"
)

// Header names of the webhook, as the webstore package documents them.
// They are spelled out here rather than imported, so that the simulator
// checks the documented scheme and not the adapter's own code.
const (
	headerEvent     = "X-Obmenhub-Event"
	headerDelivery  = "X-Obmenhub-Delivery"
	headerTimestamp = "X-Obmenhub-Timestamp"
	headerSignature = "X-Obmenhub-Signature"
)

// maxBody bounds a webhook body; a larger one gets 413.
const maxBody = 16 << 20

type webhook struct {
	Event      string            `json:"event"`
	DeliveryID string            `json:"delivery_id"`
	SentAt     string            `json:"sent_at"`
	Items      []json.RawMessage `json:"items"`
}

type stockItem struct {
	SKU        string `json:"sku"`
	ExternalID string `json:"external_id"`
	Quantity   *int64 `json:"quantity"`
}

type priceItem struct {
	SKU        string `json:"sku"`
	ExternalID string `json:"external_id"`
	Price
}

type rejected struct {
	SKU        string `json:"sku"`
	ExternalID string `json:"external_id,omitempty"`
	Error      string `json:"error"`
	Retriable  bool   `json:"retriable"`
}

type answer struct {
	Rejected []rejected `json:"rejected"`
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+s.cfg.Path, s.handleWebhook)
	mux.HandleFunc("GET /sim/stocks", s.handleStocks)
	mux.HandleFunc("GET /sim/prices", s.handlePrices)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.count(func(st *Stats) { st.Requests++ })
		writeError(w, http.StatusNotFound, "not found: "+r.Method+" "+r.URL.Path)
	})
	return mux
}

func (s *Server) count(f func(*Stats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(&s.stats)
}

func (s *Server) handleWebhook(w http.ResponseWriter, r *http.Request) {
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
	if fail {
		writeError(w, http.StatusInternalServerError, "injected failure")
		return
	}

	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		writeError(w, http.StatusRequestEntityTooLarge, err.Error())
		return
	}
	now := s.cfg.Clock.Now()

	if !s.authenticate(w, r, raw, now) {
		return
	}
	if !s.admitRate(w, now) {
		return
	}

	hook, err := s.parse(r, raw)
	if err != nil {
		s.count(func(st *Stats) { st.BadRequests++ })
		s.cfg.Logger.Warn("webstoresim: webhook rejected as malformed", slog.String("delivery_id", r.Header.Get(headerDelivery)), slog.Any("error", err))
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}

	body := s.apply(hook, r.UserAgent(), now)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// authenticate checks the signature and the timestamp as the webstore
// package documentation describes, and responds with 401 when either fails.
func (s *Server) authenticate(w http.ResponseWriter, r *http.Request, body []byte, now time.Time) bool {
	timestamp := r.Header.Get(headerTimestamp)
	delivery := r.Header.Get(headerDelivery)

	mac := hmac.New(sha256.New, []byte(s.cfg.Secret))
	mac.Write([]byte(timestamp + "."))
	mac.Write(body)
	want := mac.Sum(nil)

	hexSum, ok := strings.CutPrefix(r.Header.Get(headerSignature), "sha256=")
	got, err := hex.DecodeString(hexSum)
	if !ok || err != nil || !hmac.Equal(got, want) {
		s.count(func(st *Stats) { st.SignatureFailures++ })
		s.cfg.Logger.Warn("webstoresim: wrong webhook signature", slog.String("delivery_id", delivery))
		writeError(w, http.StatusUnauthorized, "invalid signature")
		return false
	}

	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || now.Sub(time.Unix(seconds, 0)).Abs() > s.cfg.Tolerance {
		s.count(func(st *Stats) { st.StaleTimestamps++ })
		s.cfg.Logger.Warn("webstoresim: stale webhook timestamp", slog.String("delivery_id", delivery), slog.String("timestamp", timestamp))
		writeError(w, http.StatusUnauthorized, "stale or missing timestamp")
		return false
	}
	return true
}

// admitRate sends 429 with Retry-After when LimitNext is pending or the
// configured rate is exceeded.
func (s *Server) admitRate(w http.ResponseWriter, now time.Time) bool {
	s.mu.Lock()
	var retryAfter time.Duration
	limited := false
	switch {
	case s.limitNext > 0:
		s.limitNext--
		limited, retryAfter = true, s.limitDelay
	case s.limiter != nil && !s.limiter.AllowN(now, 1):
		perToken := time.Duration(float64(time.Second) / float64(s.limiter.Limit()))
		limited = true
		retryAfter = time.Duration((1 - s.limiter.TokensAt(now)) * float64(perToken))
	}
	if limited {
		s.stats.TooManyRequests++
	}
	s.mu.Unlock()

	if !limited {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(retryAfter.Seconds())))))
	writeError(w, http.StatusTooManyRequests, "too many requests")
	return false
}

var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// parse decodes and checks the webhook body against the documented format.
func (s *Server) parse(r *http.Request, raw []byte) (*webhook, error) {
	var hook webhook
	if err := decodeStrict(raw, &hook); err != nil {
		return nil, fmt.Errorf("body: %w", err)
	}
	switch {
	case hook.Event != "stock.updated" && hook.Event != "price.updated":
		return nil, fmt.Errorf("event %q: expected stock.updated or price.updated", hook.Event)
	case hook.Event != r.Header.Get(headerEvent):
		return nil, fmt.Errorf("event %q differs from header %s %q", hook.Event, headerEvent, r.Header.Get(headerEvent))
	case hook.DeliveryID == "" || hook.DeliveryID != r.Header.Get(headerDelivery):
		return nil, fmt.Errorf("delivery_id %q is empty or differs from header %s %q", hook.DeliveryID, headerDelivery, r.Header.Get(headerDelivery))
	case len(hook.Items) == 0:
		return nil, errors.New("items is empty")
	}
	if _, err := time.Parse(time.RFC3339Nano, hook.SentAt); err != nil {
		return nil, fmt.Errorf("sent_at %q is not RFC 3339: %w", hook.SentAt, err)
	}
	for n, item := range hook.Items {
		if err := checkItem(hook.Event, item); err != nil {
			return nil, fmt.Errorf("items[%d]: %w", n, err)
		}
	}
	return &hook, nil
}

func checkItem(event string, raw json.RawMessage) error {
	if event == "stock.updated" {
		var item stockItem
		if err := decodeStrict(raw, &item); err != nil {
			return err
		}
		switch {
		case item.SKU == "":
			return errors.New("sku is empty")
		case item.Quantity == nil:
			return errors.New("quantity is missing")
		case *item.Quantity < 0:
			return fmt.Errorf("quantity %d is negative", *item.Quantity)
		}
		return nil
	}

	var item priceItem
	if err := decodeStrict(raw, &item); err != nil {
		return err
	}
	if item.SKU == "" {
		return errors.New("sku is empty")
	}
	price, err := decimal.Parse(item.Price.Price)
	if err != nil || !price.IsPos() {
		return fmt.Errorf("price %q is not a positive decimal string", item.Price.Price)
	}
	if item.OldPrice != "" {
		if old, err := decimal.Parse(item.OldPrice); err != nil || old.IsNeg() {
			return fmt.Errorf("old_price %q is not a non-negative decimal string", item.OldPrice)
		}
	}
	if item.Currency != "" && !currencyCode.MatchString(item.Currency) {
		return fmt.Errorf("currency %q is not an ISO 4217 code", item.Currency)
	}
	return nil
}

func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// apply stores the items of a checked webhook and returns the response
// body. A delivery id seen before gets its first response again, unapplied.
func (s *Server) apply(hook *webhook, agent string, now time.Time) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()

	if prev, ok := s.answers[hook.DeliveryID]; ok {
		s.stats.DuplicateDeliveries++
		return prev
	}

	ans := answer{Rejected: []rejected{}}
	for _, raw := range hook.Items {
		// Items were checked by parse, so these decodes succeed.
		if hook.Event == "stock.updated" {
			var item stockItem
			_ = json.Unmarshal(raw, &item)
			if rej, ok := s.rejection(item.SKU, item.ExternalID); ok {
				ans.Rejected = append(ans.Rejected, rej)
				continue
			}
			s.stock[item.SKU] = *item.Quantity
			s.stockHistory[item.SKU] = append(s.stockHistory[item.SKU], StockUpdate{Quantity: *item.Quantity, DeliveryID: hook.DeliveryID, Agent: agent, At: now})
			s.stats.StockUpdates++
			continue
		}
		var item priceItem
		_ = json.Unmarshal(raw, &item)
		if rej, ok := s.rejection(item.SKU, item.ExternalID); ok {
			ans.Rejected = append(ans.Rejected, rej)
			continue
		}
		s.prices[item.SKU] = item.Price
		s.priceHistory[item.SKU] = append(s.priceHistory[item.SKU], PriceUpdate{Price: item.Price, DeliveryID: hook.DeliveryID, Agent: agent, At: now})
		s.stats.PriceUpdates++
	}

	s.stats.Deliveries++
	s.stats.RejectedItems += len(ans.Rejected)
	s.deliveries = append(s.deliveries, hook.DeliveryID)
	s.agents = append(s.agents, agent)
	body, _ := json.Marshal(ans)
	s.answers[hook.DeliveryID] = body
	return body
}

// rejection returns the rejected entry for an item, if the store rejects
// it. Call with s.mu held.
func (s *Server) rejection(sku, externalID string) (rejected, bool) {
	if r, ok := s.rejections[sku]; ok {
		return rejected{SKU: sku, ExternalID: externalID, Error: r.Message, Retriable: r.Retriable}, true
	}
	if s.known != nil && !s.known[sku] {
		return rejected{SKU: sku, ExternalID: externalID, Error: "unknown SKU"}, true
	}
	return rejected{}, false
}

// handleStocks lists the stock the simulator holds, for a person trying
// the demo: GET /sim/stocks. It is no part of the webhook contract.
func (s *Server) handleStocks(w http.ResponseWriter, _ *http.Request) {
	type row struct {
		SKU      string `json:"sku"`
		Quantity int64  `json:"quantity"`
	}
	rows := []row{}
	for sku, q := range s.Snapshot() {
		rows = append(rows, row{sku, q})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].SKU < rows[j].SKU })
	writeJSON(w, http.StatusOK, map[string]any{"stocks": rows, "stats": s.Stats()})
}

// handlePrices lists the prices the simulator holds: GET /sim/prices.
func (s *Server) handlePrices(w http.ResponseWriter, _ *http.Request) {
	type row struct {
		SKU string `json:"sku"`
		Price
	}
	rows := []row{}
	for sku, p := range s.Prices() {
		rows = append(rows, row{sku, p})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].SKU < rows[j].SKU })
	writeJSON(w, http.StatusOK, map[string]any{"prices": rows, "stats": s.Stats()})
}

func writeError(w http.ResponseWriter, status int, message string) {
	writeJSON(w, status, map[string]string{"error": message})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

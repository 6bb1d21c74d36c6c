package ozonsim

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"time"

	"obmenhub/e2e/simkit"
)

// rpcStatus is Ozon's error body (rpcStatus in the spec). Codes are gRPC
// status codes: 3 invalid argument, 7 permission denied, 8 resource
// exhausted, 13 internal.
type rpcStatus struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Details []any  `json:"details"`
}

type stockItem struct {
	OfferID     string `json:"offer_id"`
	ProductID   int64  `json:"product_id"`
	Stock       int64  `json:"stock"`
	WarehouseID int64  `json:"warehouse_id"`
}

type itemError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type itemResult struct {
	WarehouseID int64       `json:"warehouse_id"`
	ProductID   int64       `json:"product_id"`
	OfferID     string      `json:"offer_id"`
	Updated     bool        `json:"updated"`
	Errors      []itemError `json:"errors"`
}

// itemMessages are the descriptions that the spec's error table gives.
var itemMessages = map[string]string{
	"offer_id_not_found":  "There is no product with this offer_id in the seller account",
	"WAREHOUSE_NOT_FOUND": "Warehouse not found",
	"TOO_MANY_REQUESTS":   "Stock of one product on one warehouse can be updated once per 30 seconds",
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v2/products/stocks", s.handleStocks)
	mux.HandleFunc("POST /v3/product/list", s.handleProductList)
	mux.HandleFunc("POST /v3/product/info/list", s.handleProductInfo)
	mux.HandleFunc("POST /v1/product/import/prices", s.handlePrices)
	mux.HandleFunc("POST /v3/posting/fbs/list", s.handlePostingList)
	mux.HandleFunc("GET /sim/stocks", s.handleSnapshot)
	mux.HandleFunc("POST /sim/postings", s.handleAddPosting)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.count(func(st *Stats) { st.Requests++ })
		writeJSON(w, http.StatusNotFound, rpcStatus{Code: 5, Message: "Not found: " + r.Method + " " + r.URL.Path, Details: []any{}})
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
	if fail {
		writeJSON(w, http.StatusInternalServerError, rpcStatus{Code: 13, Message: "Internal error", Details: []any{}})
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
		s.cfg.Logger.Warn("ozonsim: request rejected by spec", slog.Any("error", err))
		writeJSON(w, http.StatusBadRequest, rpcStatus{Code: 3, Message: err.Error(), Details: []any{}})
		return
	}
	if r.Header.Get("Client-Id") != s.cfg.ClientID || r.Header.Get("Api-Key") != s.cfg.APIKey {
		s.count(func(st *Stats) { st.AuthFailures++ })
		writeJSON(w, http.StatusForbidden, rpcStatus{Code: 7, Message: "Invalid Api-Key, please check the key and try again", Details: []any{}})
		return
	}

	now := s.cfg.Clock.Now()
	if !s.limiter.AllowN(now, 1) {
		s.count(func(st *Stats) { st.RateViolations++ })
		if !s.cfg.ObserveRateOnly {
			s.count(func(st *Stats) { st.TooManyRequests++ })
			// NOTE: Ozon documents no delay header on 429, so none is sent.
			writeJSON(w, http.StatusTooManyRequests, rpcStatus{Code: 8, Message: "You have reached request rate limit per second", Details: []any{}})
			return
		}
	}

	var body struct {
		Stocks []stockItem `json:"stocks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		s.count(func(st *Stats) { st.ValidationFailures++ })
		writeJSON(w, http.StatusBadRequest, rpcStatus{Code: 3, Message: "invalid JSON body: " + err.Error(), Details: []any{}})
		return
	}
	if len(body.Stocks) > s.cfg.MaxItems {
		s.count(func(st *Stats) { st.ValidationFailures++ })
		writeJSON(w, http.StatusBadRequest, rpcStatus{Code: 3, Message: "invalid ProductsStocksRequest.Stocks: value must contain at most 100 item(s)", Details: []any{}})
		return
	}

	results := make([]itemResult, len(body.Stocks))
	s.mu.Lock()
	s.log.Request(r.UserAgent())
	for i, item := range body.Stocks {
		results[i] = s.applyItem(item, now, r.UserAgent())
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"result": results})
}

// applyItem updates one pair or explains why not. Call with s.mu held.
func (s *Server) applyItem(item stockItem, now time.Time, agent string) itemResult {
	res := itemResult{WarehouseID: item.WarehouseID, ProductID: item.ProductID, OfferID: item.OfferID, Errors: []itemError{}}
	key := Key{OfferID: item.OfferID, WarehouseID: item.WarehouseID}

	fail := func(code string) itemResult {
		msg := itemMessages[code]
		if msg == "" {
			msg = "injected error " + code
		}
		res.Errors = append(res.Errors, itemError{Code: code, Message: msg})
		return res
	}

	switch {
	case s.itemErrors[item.OfferID] != "":
		return fail(s.itemErrors[item.OfferID])
	case item.OfferID == "" || (s.known != nil && !s.known[item.OfferID]):
		return fail("offer_id_not_found")
	case s.warehouses != nil && !s.warehouses[item.WarehouseID]:
		return fail("WAREHOUSE_NOT_FOUND")
	}
	if last, ok := s.lastUpdate[key]; ok && now.Sub(last) < s.cfg.PairInterval {
		s.stats.PairViolations++
		return fail("TOO_MANY_REQUESTS")
	}

	s.lastUpdate[key] = now
	s.log.Set(key, item.Stock, agent, now)
	s.stats.Updated++
	res.Updated = true
	return res
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
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
// the demo: GET /sim/stocks. It is no Ozon method.
func (s *Server) handleSnapshot(w http.ResponseWriter, _ *http.Request) {
	type row struct {
		OfferID     string `json:"offer_id"`
		WarehouseID int64  `json:"warehouse_id"`
		Stock       int64  `json:"stock"`
	}
	rows := []row{}
	for k, v := range s.Snapshot() {
		rows = append(rows, row{k.OfferID, k.WarehouseID, v})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].OfferID < rows[j].OfferID })
	writeJSON(w, http.StatusOK, map[string]any{"stocks": rows, "stats": s.Stats()})
}

// handleAddPosting adds an FBS posting for a person trying the demo:
// POST /sim/postings with {"posting_number", "offer_id", "quantity",
// "price", "warehouse_id"}. It is no Ozon method.
func (s *Server) handleAddPosting(w http.ResponseWriter, r *http.Request) {
	var in struct {
		PostingNumber string `json:"posting_number"`
		OfferID       string `json:"offer_id"`
		Quantity      int32  `json:"quantity"`
		Price         string `json:"price"`
		WarehouseID   int64  `json:"warehouse_id"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.PostingNumber == "" || in.OfferID == "" || in.Quantity <= 0 {
		http.Error(w, `give {"posting_number", "offer_id", "quantity" > 0, "price"}`, http.StatusBadRequest)
		return
	}
	if in.Price == "" {
		in.Price = "0"
	}
	err := s.AddOrder(Posting{PostingNumber: in.PostingNumber, OrderNumber: in.PostingNumber, Status: "awaiting_packaging",
		InProcessAt: s.cfg.Clock.Now(), WarehouseID: in.WarehouseID, Products: []PostingProduct{{OfferID: in.OfferID, Quantity: in.Quantity, Price: in.Price, CurrencyCode: "RUB"}}})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

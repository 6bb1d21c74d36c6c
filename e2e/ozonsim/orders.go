package ozonsim

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
	"weak"

	"golang.org/x/time/rate"
)

// Limits of POST /v3/posting/fbs/list, from its description in the Ozon
// Seller API spec (info.version 2.1).
const (
	// MaxPostingListLimit is the largest limit of the method.
	MaxPostingListLimit = 1000
	// MaxPostingListPeriod is the longest filter.since to filter.to period.
	MaxPostingListPeriod = 365 * 24 * time.Hour
	// AccountRequestsPerSecond is Ozon's limit of every method per Client
	// ID, which the spec states in its "Process" section.
	AccountRequestsPerSecond = 50
)

// Posting is one FBS posting of the simulated seller account, with the
// fields that POST /v3/posting/fbs/list filters on and returns.
type Posting struct {
	// PostingNumber is Ozon's posting number, unique per account.
	PostingNumber string
	OrderID       int64
	OrderNumber   string
	// Status is Ozon's posting status, such as "awaiting_packaging".
	Status    string
	Substatus string
	// InProcessAt is when Ozon started processing the posting; the
	// filter's since and to bound it.
	InProcessAt time.Time
	// StatusChangedAt is when the status last changed; the filter's
	// last_changed_status_date bounds it. Zero means InProcessAt.
	StatusChangedAt time.Time
	WarehouseID     int64
	Products        []PostingProduct
}

// PostingProduct is one product of a Posting.
type PostingProduct struct {
	OfferID  string
	SKU      int64
	Name     string
	Quantity int32
	// Price is the price as Ozon sends it, a decimal string such as
	// "1390.000000".
	Price        string
	CurrencyCode string
}

// OrderStats are the counters of the posting list. Its requests are also
// counted in Stats.Requests, and rejected ones in Stats.ValidationFailures
// and Stats.AuthFailures.
type OrderStats struct {
	// ListRequests is the number of POST /v3/posting/fbs/list requests.
	ListRequests int
	// RateViolations is the number of requests over the account's 50
	// requests per second, whether rejected with 429 or let through
	// (Config.ObserveRateOnly).
	RateViolations int
	// InjectedFailures is the number of responses sent by FailOrdersAfter.
	InjectedFailures int
}

// orderState is the postings of one Server.
type orderState struct {
	limiter *rate.Limiter

	mu         sync.Mutex
	postings   map[string]*Posting
	served     int // requests that passed validation, auth and the limit
	failAfter  int
	failStatus int // 0 when no failure is injected
	stats      OrderStats
}

// orderStates maps each Server to its postings, as catalogs does.
// TODO: make the postings a field of Server.
var orderStates sync.Map // weak.Pointer[Server] -> *orderState

func (s *Server) orders() *orderState {
	key := weak.Make(s)
	if v, ok := orderStates.Load(key); ok {
		return v.(*orderState)
	}
	fresh := &orderState{
		limiter:  rate.NewLimiter(AccountRequestsPerSecond, AccountRequestsPerSecond),
		postings: map[string]*Posting{},
	}
	v, loaded := orderStates.LoadOrStore(key, fresh)
	if !loaded {
		runtime.AddCleanup(s, func(k weak.Pointer[Server]) { orderStates.Delete(k) }, key)
	}
	return v.(*orderState)
}

// AddOrder adds a posting, or replaces the one with the same number. It
// returns an error when the posting number or status is empty.
func (s *Server) AddOrder(p Posting) error {
	if p.PostingNumber == "" {
		return fmt.Errorf("ozonsim: posting has no posting_number")
	}
	if p.Status == "" {
		return fmt.Errorf("ozonsim: posting %s has no status", p.PostingNumber)
	}
	p.Products = slices.Clone(p.Products)
	if p.StatusChangedAt.IsZero() {
		p.StatusChangedAt = p.InProcessAt
	}
	o := s.orders()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.postings[p.PostingNumber] = &p
	return nil
}

// SetOrderStatus sets the status of a posting and the time of the change.
// It returns an error when the posting is unknown.
func (s *Server) SetOrderStatus(postingNumber, status string, at time.Time) error {
	o := s.orders()
	o.mu.Lock()
	defer o.mu.Unlock()
	p, ok := o.postings[postingNumber]
	if !ok {
		return fmt.Errorf("ozonsim: posting %s not found", postingNumber)
	}
	p.Status = status
	p.StatusChangedAt = at
	return nil
}

// FailOrdersAfter lets the next n valid, authenticated posting list
// requests through and responds to every later one with status and Ozon's
// error body, until it is called again. Status 0 turns it off.
func (s *Server) FailOrdersAfter(n, status int) {
	o := s.orders()
	o.mu.Lock()
	defer o.mu.Unlock()
	o.served = 0
	o.failAfter = n
	o.failStatus = status
}

// OrderStats returns the counters of the posting list.
func (s *Server) OrderStats() OrderStats {
	o := s.orders()
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stats
}

type postingListRequest struct {
	Dir    string `json:"dir"`
	Filter struct {
		Since                 *time.Time `json:"since"`
		To                    *time.Time `json:"to"`
		Status                string     `json:"status"`
		WarehouseID           []string   `json:"warehouse_id"`
		LastChangedStatusDate *struct {
			From *time.Time `json:"from"`
			To   *time.Time `json:"to"`
		} `json:"last_changed_status_date"`
	} `json:"filter"`
	Limit  int64 `json:"limit"`
	Offset int64 `json:"offset"`
}

// handlePostingList serves POST /v3/posting/fbs/list: the postings whose
// in_process_at is within since and to, and the other filters, sorted by
// in_process_at and then posting_number, paged by offset and limit.
func (s *Server) handlePostingList(w http.ResponseWriter, r *http.Request) {
	raw, ok := s.admitOrderRequest(w, r)
	if !ok {
		return
	}

	var req postingListRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		s.rejectOrderRequest(w, "invalid JSON body: "+err.Error())
		return
	}
	if msg := checkPostingListRequest(&req); msg != "" {
		s.rejectOrderRequest(w, msg)
		return
	}

	matching := s.matchPostings(&req)
	if req.Dir == "DESC" || req.Dir == "desc" {
		slices.Reverse(matching)
	}
	page := []map[string]any{}
	for i := req.Offset; i < int64(len(matching)) && i < req.Offset+req.Limit; i++ {
		page = append(page, postingResponse(matching[i]))
	}
	hasNext := req.Offset+req.Limit < int64(len(matching))
	writeJSON(w, http.StatusOK, map[string]any{"result": map[string]any{"postings": page, "has_next": hasNext}})
}

// checkPostingListRequest returns why the method's description rejects
// req, or "" when it is acceptable.
func checkPostingListRequest(req *postingListRequest) string {
	switch {
	case req.Limit < 1 || req.Limit > MaxPostingListLimit:
		return fmt.Sprintf("invalid GetFbsPostingListRequest.Limit: value must be inside range [1, %d], got %d", MaxPostingListLimit, req.Limit)
	case req.Offset < 0:
		return fmt.Sprintf("invalid GetFbsPostingListRequest.Offset: value must not be negative, got %d", req.Offset)
	case req.Filter.Since == nil || req.Filter.To == nil:
		return "filter.since and filter.to are required"
	case req.Filter.To.Before(*req.Filter.Since):
		return "filter.to is before filter.since"
	case req.Filter.To.Sub(*req.Filter.Since) > MaxPostingListPeriod:
		return fmt.Sprintf("the period from filter.since to filter.to is %s, must be at most one year", req.Filter.To.Sub(*req.Filter.Since))
	}
	for _, id := range req.Filter.WarehouseID {
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			return fmt.Sprintf("invalid filter.warehouse_id %q: expected an int64 in decimal digits", id)
		}
	}
	return ""
}

// matchPostings returns copies of the postings that req selects, in
// in_process_at and posting_number order.
func (s *Server) matchPostings(req *postingListRequest) []Posting {
	warehouses := map[int64]bool{}
	for _, id := range req.Filter.WarehouseID {
		n, _ := strconv.ParseInt(id, 10, 64)
		warehouses[n] = true
	}
	changed := req.Filter.LastChangedStatusDate

	o := s.orders()
	o.mu.Lock()
	var matching []Posting
	for _, p := range o.postings {
		switch {
		case p.InProcessAt.Before(*req.Filter.Since) || p.InProcessAt.After(*req.Filter.To):
			continue
		case req.Filter.Status != "" && p.Status != req.Filter.Status:
			continue
		case len(warehouses) > 0 && !warehouses[p.WarehouseID]:
			continue
		case changed != nil && changed.From != nil && p.StatusChangedAt.Before(*changed.From):
			continue
		case changed != nil && changed.To != nil && p.StatusChangedAt.After(*changed.To):
			continue
		}
		matching = append(matching, *p)
	}
	o.mu.Unlock()

	slices.SortFunc(matching, func(a, b Posting) int {
		if c := a.InProcessAt.Compare(b.InProcessAt); c != 0 {
			return c
		}
		return cmp.Compare(a.PostingNumber, b.PostingNumber)
	})
	return matching
}

// postingResponse shapes p as the spec's v3FbsPosting, with the fields
// the simulator does not track left empty.
func postingResponse(p Posting) map[string]any {
	products := make([]map[string]any, len(p.Products))
	for i, product := range p.Products {
		products[i] = map[string]any{
			"offer_id": product.OfferID, "sku": product.SKU, "name": product.Name,
			"quantity": product.Quantity, "price": product.Price, "currency_code": product.CurrencyCode,
			"is_blr_traceable": false, "is_marketplace_buyout": false,
		}
	}
	return map[string]any{
		"posting_number": p.PostingNumber,
		"order_id":       p.OrderID,
		"order_number":   p.OrderNumber,
		"status":         p.Status,
		"substatus":      p.Substatus,
		"in_process_at":  p.InProcessAt.UTC().Format(time.RFC3339),
		"shipment_date":  p.InProcessAt.UTC().Add(24 * time.Hour).Format(time.RFC3339),
		"delivery_method": map[string]any{
			"warehouse_id": p.WarehouseID,
		},
		"tracking_number":      "",
		"tpl_integration_type": "ozon",
		"delivering_date":      nil,
		"cancellation":         map[string]any{"cancel_reason_id": 0, "cancel_reason": "", "cancellation_type": "", "cancelled_after_ship": false},
		"products":             products,
		"is_express":           false,
	}
}

// rejectOrderRequest responds with 400 to a posting list request that
// passed the spec's schema but that the method's description forbids.
func (s *Server) rejectOrderRequest(w http.ResponseWriter, message string) {
	s.count(func(st *Stats) { st.ValidationFailures++ })
	s.cfg.Logger.Warn("ozonsim: posting list request rejected", slog.String("reason", message))
	writeJSON(w, http.StatusBadRequest, rpcStatus{Code: 3, Message: message, Details: []any{}})
}

// admitOrderRequest counts, validates, authenticates and rate-limits a
// posting list request and returns its body. On false it has written the
// response.
func (s *Server) admitOrderRequest(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	s.count(func(st *Stats) { st.Requests++ })
	o := s.orders()
	o.mu.Lock()
	o.stats.ListRequests++
	o.mu.Unlock()

	raw, err := io.ReadAll(r.Body)
	if err != nil {
		s.count(func(st *Stats) { st.AbortedRequests++ })
		return nil, false
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))

	if err := s.validate(r); err != nil {
		s.count(func(st *Stats) { st.ValidationFailures++ })
		s.cfg.Logger.Warn("ozonsim: request rejected by spec", slog.Any("error", err))
		writeJSON(w, http.StatusBadRequest, rpcStatus{Code: 3, Message: err.Error(), Details: []any{}})
		return nil, false
	}
	if r.Header.Get("Client-Id") != s.cfg.ClientID || r.Header.Get("Api-Key") != s.cfg.APIKey {
		s.count(func(st *Stats) { st.AuthFailures++ })
		writeJSON(w, http.StatusForbidden, rpcStatus{Code: 7, Message: "Invalid Api-Key, please check the key and try again", Details: []any{}})
		return nil, false
	}

	if !o.limiter.AllowN(s.cfg.Clock.Now(), 1) {
		o.mu.Lock()
		o.stats.RateViolations++
		o.mu.Unlock()
		s.count(func(st *Stats) { st.RateViolations++ })
		if !s.cfg.ObserveRateOnly {
			s.count(func(st *Stats) { st.TooManyRequests++ })
			writeJSON(w, http.StatusTooManyRequests, rpcStatus{Code: 8, Message: "You have reached request rate limit per second", Details: []any{}})
			return nil, false
		}
	}

	o.mu.Lock()
	o.served++
	fail := o.failStatus != 0 && o.served > o.failAfter
	status := o.failStatus
	if fail {
		o.stats.InjectedFailures++
	}
	o.mu.Unlock()
	if fail {
		writeJSON(w, status, rpcStatus{Code: 13, Message: "injected failure: " + http.StatusText(status), Details: []any{}})
		return nil, false
	}
	return raw, true
}

package wbsim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
	"weak"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"golang.org/x/time/rate"

	"obmenhub/e2e/testdata"
)

// Limits of the FBS assembly order methods, from the Wildberries orders
// spec (03-orders-fbs.yaml, about March 2026).
const (
	// OrdersRequestsPerMinute and OrdersBurst are the limit per seller
	// account shared by the methods of assembly orders, supplies and
	// passes. It is separate from the limit of the stock methods.
	OrdersRequestsPerMinute = 300
	OrdersBurst             = 20
	// MaxOrdersPeriod is the longest dateFrom to dateTo period of
	// GET /api/v3/orders, and its default lookback when dateFrom is absent.
	MaxOrdersPeriod = 30 * 24 * time.Hour
)

// ordersSpecFile is the spec of the orders methods under
// <testdata>/openapi. The vendorspec package loads only the products spec.
const ordersSpecFile = "wildberries__03-orders-fbs.yaml"

// AssemblyOrder is one FBS assembly order of the simulated account,
// shaped as the spec's Order schema. The statuses are returned only by
// POST /api/v3/orders/status.
type AssemblyOrder struct {
	ID                    int64     `json:"id"`
	OrderUID              string    `json:"orderUid"`
	Rid                   string    `json:"rid"`
	Article               string    `json:"article"`
	CreatedAt             time.Time `json:"createdAt"`
	WarehouseID           int64     `json:"warehouseId"`
	OfficeID              int64     `json:"officeId"`
	NmID                  int64     `json:"nmId"`
	ChrtID                int64     `json:"chrtId"`
	Skus                  []string  `json:"skus"`
	Offices               []string  `json:"offices"`
	Price                 int64     `json:"price"`
	ConvertedPrice        int64     `json:"convertedPrice"`
	CurrencyCode          int       `json:"currencyCode"`
	ConvertedCurrencyCode int       `json:"convertedCurrencyCode"`
	DeliveryType          string    `json:"deliveryType"`
	CargoType             int       `json:"cargoType"`

	// SupplierStatus is the seller's status: new, confirm, complete or
	// cancel. Default new.
	SupplierStatus string `json:"-"`
	// WbStatus is Wildberries' status, such as waiting or
	// canceled_by_client. Default waiting.
	WbStatus string `json:"-"`
}

// OrderStats are the counters of the assembly order methods. Their
// requests are also counted in Stats.Requests, and rejected ones in
// Stats.ValidationFailures, Stats.AuthFailures and Stats.RateViolations.
type OrderStats struct {
	// ListRequests is the number of GET /api/v3/orders requests.
	ListRequests int
	// NewRequests is the number of GET /api/v3/orders/new requests.
	NewRequests int
	// StatusRequests is the number of POST /api/v3/orders/status requests.
	StatusRequests int
	// RateViolations is the number of requests over the orders methods'
	// limit, whether rejected with 429 or let through.
	RateViolations int
	// InjectedFailures is the number of responses sent by FailOrdersAfter.
	InjectedFailures int
}

// orderState is the assembly orders of one Server.
type orderState struct {
	limiter *rate.Limiter

	mu         sync.Mutex
	orders     map[int64]*AssemblyOrder
	served     int // requests that passed auth, the limit and validation
	failAfter  int
	failStatus int // 0 when no failure is injected
	stats      OrderStats
}

// orderStates maps each Server to its orders, as catalogs does.
// TODO: make the orders a field of Server.
var orderStates sync.Map // weak.Pointer[Server] -> *orderState

func (s *Server) orders() *orderState {
	key := weak.Make(s)
	if v, ok := orderStates.Load(key); ok {
		return v.(*orderState)
	}
	fresh := &orderState{
		limiter: rate.NewLimiter(rate.Limit(OrdersRequestsPerMinute/60.0), OrdersBurst),
		orders:  map[int64]*AssemblyOrder{},
	}
	v, loaded := orderStates.LoadOrStore(key, fresh)
	if !loaded {
		runtime.AddCleanup(s, func(k weak.Pointer[Server]) { orderStates.Delete(k) }, key)
	}
	return v.(*orderState)
}

// AddOrder adds an assembly order, or replaces the one with the same id.
// It returns an error when the id is not positive.
func (s *Server) AddOrder(o AssemblyOrder) error {
	if o.ID <= 0 {
		return fmt.Errorf("wbsim: assembly order id %d must be positive", o.ID)
	}
	if o.SupplierStatus == "" {
		o.SupplierStatus = "new"
	}
	if o.WbStatus == "" {
		o.WbStatus = "waiting"
	}
	if o.DeliveryType == "" {
		o.DeliveryType = "fbs"
	}
	o.Skus = append([]string{}, o.Skus...)
	o.Offices = append([]string{}, o.Offices...)
	state := s.orders()
	state.mu.Lock()
	defer state.mu.Unlock()
	state.orders[o.ID] = &o
	return nil
}

// SetOrderStatus sets both statuses of an assembly order. It returns an
// error when the order is unknown.
func (s *Server) SetOrderStatus(id int64, supplierStatus, wbStatus string) error {
	state := s.orders()
	state.mu.Lock()
	defer state.mu.Unlock()
	o, ok := state.orders[id]
	if !ok {
		return fmt.Errorf("wbsim: assembly order %d not found", id)
	}
	o.SupplierStatus = supplierStatus
	o.WbStatus = wbStatus
	return nil
}

// FailOrdersAfter lets the next n valid requests to the order methods
// through and responds to every later one with status, until it is called
// again. Status 0 turns it off.
func (s *Server) FailOrdersAfter(n, status int) {
	state := s.orders()
	state.mu.Lock()
	defer state.mu.Unlock()
	state.served = 0
	state.failAfter = n
	state.failStatus = status
}

// OrderStats returns the counters of the assembly order methods.
func (s *Server) OrderStats() OrderStats {
	state := s.orders()
	state.mu.Lock()
	defer state.mu.Unlock()
	return state.stats
}

// handleOrderMethods registers the assembly order methods on mux.
func (s *Server) handleOrderMethods(mux *http.ServeMux) {
	mux.HandleFunc("GET /api/v3/orders", s.handleOrdersList)
	mux.HandleFunc("GET /api/v3/orders/new", s.handleNewOrders)
	mux.HandleFunc("POST /api/v3/orders/status", s.handleOrderStatuses)
}

// handleOrdersList serves GET /api/v3/orders: the orders created from
// dateFrom to dateTo (Unix seconds, both included) in id order, at most
// limit of them after the id in next. The response's next is the last id
// returned, or the request's next when none is.
func (s *Server) handleOrdersList(w http.ResponseWriter, r *http.Request) {
	now, ok := s.admitOrderRequest(w, r, func(st *OrderStats) { st.ListRequests++ })
	if !ok {
		return
	}
	query := r.URL.Query()
	limit, _ := strconv.Atoi(query.Get("limit"))
	next, _ := strconv.ParseInt(query.Get("next"), 10, 64)
	dateFrom := now.Add(-MaxOrdersPeriod).Unix()
	dateTo := now.Unix()
	if text := query.Get("dateFrom"); text != "" {
		dateFrom, _ = strconv.ParseInt(text, 10, 64)
	}
	if text := query.Get("dateTo"); text != "" {
		dateTo, _ = strconv.ParseInt(text, 10, 64)
	}
	if dateTo < dateFrom || dateTo-dateFrom > int64(MaxOrdersPeriod/time.Second) {
		s.rejectOrderRequest(w, fmt.Sprintf("dateFrom %d to dateTo %d is not a period of at most 30 days", dateFrom, dateTo))
		return
	}

	state := s.orders()
	state.mu.Lock()
	var matching []AssemblyOrder
	for _, o := range state.orders {
		created := o.CreatedAt.Unix()
		if o.ID > next && created >= dateFrom && created <= dateTo {
			matching = append(matching, *o)
		}
	}
	state.mu.Unlock()
	slices.SortFunc(matching, func(a, b AssemblyOrder) int { return cmp.Compare(a.ID, b.ID) })

	page := matching[:min(limit, len(matching))]
	responseNext := next
	if len(page) > 0 {
		responseNext = page[len(page)-1].ID
	}
	writeJSON(w, http.StatusOK, "application/json", map[string]any{"next": responseNext, "orders": ordersResponse(page)})
}

// handleNewOrders serves GET /api/v3/orders/new: every order with
// supplierStatus new and wbStatus waiting, whenever it was created.
func (s *Server) handleNewOrders(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.admitOrderRequest(w, r, func(st *OrderStats) { st.NewRequests++ }); !ok {
		return
	}
	state := s.orders()
	state.mu.Lock()
	var fresh []AssemblyOrder
	for _, o := range state.orders {
		if o.SupplierStatus == "new" && o.WbStatus == "waiting" {
			fresh = append(fresh, *o)
		}
	}
	state.mu.Unlock()
	slices.SortFunc(fresh, func(a, b AssemblyOrder) int { return cmp.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, "application/json", map[string]any{"orders": ordersResponse(fresh)})
}

// handleOrderStatuses serves POST /api/v3/orders/status: the statuses of
// the known ids of the request; unknown ids are left out.
func (s *Server) handleOrderStatuses(w http.ResponseWriter, r *http.Request) {
	if _, ok := s.admitOrderRequest(w, r, func(st *OrderStats) { st.StatusRequests++ }); !ok {
		return
	}
	var body struct {
		Orders []int64 `json:"orders"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		s.rejectOrderRequest(w, "invalid JSON body: "+err.Error())
		return
	}
	type statusItem struct {
		ID             int64  `json:"id"`
		SupplierStatus string `json:"supplierStatus"`
		WbStatus       string `json:"wbStatus"`
	}
	out := []statusItem{}
	state := s.orders()
	state.mu.Lock()
	for _, id := range body.Orders {
		if o, ok := state.orders[id]; ok {
			out = append(out, statusItem{ID: id, SupplierStatus: o.SupplierStatus, WbStatus: o.WbStatus})
		}
	}
	state.mu.Unlock()
	writeJSON(w, http.StatusOK, "application/json", map[string]any{"orders": out})
}

func ordersResponse(orders []AssemblyOrder) []AssemblyOrder {
	if orders == nil {
		return []AssemblyOrder{}
	}
	return orders
}

// admitOrderRequest counts, authenticates, rate-limits and validates a
// request to an order method and returns the time it arrived. On false it
// has written the response.
func (s *Server) admitOrderRequest(w http.ResponseWriter, r *http.Request, countMethod func(*OrderStats)) (time.Time, bool) {
	s.count(func(st *Stats) { st.Requests++ })
	state := s.orders()
	state.mu.Lock()
	countMethod(&state.stats)
	state.mu.Unlock()
	now := s.cfg.Clock.Now()

	if r.Header.Get("Authorization") != s.cfg.Token {
		s.count(func(st *Stats) { st.AuthFailures++ })
		writeJSON(w, http.StatusUnauthorized, "application/problem+json", s.problem(http.StatusUnauthorized, "unauthorized", "token problem; token is invalid", now))
		return now, false
	}
	countViolation := func(*Stats) {
		state.mu.Lock()
		state.stats.RateViolations++
		state.mu.Unlock()
	}
	if !s.admitRateOn(w, now, state.limiter, countViolation) {
		return now, false
	}

	raw, err := io.ReadAll(r.Body)
	if err != nil {
		s.count(func(st *Stats) { st.AbortedRequests++ })
		return now, false
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))
	if err := validateOrderRequest(r); err != nil {
		s.count(func(st *Stats) { st.ValidationFailures++ })
		s.cfg.Logger.Warn("wbsim: order request rejected by spec", slog.Any("error", err))
		writeJSON(w, http.StatusBadRequest, "application/json", apiError{Code: "IncorrectParameter", Message: err.Error()})
		return now, false
	}
	r.Body = io.NopCloser(bytes.NewReader(raw))

	state.mu.Lock()
	state.served++
	fail := state.failStatus != 0 && state.served > state.failAfter
	status := state.failStatus
	if fail {
		state.stats.InjectedFailures++
	}
	state.mu.Unlock()
	if fail {
		writeJSON(w, status, "application/json", apiError{Code: "InjectedFailure", Message: "injected failure: " + http.StatusText(status)})
		return now, false
	}
	return now, true
}

// rejectOrderRequest responds with 400 to a request that passed the
// spec's schema but that the method's description forbids.
func (s *Server) rejectOrderRequest(w http.ResponseWriter, message string) {
	s.count(func(st *Stats) { st.ValidationFailures++ })
	s.cfg.Logger.Warn("wbsim: order request rejected", slog.String("reason", message))
	writeJSON(w, http.StatusBadRequest, "application/json", apiError{Code: "IncorrectParameter", Message: message})
}

// ordersSpec is the loaded orders spec, or the error of loading it. It is
// loaded once per process.
var ordersSpec = sync.OnceValues(loadOrdersSpec)

// validateOrderRequest checks r against the orders spec. A missing spec
// fails every request, as a missing products spec fails Start.
func validateOrderRequest(r *http.Request) error {
	router, err := ordersSpec()
	if err != nil {
		return err
	}
	route, pathParams, err := router.FindRoute(r)
	if err != nil {
		return fmt.Errorf("wildberries orders spec: no operation for %s %s: %w", r.Method, r.URL.Path, err)
	}
	input := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: pathParams,
		Route:      route,
		Options: &openapi3filter.Options{
			MultiError: true,
			AuthenticationFunc: func(_ context.Context, in *openapi3filter.AuthenticationInput) error {
				scheme := in.SecurityScheme
				if scheme != nil && scheme.Type == "apiKey" && scheme.In == "header" && r.Header.Get(scheme.Name) == "" {
					return fmt.Errorf("missing header %s", scheme.Name)
				}
				return nil
			},
		},
	}
	if err := openapi3filter.ValidateRequest(context.Background(), input); err != nil {
		return fmt.Errorf("wildberries orders spec: invalid request %s %s: %w", r.Method, r.URL.Path, err)
	}
	return nil
}

// loadOrdersSpec loads the orders spec and builds a router that matches
// requests by method and path alone, with every servers list dropped.
func loadOrdersSpec() (routers.Router, error) {
	dir, err := testdata.Dir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "openapi", ordersSpecFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("wbsim: read orders spec: %w", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		return nil, fmt.Errorf("wbsim: load %s: %w", path, err)
	}
	doc.Servers = nil
	for _, item := range doc.Paths.Map() {
		item.Servers = nil
		for _, op := range item.Operations() {
			op.Servers = nil
		}
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, errors.Join(fmt.Errorf("wbsim: build router for %s", path), err)
	}
	return router, nil
}

package insalessim

import (
	"cmp"
	"fmt"
	"log/slog"
	"net/http"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"
	"weak"
)

// Paging of GET /admin/orders.json. NOTE: the InSales reference states no
// maximum; these are the values of the products list.
const (
	MaxOrdersPerPage     = MaxProductsPerPage
	DefaultOrdersPerPage = DefaultProductsPerPage
)

// moscow is the zone in which the simulator writes times, as a Russian
// shop does, so that clients must convert them to UTC.
var moscow = time.FixedZone("MSK", 3*60*60)

// orderTimeLayout is the layout of the order's times in responses.
const orderTimeLayout = "2006-01-02T15:04:05.000-07:00"

// Order is one order of the simulated shop, with the fields the orders
// list returns.
type Order struct {
	ID     int64
	Number int64
	// CreatedAt and UpdatedAt are kept to the millisecond, the precision
	// of the responses.
	CreatedAt time.Time
	UpdatedAt time.Time
	// FulfillmentStatus is the order's status, such as "new",
	// "approved", "dispatched", "delivered" or "declined".
	FulfillmentStatus string
	FinancialStatus   string
	Lines             []OrderLine
}

// OrderLine is one line of an Order.
type OrderLine struct {
	ID int64
	// VariantID is the variant ordered; 0 is sent as null, as for a
	// deleted variant.
	VariantID int64
	ProductID int64
	Quantity  int64
	// SalePrice is the unit price as the shop writes it, such as "740.0".
	SalePrice string
	Title     string
	SKU       string
}

// OrderStats are the counters of the orders list. Its requests are also
// counted in Stats.Requests and against the shop's limit.
type OrderStats struct {
	// Requests is the number of GET /admin/orders.json requests.
	Requests int
	// InjectedFailures is the number of responses sent by FailOrdersAfter.
	InjectedFailures int
}

// orderState is the orders of one Server.
type orderState struct {
	mu         sync.Mutex
	orders     map[int64]*Order
	served     int // requests that passed auth and the limit
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
	v, loaded := orderStates.LoadOrStore(key, &orderState{orders: map[int64]*Order{}})
	if !loaded {
		runtime.AddCleanup(s, func(k weak.Pointer[Server]) { orderStates.Delete(k) }, key)
	}
	return v.(*orderState)
}

// AddOrder adds an order, or replaces the one with the same id. A zero
// UpdatedAt is CreatedAt. It returns an error when the id is not positive.
func (s *Server) AddOrder(o Order) error {
	if o.ID <= 0 {
		return fmt.Errorf("insalessim: order id %d must be positive", o.ID)
	}
	if o.UpdatedAt.IsZero() {
		o.UpdatedAt = o.CreatedAt
	}
	o.CreatedAt = o.CreatedAt.Truncate(time.Millisecond)
	o.UpdatedAt = o.UpdatedAt.Truncate(time.Millisecond)
	o.Lines = slices.Clone(o.Lines)
	state := s.orders()
	state.mu.Lock()
	defer state.mu.Unlock()
	state.orders[o.ID] = &o
	return nil
}

// SetOrderStatus sets the fulfillment status of an order and its
// updated_at. It returns an error when the order is unknown.
func (s *Server) SetOrderStatus(id int64, fulfillmentStatus string, at time.Time) error {
	state := s.orders()
	state.mu.Lock()
	defer state.mu.Unlock()
	o, ok := state.orders[id]
	if !ok {
		return fmt.Errorf("insalessim: order %d not found", id)
	}
	o.FulfillmentStatus = fulfillmentStatus
	o.UpdatedAt = at.Truncate(time.Millisecond)
	return nil
}

// FailOrdersAfter lets the next n authenticated orders list requests
// within the limit through and responds to every later one with status,
// until it is called again. Status 0 turns it off.
func (s *Server) FailOrdersAfter(n, status int) {
	state := s.orders()
	state.mu.Lock()
	defer state.mu.Unlock()
	state.served = 0
	state.failAfter = n
	state.failStatus = status
}

// OrderStats returns the counters of the orders list.
func (s *Server) OrderStats() OrderStats {
	state := s.orders()
	state.mu.Lock()
	defer state.mu.Unlock()
	return state.stats
}

// ordersQuery is the parsed query of an orders list request.
type ordersQuery struct {
	page, perPage int
	updatedSince  *time.Time
	fromID        int64
}

// handleOrderList serves GET /admin/orders.json as the InSales guide
// "Получение только изменившихся данных" describes it: with updated_since,
// the orders whose updated_at is at or after it, sorted by updated_at and
// id, leaving out those with updated_at equal to it and id up to from_id.
// Without updated_since, every order in id order. page and per_page then
// select a page.
func (s *Server) handleOrderList(w http.ResponseWriter, r *http.Request) {
	s.count(func(st *Stats) { st.Requests++ })
	state := s.orders()
	state.mu.Lock()
	state.stats.Requests++
	state.mu.Unlock()
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
	if status, fail := state.takeFailure(); fail {
		s.writeUsage(w)
		writeJSON(w, status, errorBody{Errors: []string{"injected failure: " + http.StatusText(status)}})
		return
	}

	query, err := parseOrdersQuery(r)
	if err != nil {
		s.count(func(st *Stats) { st.ValidationFailures++ })
		s.cfg.Logger.Warn("insalessim: invalid orders list rejected", slog.Any("error", err))
		s.writeUsage(w)
		writeJSON(w, http.StatusBadRequest, errorBody{Errors: []string{err.Error()}})
		return
	}

	matching := state.selectOrders(query)
	out := []map[string]any{}
	start := (query.page - 1) * query.perPage
	for i := start; i < len(matching) && i < start+query.perPage; i++ {
		out = append(out, orderResponse(matching[i]))
	}
	s.writeUsage(w)
	writeJSON(w, http.StatusOK, out)
}

func (o *orderState) takeFailure() (status int, fail bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.served++
	if o.failStatus == 0 || o.served <= o.failAfter {
		return 0, false
	}
	o.stats.InjectedFailures++
	return o.failStatus, true
}

// selectOrders returns copies of the orders that query selects, in the
// list's order.
func (o *orderState) selectOrders(query ordersQuery) []Order {
	o.mu.Lock()
	var matching []Order
	for _, order := range o.orders {
		if since := query.updatedSince; since != nil {
			if order.UpdatedAt.Before(*since) || (order.UpdatedAt.Equal(*since) && order.ID <= query.fromID) {
				continue
			}
		}
		matching = append(matching, *order)
	}
	o.mu.Unlock()

	slices.SortFunc(matching, func(a, b Order) int {
		if query.updatedSince != nil {
			if c := a.UpdatedAt.Compare(b.UpdatedAt); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return matching
}

// parseOrdersQuery reads page, per_page, updated_since and from_id. Other
// parameters are not simulated and rejected, so that a test cannot pass on
// a filter the server ignored. updated_since takes RFC 3339 and the
// "2006-01-02 15:04:05 -07:00" form of the InSales guide.
func parseOrdersQuery(r *http.Request) (ordersQuery, error) {
	values := r.URL.Query()
	for key := range values {
		switch key {
		case "page", "per_page", "updated_since", "from_id":
		default:
			return ordersQuery{}, fmt.Errorf("query parameter %q is not simulated; only page, per_page, updated_since and from_id are", key)
		}
	}
	query := ordersQuery{page: 1, perPage: DefaultOrdersPerPage}
	var err error
	if text := values.Get("page"); text != "" {
		if query.page, err = strconv.Atoi(text); err != nil || query.page < 1 {
			return ordersQuery{}, fmt.Errorf("page is %q, expected an integer from 1", text)
		}
	}
	if text := values.Get("per_page"); text != "" {
		if query.perPage, err = strconv.Atoi(text); err != nil || query.perPage < 1 || query.perPage > MaxOrdersPerPage {
			return ordersQuery{}, fmt.Errorf("per_page is %q, expected an integer from 1 to %d", text, MaxOrdersPerPage)
		}
	}
	if text := values.Get("updated_since"); text != "" {
		since, err := time.Parse(time.RFC3339Nano, text)
		if err != nil {
			if since, err = time.Parse("2006-01-02 15:04:05 -07:00", text); err != nil {
				return ordersQuery{}, fmt.Errorf("updated_since is %q, expected a time such as 2017-09-04T00:00:00Z", text)
			}
		}
		query.updatedSince = &since
	}
	if text := values.Get("from_id"); text != "" {
		if query.fromID, err = strconv.ParseInt(text, 10, 64); err != nil || query.fromID < 0 {
			return ordersQuery{}, fmt.Errorf("from_id is %q, expected an order id", text)
		}
	}
	return query, nil
}

// orderResponse shapes o as the orders list returns it, with times in
// the shop's zone and decimals as strings.
func orderResponse(o Order) map[string]any {
	lines := make([]map[string]any, len(o.Lines))
	for i, line := range o.Lines {
		var variantID any
		if line.VariantID != 0 {
			variantID = line.VariantID
		}
		lines[i] = map[string]any{
			"id": line.ID, "order_id": o.ID, "variant_id": variantID, "product_id": line.ProductID,
			"quantity": line.Quantity, "sale_price": line.SalePrice, "title": line.Title, "sku": line.SKU,
			"created_at": o.CreatedAt.In(moscow).Format(orderTimeLayout),
			"updated_at": o.CreatedAt.In(moscow).Format(orderTimeLayout),
		}
	}
	return map[string]any{
		"id":                 o.ID,
		"number":             o.Number,
		"created_at":         o.CreatedAt.In(moscow).Format(orderTimeLayout),
		"updated_at":         o.UpdatedAt.In(moscow).Format(orderTimeLayout),
		"fulfillment_status": o.FulfillmentStatus,
		"financial_status":   o.FinancialStatus,
		"order_lines":        lines,
	}
}

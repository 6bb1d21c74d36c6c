package wildberries

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"time"
	"weak"

	"github.com/govalues/decimal"

	"obmenhub/adapters"
	"obmenhub/adapters/httpx"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

// Limits of the FBS assembly order methods, from the Wildberries orders
// spec (03-orders-fbs.yaml, about March 2026).
const (
	// OrdersPageSize is the limit sent to GET /api/v3/orders, the
	// parameter's maximum.
	OrdersPageSize = 1000
	// MaxOrdersPeriod is the longest dateFrom to dateTo period of one
	// GET /api/v3/orders request: 30 days.
	MaxOrdersPeriod = 30 * 24 * time.Hour
	// MaxOrderStatusIDs is the maxItems of the orders array of
	// POST /api/v3/orders/status.
	MaxOrderStatusIDs = 1000
	// OrdersRequestsPerMinute and OrdersBurst are the limit per seller
	// account shared by the methods of assembly orders, supplies and
	// passes: 300 requests per minute with a burst of 20. It is separate
	// from the limit of the stock methods.
	OrdersRequestsPerMinute = 300
	OrdersBurst             = 20
	// OrderStatusLookback is how long before since FetchOrders reads
	// orders again to see their status changes, because Wildberries gives
	// an order no time of change. NOTE: 14 days is an estimate of how
	// long an FBS order can still be cancelled before it ships. A
	// cancellation of an older order is not seen.
	OrderStatusLookback = 14 * 24 * time.Hour

	ordersPath      = "/api/v3/orders"
	newOrdersPath   = "/api/v3/orders/new"
	orderStatusPath = "/api/v3/orders/status"
)

var _ adapters.OrderSource = (*Adapter)(nil)

// assemblyOrder is the part of the spec's Order and OrderNew schemas that
// the adapter reads.
type assemblyOrder struct {
	ID                    int64     `json:"id"`
	CreatedAt             time.Time `json:"createdAt"`
	WarehouseID           int64     `json:"warehouseId"`
	ChrtID                int64     `json:"chrtId"`
	ConvertedPrice        int64     `json:"convertedPrice"`
	ConvertedCurrencyCode int       `json:"convertedCurrencyCode"`
}

type ordersPageResponse struct {
	Next   int64           `json:"next"`
	Orders []assemblyOrder `json:"orders"`
}

type orderStatus struct {
	ID             int64  `json:"id"`
	SupplierStatus string `json:"supplierStatus"`
	WbStatus       string `json:"wbStatus"`
}

// ordersState is the orders part of one Adapter: the client with the
// orders methods' rate limiter, and the last status seen of each order.
type ordersState struct {
	client *httpx.Client
	err    error

	mu   sync.Mutex
	seen map[int64]seenStatus
}

// seenStatus is the status of an order when the adapter last read it and
// the time of the change, which the adapter estimates (see FetchOrders).
type seenStatus struct {
	status    string // supplierStatus/wbStatus
	changedAt time.Time
	createdAt time.Time
}

// orderStates maps each Adapter to its orders state. The key is a weak
// pointer, and a cleanup removes the entry once the Adapter is garbage.
// TODO: make the orders state a field of Adapter.
var (
	orderStatesMu sync.Mutex
	orderStates   = map[weak.Pointer[Adapter]]*ordersState{}
)

func (a *Adapter) orders() *ordersState {
	key := weak.Make(a)
	orderStatesMu.Lock()
	defer orderStatesMu.Unlock()
	if state, ok := orderStates[key]; ok {
		return state
	}
	state := &ordersState{seen: map[int64]seenStatus{}}
	state.client, state.err = httpx.New(httpx.Config{
		Channel:       "wildberries",
		BaseURL:       a.cfg.BaseURL,
		Timeout:       a.cfg.Timeout,
		RatePerSecond: OrdersRequestsPerMinute / 60.0,
		Burst:         OrdersBurst,
		Policy:        a.cfg.Policy,
		Breaker:       a.cfg.Breaker,
		Clock:         a.cfg.Clock,
		Logger:        a.cfg.Logger.With(slog.String("api", "orders")),
		Headers:       withUserAgent(map[string]string{"Authorization": a.cfg.Token}, a.cfg.UserAgent),
		Transport:     a.cfg.Transport,
	})
	orderStates[key] = state
	runtime.AddCleanup(a, func(k weak.Pointer[Adapter]) {
		orderStatesMu.Lock()
		delete(orderStates, k)
		orderStatesMu.Unlock()
	}, key)
	return state
}

// FetchOrders reads the FBS assembly orders of the adapter's warehouse
// that were created or changed status at or after since. ExternalID of an
// order is the assembly order id, and its one line is the chrtId with
// quantity 1 and the price in the seller's currency (convertedPrice / 100).
//
// It reads GET /api/v3/orders from OrderStatusLookback before since until
// now, in periods of at most 30 days and pages of 1000 following next,
// adds GET /api/v3/orders/new, and reads the status of every order with
// POST /api/v3/orders/status, 1000 ids per request.
//
// Wildberries gives no time of a status change, so the adapter keeps the
// last status it saw of each order in memory. UpdatedAt is createdAt while
// the order is in its first status (new, waiting), and otherwise the time
// of the call in which the adapter first saw the current status. An order
// is returned when that time is at or after since. After a restart, every
// order of the lookback period past its first status is returned once
// more, which the hub drops as repeats.
//
// The requests wait on a rate limiter of the orders methods' 300 requests
// per minute (burst 20) that every call of this Adapter shares. An error
// wraps the retry class of the failed request, and orders already read
// are dropped.
func (a *Adapter) FetchOrders(ctx context.Context, since time.Time) ([]adapters.Order, error) {
	state := a.orders()
	if state.err != nil {
		return nil, retry.Permanent(fmt.Errorf("wildberries: orders client: %w", state.err))
	}
	now := a.cfg.Clock.Now().UTC()
	since = since.UTC()
	from := since.Add(-OrderStatusLookback)

	byID, err := a.readAssemblyOrders(ctx, state.client, from, now)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(byID))
	for id, o := range byID {
		if o.WarehouseID != a.cfg.WarehouseID {
			delete(byID, id)
			continue
		}
		ids = append(ids, id)
	}
	statuses, err := a.readOrderStatuses(ctx, state.client, ids)
	if err != nil {
		return nil, err
	}

	state.mu.Lock()
	defer state.mu.Unlock()
	orders := []adapters.Order{}
	for _, id := range ids {
		o := byID[id]
		st, found := statuses[id]
		if !found {
			a.cfg.Logger.Warn("wildberries status response is missing an assembly order; treating it as new, so it keeps its stock reserved",
				slog.Int64("order_id", id))
			st = orderStatus{ID: id, SupplierStatus: "new", WbStatus: "waiting"}
		}
		changedAt := state.observe(o, st, now)
		if changedAt.Before(since) {
			continue
		}
		orders = append(orders, a.assemblyOrderOf(o, st, changedAt))
	}
	state.forgetBefore(from)
	return orders, nil
}

// observe records the status of o and returns the estimated time of its
// last change. Call with s.mu held.
func (s *ordersState) observe(o assemblyOrder, st orderStatus, now time.Time) time.Time {
	key := st.SupplierStatus + "/" + st.WbStatus
	createdAt := o.CreatedAt.UTC()
	prev, known := s.seen[o.ID]
	var changedAt time.Time
	switch {
	case st.SupplierStatus == "new" && st.WbStatus == "waiting":
		changedAt = createdAt
	case known && prev.status == key:
		changedAt = prev.changedAt
	default:
		changedAt = now
	}
	s.seen[o.ID] = seenStatus{status: key, changedAt: changedAt, createdAt: createdAt}
	return changedAt
}

// forgetBefore drops the orders created before t, which later calls no
// longer read. Call with s.mu held.
func (s *ordersState) forgetBefore(t time.Time) {
	for id, seen := range s.seen {
		if seen.createdAt.Before(t) {
			delete(s.seen, id)
		}
	}
}

// readAssemblyOrders returns the orders created from from to to and the
// new ones, by id. The period is taken in whole Unix seconds, rounded
// outwards, and read in parts of at most MaxOrdersPeriod.
func (a *Adapter) readAssemblyOrders(ctx context.Context, client *httpx.Client, from, to time.Time) (map[int64]assemblyOrder, error) {
	byID := map[int64]assemblyOrder{}
	first := from.Unix()
	last := to.Unix()
	if to.After(time.Unix(last, 0)) {
		last++
	}
	maxSeconds := int64(MaxOrdersPeriod / time.Second)
	for dateFrom := first; dateFrom < last; dateFrom += maxSeconds {
		dateTo := min(dateFrom+maxSeconds, last)
		if err := a.readOrdersPeriod(ctx, client, dateFrom, dateTo, byID); err != nil {
			return nil, err
		}
	}

	resp, err := client.Do(ctx, httpx.Request{Method: http.MethodGet, Path: newOrdersPath})
	if err != nil {
		return nil, fmt.Errorf("wildberries: list new assembly orders: %w", err)
	}
	var fresh struct {
		Orders []assemblyOrder `json:"orders"`
	}
	if err := json.Unmarshal(resp.Body, &fresh); err != nil {
		return nil, retry.Retriable(fmt.Errorf("wildberries: decode response of %s: %w", newOrdersPath, err))
	}
	for _, o := range fresh.Orders {
		byID[o.ID] = o
	}
	return byID, nil
}

// readOrdersPeriod reads every page of GET /api/v3/orders for one period,
// in Unix seconds, into byID.
func (a *Adapter) readOrdersPeriod(ctx context.Context, client *httpx.Client, dateFrom, dateTo int64, byID map[int64]assemblyOrder) error {
	var next int64
	for page := 1; ; page++ {
		query := url.Values{}
		query.Set("limit", strconv.Itoa(OrdersPageSize))
		query.Set("next", strconv.FormatInt(next, 10))
		query.Set("dateFrom", strconv.FormatInt(dateFrom, 10))
		query.Set("dateTo", strconv.FormatInt(dateTo, 10))
		resp, err := client.Do(ctx, httpx.Request{
			Method:   http.MethodGet,
			Path:     ordersPath + "?" + query.Encode(),
			LogAttrs: []slog.Attr{slog.Int("page", page), slog.Int64("date_from", dateFrom), slog.Int64("date_to", dateTo)},
		})
		if err != nil {
			return fmt.Errorf("wildberries: list assembly orders from %d to %d, page %d: %w", dateFrom, dateTo, page, err)
		}
		var list ordersPageResponse
		if err := json.Unmarshal(resp.Body, &list); err != nil {
			return retry.Retriable(fmt.Errorf("wildberries: decode response of %s, page %d: %w", ordersPath, page, err))
		}
		for _, o := range list.Orders {
			byID[o.ID] = o
		}
		if len(list.Orders) < OrdersPageSize {
			return nil
		}
		if list.Next == next {
			return retry.Retriable(fmt.Errorf("wildberries: %s returned next %d again on page %d; the listing would not end", ordersPath, next, page))
		}
		next = list.Next
	}
}

// readOrderStatuses returns the status of each of ids that Wildberries
// reports, by id.
func (a *Adapter) readOrderStatuses(ctx context.Context, client *httpx.Client, ids []int64) (map[int64]orderStatus, error) {
	statuses := make(map[int64]orderStatus, len(ids))
	for start := 0; start < len(ids); start += MaxOrderStatusIDs {
		chunk := ids[start:min(start+MaxOrderStatusIDs, len(ids))]
		resp, err := client.Do(ctx, httpx.Request{
			Method:   http.MethodPost,
			Path:     orderStatusPath,
			Body:     map[string][]int64{"orders": chunk},
			LogAttrs: []slog.Attr{slog.Int("orders", len(chunk))},
		})
		if err != nil {
			return nil, fmt.Errorf("wildberries: read status of %d assembly orders: %w", len(chunk), err)
		}
		var answer struct {
			Orders []orderStatus `json:"orders"`
		}
		if err := json.Unmarshal(resp.Body, &answer); err != nil {
			return nil, retry.Retriable(fmt.Errorf("wildberries: decode response of %s: %w", orderStatusPath, err))
		}
		for _, st := range answer.Orders {
			statuses[st.ID] = st
		}
	}
	return statuses, nil
}

func (a *Adapter) assemblyOrderOf(o assemblyOrder, st orderStatus, changedAt time.Time) adapters.Order {
	price, err := decimal.New(o.ConvertedPrice, 2)
	if err != nil {
		a.cfg.Logger.Warn("wildberries assembly order has a price out of range; the line is kept with price 0",
			slog.Int64("order_id", o.ID), slog.Int64("converted_price", o.ConvertedPrice))
	}
	currency, known := isoCurrencies[o.ConvertedCurrencyCode]
	if !known && o.ConvertedCurrencyCode != 0 {
		a.cfg.Logger.Warn("wildberries assembly order has an unknown currency code; the order's currency is left empty",
			slog.Int64("order_id", o.ID), slog.Int("converted_currency_code", o.ConvertedCurrencyCode))
	}
	return adapters.Order{
		ExternalID:   strconv.FormatInt(o.ID, 10),
		Status:       assemblyOrderStatus(st),
		VendorStatus: st.SupplierStatus + "/" + st.WbStatus,
		Currency:     currency,
		CreatedAt:    o.CreatedAt.UTC(),
		UpdatedAt:    changedAt,
		Lines: []adapters.OrderLine{{
			ExternalID: strconv.FormatInt(o.ChrtID, 10),
			Qty:        1,
			Price:      model.Decimal{Decimal: price},
		}},
	}
}

// isoCurrencies maps the ISO 4217 numeric codes of the seller countries'
// currencies, which convertedCurrencyCode carries, to the letter codes.
var isoCurrencies = map[int]string{
	643: "RUB", 933: "BYN", 398: "KZT", 51: "AMD", 417: "KGS", 860: "UZS",
	972: "TJS", 981: "GEL", 944: "AZN", 156: "CNY", 840: "USD", 978: "EUR",
}

// assemblyOrderStatus maps Wildberries' two statuses onto the hub's. A
// cancellation by either side is cancelled, including canceled_by_client,
// which happens at the pickup point after shipping. Passing the order to
// delivery (supplierStatus complete) or any wbStatus after it is shipped.
// new and confirm with wbStatus waiting are new.
func assemblyOrderStatus(st orderStatus) string {
	switch st.WbStatus {
	case "canceled", "canceled_by_client", "declined_by_client", "defect":
		return adapters.OrderCancelled
	case "sorted", "sold", "ready_for_pickup", "postponed_delivery", "accepted_by_carrier", "sent_to_carrier":
		return adapters.OrderShipped
	}
	switch st.SupplierStatus {
	case "cancel":
		return adapters.OrderCancelled
	case "complete":
		return adapters.OrderShipped
	default:
		return adapters.OrderNew
	}
}

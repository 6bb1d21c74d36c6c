package wildberries_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/wildberries"
	"obmenhub/e2e/wbsim"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

var ordersNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newOrdersPair(t *testing.T) (*wildberries.Adapter, *wbsim.Server, *retry.ManualClock) {
	t.Helper()
	clock := retry.NewManualClock(ordersNow)
	sim := wbsim.NewTest(t, wbsim.Config{Clock: clock})
	a, err := wildberries.New(wildberries.Config{BaseURL: sim.URL, Token: "sim-token", WarehouseID: warehouse, Clock: clock, Policy: retry.Policy{Jitter: retry.JitterNone}})
	if err != nil {
		t.Fatal(err)
	}
	return a, sim, clock
}

func addAssemblyOrder(t *testing.T, sim *wbsim.Server, o wbsim.AssemblyOrder) {
	t.Helper()
	if o.WarehouseID == 0 {
		o.WarehouseID = warehouse
	}
	if o.ConvertedCurrencyCode == 0 {
		o.ConvertedCurrencyCode = 643
	}
	if err := sim.AddOrder(o); err != nil {
		t.Fatal(err)
	}
}

func ordersByID(t *testing.T, orders []adapters.Order) map[string]adapters.Order {
	t.Helper()
	byID := map[string]adapters.Order{}
	for _, o := range orders {
		if _, dup := byID[o.ExternalID]; dup {
			t.Errorf("order %s returned twice", o.ExternalID)
		}
		byID[o.ExternalID] = o
	}
	return byID
}

func TestFetchOrdersLinesAndStatuses(t *testing.T) {
	a, sim, _ := newOrdersPair(t)
	created := ordersNow.Add(-time.Hour)
	addAssemblyOrder(t, sim, wbsim.AssemblyOrder{ID: 101, ChrtID: 555, ConvertedPrice: 123450, CreatedAt: created})
	addAssemblyOrder(t, sim, wbsim.AssemblyOrder{ID: 102, ChrtID: 556, ConvertedPrice: 100, CreatedAt: created, SupplierStatus: "complete", WbStatus: "sorted"})
	addAssemblyOrder(t, sim, wbsim.AssemblyOrder{ID: 103, ChrtID: 557, ConvertedPrice: 100, CreatedAt: created, SupplierStatus: "new", WbStatus: "declined_by_client"})
	addAssemblyOrder(t, sim, wbsim.AssemblyOrder{ID: 104, ChrtID: 558, ConvertedPrice: 100, CreatedAt: created, WarehouseID: 9999})

	orders, err := a.FetchOrders(context.Background(), ordersNow.Add(-24*time.Hour))
	if err != nil {
		t.Fatalf("FetchOrders: %v", err)
	}
	byID := ordersByID(t, orders)
	if len(byID) != 3 {
		t.Fatalf("got %d orders, want 3 (the other warehouse's order left out): %v", len(byID), orders)
	}

	first := byID["101"]
	if first.Status != adapters.OrderNew || first.VendorStatus != "new/waiting" {
		t.Errorf("101: status %q (%q), want new (new/waiting)", first.Status, first.VendorStatus)
	}
	if first.Currency != "RUB" {
		t.Errorf("101: currency %q, want RUB", first.Currency)
	}
	if !first.CreatedAt.Equal(created) || !first.UpdatedAt.Equal(created) {
		t.Errorf("101: CreatedAt %v, UpdatedAt %v, want both %v", first.CreatedAt, first.UpdatedAt, created)
	}
	if len(first.Lines) != 1 {
		t.Fatalf("101: %d lines, want 1", len(first.Lines))
	}
	line := first.Lines[0]
	if line.ExternalID != "555" || line.Qty != 1 || line.Price.Cmp(model.MustDecimal("1234.50").Decimal) != 0 {
		t.Errorf("101 line: %+v, want chrtId 555, qty 1, price 1234.50", line)
	}
	if got := byID["102"].Status; got != adapters.OrderShipped {
		t.Errorf("102 complete/sorted: status %q, want shipped", got)
	}
	if got := byID["103"].Status; got != adapters.OrderCancelled {
		t.Errorf("103 declined_by_client: status %q, want cancelled", got)
	}
	if got := sim.Stats().ValidationFailures; got != 0 {
		t.Errorf("simulator rejected %d requests by spec", got)
	}
}

func TestFetchOrdersChangedSince(t *testing.T) {
	a, sim, clock := newOrdersPair(t)
	since := ordersNow.Add(-time.Hour)
	addAssemblyOrder(t, sim, wbsim.AssemblyOrder{ID: 201, ChrtID: 1, CreatedAt: since.Add(-48 * time.Hour)})
	addAssemblyOrder(t, sim, wbsim.AssemblyOrder{ID: 202, ChrtID: 2, CreatedAt: since.Add(-48 * time.Hour)})
	addAssemblyOrder(t, sim, wbsim.AssemblyOrder{ID: 203, ChrtID: 3, CreatedAt: since.Add(time.Minute)})

	orders, err := a.FetchOrders(context.Background(), since)
	if err != nil {
		t.Fatalf("first FetchOrders: %v", err)
	}
	byID := ordersByID(t, orders)
	if _, found := byID["201"]; found {
		t.Errorf("201, created before since and unchanged, was returned")
	}
	if _, found := byID["203"]; !found {
		t.Errorf("203, created after since, is missing")
	}

	// The seller cancels 202, and the next poll returns the change.
	clock.Advance(5 * time.Minute)
	if err := sim.SetOrderStatus(202, "cancel", "canceled"); err != nil {
		t.Fatal(err)
	}
	second := clock.Now()
	orders, err = a.FetchOrders(context.Background(), second.Add(-time.Minute))
	if err != nil {
		t.Fatalf("second FetchOrders: %v", err)
	}
	byID = ordersByID(t, orders)
	cancelled, found := byID["202"]
	if !found {
		t.Fatalf("202, cancelled after since, is missing: %v", orders)
	}
	if cancelled.Status != adapters.OrderCancelled || !cancelled.UpdatedAt.Equal(second) {
		t.Errorf("202: status %q at %v, want cancelled at %v", cancelled.Status, cancelled.UpdatedAt, second)
	}
	if len(byID) != 1 {
		t.Errorf("second poll returned %d orders, want only 202: %v", len(byID), orders)
	}

	// The cancellation, seen once, is before the next cursor.
	clock.Advance(5 * time.Minute)
	orders, err = a.FetchOrders(context.Background(), cancelled.UpdatedAt.Add(time.Second))
	if err != nil {
		t.Fatalf("third FetchOrders: %v", err)
	}
	if len(orders) != 0 {
		t.Errorf("third poll returned %d orders, want none: %v", len(orders), orders)
	}
}

func TestFetchOrdersReadsEveryPage(t *testing.T) {
	a, sim, _ := newOrdersPair(t)
	const n = 2*wildberries.OrdersPageSize + 5
	for i := range n {
		addAssemblyOrder(t, sim, wbsim.AssemblyOrder{ID: int64(1000 + i), ChrtID: int64(i + 1), CreatedAt: ordersNow.Add(-time.Duration(i) * time.Minute)})
	}

	orders, err := a.FetchOrders(context.Background(), ordersNow.Add(-5*24*time.Hour))
	if err != nil {
		t.Fatalf("FetchOrders: %v", err)
	}
	if got := len(ordersByID(t, orders)); got != n {
		t.Errorf("got %d distinct orders, want %d", got, n)
	}
	stats := sim.OrderStats()
	if stats.ListRequests != 3 {
		t.Errorf("simulator got %d list requests, want 3", stats.ListRequests)
	}
	if stats.StatusRequests != 3 {
		t.Errorf("simulator got %d status requests, want 3 (1000 + 1000 + 5 ids)", stats.StatusRequests)
	}
	if stats.RateViolations != 0 {
		t.Errorf("simulator counted %d rate violations", stats.RateViolations)
	}
	if got := sim.Stats().ValidationFailures; got != 0 {
		t.Errorf("simulator rejected %d requests", got)
	}
}

func TestFetchOrdersLongLookbackSplitsPeriods(t *testing.T) {
	a, sim, _ := newOrdersPair(t)
	old := ordersNow.Add(-40 * 24 * time.Hour)
	addAssemblyOrder(t, sim, wbsim.AssemblyOrder{ID: 301, ChrtID: 1, CreatedAt: old, SupplierStatus: "cancel", WbStatus: "canceled"})

	orders, err := a.FetchOrders(context.Background(), old)
	if err != nil {
		t.Fatalf("FetchOrders: %v", err)
	}
	if _, found := ordersByID(t, orders)["301"]; !found {
		t.Errorf("301, created 40 days ago, is missing: %v", orders)
	}
	// since minus the 14-day lookback is 54 days ago: periods of 30 and 24 days.
	if got := sim.OrderStats().ListRequests; got != 2 {
		t.Errorf("simulator got %d list requests, want 2", got)
	}
	if got := sim.Stats().ValidationFailures; got != 0 {
		t.Errorf("simulator rejected %d requests", got)
	}
}

func TestFetchOrdersErrorPage(t *testing.T) {
	tests := []struct {
		name   string
		status int
		want   retry.Class
	}{
		{"page 2 answers 500", http.StatusInternalServerError, retry.ClassRetriable},
		{"page 2 answers 403", http.StatusForbidden, retry.ClassPermanent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, sim, _ := newOrdersPair(t)
			for i := range wildberries.OrdersPageSize + 1 {
				addAssemblyOrder(t, sim, wbsim.AssemblyOrder{ID: int64(5000 + i), ChrtID: 1, CreatedAt: ordersNow.Add(-time.Hour)})
			}
			sim.FailOrdersAfter(1, tc.status)

			orders, err := a.FetchOrders(context.Background(), ordersNow.Add(-24*time.Hour))
			if err == nil {
				t.Fatalf("FetchOrders returned %d orders and no error", len(orders))
			}
			if got := retry.Classify(err); got != tc.want {
				t.Errorf("class %s (%v), want %s", got, err, tc.want)
			}
			if orders != nil {
				t.Errorf("got %d orders with the error, want nil", len(orders))
			}
		})
	}
}

package insales_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/insales"
	"obmenhub/e2e/insalessim"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

func newOrdersPair(t *testing.T) (*insales.Adapter, *insalessim.Server) {
	t.Helper()
	clock := retry.NewManualClock(start)
	sim := insalessim.NewTest(t, insalessim.Config{Clock: clock})
	return newAdapter(t, sim, clock, nil), sim
}

func addShopOrder(t *testing.T, sim *insalessim.Server, o insalessim.Order) {
	t.Helper()
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
	a, sim := newOrdersPair(t)
	created := start.Add(-time.Hour).Add(123 * time.Millisecond)
	addShopOrder(t, sim, insalessim.Order{ID: 36218, Number: 2898, CreatedAt: created, FulfillmentStatus: "approved",
		Lines: []insalessim.OrderLine{
			{ID: 1, VariantID: 1199651, Quantity: 2, SalePrice: "1590.0"},
			{ID: 2, VariantID: 0, Quantity: 1, SalePrice: "10.0"},
			{ID: 3, VariantID: 16325, Quantity: 1, SalePrice: "720.5"},
		}})
	addShopOrder(t, sim, insalessim.Order{ID: 36228, CreatedAt: created, FulfillmentStatus: "dispatched"})
	addShopOrder(t, sim, insalessim.Order{ID: 36289, CreatedAt: created, FulfillmentStatus: "declined"})

	orders, err := a.FetchOrders(context.Background(), start.Add(-24*time.Hour))
	if err != nil {
		t.Fatalf("FetchOrders: %v", err)
	}
	byID := ordersByID(t, orders)
	if len(byID) != 3 {
		t.Fatalf("got %d orders, want 3: %v", len(byID), orders)
	}

	first := byID["36218"]
	if first.Status != adapters.OrderNew || first.VendorStatus != "approved" {
		t.Errorf("36218: status %q (%q), want new (approved)", first.Status, first.VendorStatus)
	}
	if first.Currency != "RUB" {
		t.Errorf("36218: currency %q, want RUB", first.Currency)
	}
	if !first.UpdatedAt.Equal(created) || first.UpdatedAt.Location() != time.UTC {
		t.Errorf("36218: UpdatedAt %v, want %v in UTC", first.UpdatedAt, created)
	}
	if !first.CreatedAt.Equal(created) || first.CreatedAt.Location() != time.UTC {
		t.Errorf("36218: CreatedAt %v, want %v in UTC", first.CreatedAt, created)
	}
	wantLines := []adapters.OrderLine{
		{ExternalID: "1199651", Qty: 2, Price: model.MustDecimal("1590")},
		{ExternalID: "16325", Qty: 1, Price: model.MustDecimal("720.5")},
	}
	if len(first.Lines) != len(wantLines) {
		t.Fatalf("36218: %d lines, want %d (the line without variant left out)", len(first.Lines), len(wantLines))
	}
	for i, want := range wantLines {
		got := first.Lines[i]
		if got.ExternalID != want.ExternalID || got.Qty != want.Qty || got.Price.Cmp(want.Price.Decimal) != 0 {
			t.Errorf("36218 line %d: %+v, want %+v", i, got, want)
		}
	}
	if got := byID["36228"].Status; got != adapters.OrderShipped {
		t.Errorf("36228 dispatched: status %q, want shipped", got)
	}
	if got := byID["36289"].Status; got != adapters.OrderCancelled {
		t.Errorf("36289 declined: status %q, want cancelled", got)
	}
	if got := sim.Stats().ValidationFailures; got != 0 {
		t.Errorf("simulator rejected %d requests", got)
	}
}

func TestFetchOrdersChangedSince(t *testing.T) {
	a, sim := newOrdersPair(t)
	since := start.Add(-time.Hour)
	addShopOrder(t, sim, insalessim.Order{ID: 1, CreatedAt: since.Add(-48 * time.Hour), UpdatedAt: since.Add(-time.Second), FulfillmentStatus: "new"})
	addShopOrder(t, sim, insalessim.Order{ID: 2, CreatedAt: since.Add(-48 * time.Hour), FulfillmentStatus: "new"})
	if err := sim.SetOrderStatus(2, "declined", since.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}

	orders, err := a.FetchOrders(context.Background(), since)
	if err != nil {
		t.Fatalf("FetchOrders: %v", err)
	}
	byID := ordersByID(t, orders)
	if _, found := byID["1"]; found {
		t.Errorf("order 1, changed before since, was returned")
	}
	changed, found := byID["2"]
	if !found {
		t.Fatalf("order 2, cancelled after since, is missing: %v", orders)
	}
	if changed.Status != adapters.OrderCancelled || !changed.UpdatedAt.Equal(since.Add(time.Minute)) {
		t.Errorf("order 2: status %q at %v, want cancelled at %v", changed.Status, changed.UpdatedAt, since.Add(time.Minute))
	}
}

func TestFetchOrdersReadsEveryPage(t *testing.T) {
	a, sim := newOrdersPair(t)
	const n = 2*insales.OrdersPerPage + 20
	// Groups of ten orders share an updated_at, so paging must use from_id.
	for i := range n {
		at := start.Add(-time.Hour).Add(time.Duration(i/10) * time.Second)
		addShopOrder(t, sim, insalessim.Order{ID: int64(90000 - i), CreatedAt: at, FulfillmentStatus: "new",
			Lines: []insalessim.OrderLine{{ID: int64(i), VariantID: int64(i + 1), Quantity: 1, SalePrice: "1.0"}}})
	}

	orders, err := a.FetchOrders(context.Background(), start.Add(-24*time.Hour))
	if err != nil {
		t.Fatalf("FetchOrders: %v", err)
	}
	if got := len(ordersByID(t, orders)); got != n {
		t.Errorf("got %d distinct orders, want %d", got, n)
	}
	if got := sim.OrderStats().Requests; got != 3 {
		t.Errorf("simulator got %d list requests, want 3", got)
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
		{"page 2 answers 404", http.StatusNotFound, retry.ClassPermanent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, sim := newOrdersPair(t)
			for i := range insales.OrdersPerPage + 1 {
				addShopOrder(t, sim, insalessim.Order{ID: int64(1 + i), CreatedAt: start.Add(-time.Hour), FulfillmentStatus: "new"})
			}
			sim.FailOrdersAfter(1, tc.status)

			orders, err := a.FetchOrders(context.Background(), start.Add(-24*time.Hour))
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

package ozon_test

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"obmenhub/adapters"
	"obmenhub/adapters/ozon"
	"obmenhub/e2e/ozonsim"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

var ordersNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newOrdersPair(t *testing.T) (*ozon.Adapter, *ozonsim.Server, *retry.ManualClock) {
	t.Helper()
	clock := retry.NewManualClock(ordersNow)
	a, sim := newPair(t, clock, ozonsim.Config{}, 0)
	return a, sim, clock
}

func addPosting(t *testing.T, sim *ozonsim.Server, p ozonsim.Posting) {
	t.Helper()
	if p.WarehouseID == 0 {
		p.WarehouseID = warehouse
	}
	if err := sim.AddOrder(p); err != nil {
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
	created := ordersNow.Add(-2 * time.Hour)
	addPosting(t, sim, ozonsim.Posting{
		PostingNumber: "0001-1", Status: "awaiting_packaging", InProcessAt: created,
		Products: []ozonsim.PostingProduct{
			{OfferID: "A-1", Quantity: 2, Price: "1390.000000", CurrencyCode: "RUB"},
			{OfferID: "B-2", Quantity: 1, Price: "99.50", CurrencyCode: "RUB"},
		},
	})
	addPosting(t, sim, ozonsim.Posting{PostingNumber: "0002-1", Status: "delivering", InProcessAt: created,
		Products: []ozonsim.PostingProduct{{OfferID: "C-3", Quantity: 1, Price: "10", CurrencyCode: "RUB"}}})
	addPosting(t, sim, ozonsim.Posting{PostingNumber: "0003-1", Status: "cancelled", InProcessAt: created,
		Products: []ozonsim.PostingProduct{{OfferID: "D-4", Quantity: 3, Price: "5", CurrencyCode: "RUB"}}})
	addPosting(t, sim, ozonsim.Posting{PostingNumber: "0004-1", Status: "awaiting_packaging", InProcessAt: created, WarehouseID: 99,
		Products: []ozonsim.PostingProduct{{OfferID: "E-5", Quantity: 1, Price: "5", CurrencyCode: "RUB"}}})

	orders, err := a.FetchOrders(context.Background(), ordersNow.Add(-24*time.Hour))
	if err != nil {
		t.Fatalf("FetchOrders: %v", err)
	}
	byID := ordersByID(t, orders)
	if len(byID) != 3 {
		t.Fatalf("got %d orders, want 3 (the other warehouse's posting left out): %v", len(byID), orders)
	}

	first := byID["0001-1"]
	if first.Status != adapters.OrderNew || first.VendorStatus != "awaiting_packaging" {
		t.Errorf("0001-1: status %q (%q), want new (awaiting_packaging)", first.Status, first.VendorStatus)
	}
	if first.Currency != "RUB" {
		t.Errorf("0001-1: currency %q, want RUB", first.Currency)
	}
	if !first.CreatedAt.Equal(created) || first.CreatedAt.Location() != time.UTC {
		t.Errorf("0001-1: CreatedAt %v, want %v in UTC", first.CreatedAt, created)
	}
	if !first.UpdatedAt.Equal(ordersNow) {
		t.Errorf("0001-1: UpdatedAt %v, want the time of the call %v", first.UpdatedAt, ordersNow)
	}
	wantLines := []adapters.OrderLine{
		{ExternalID: "A-1", Qty: 2, Price: model.MustDecimal("1390")},
		{ExternalID: "B-2", Qty: 1, Price: model.MustDecimal("99.5")},
	}
	if len(first.Lines) != len(wantLines) {
		t.Fatalf("0001-1: %d lines, want %d", len(first.Lines), len(wantLines))
	}
	for i, want := range wantLines {
		got := first.Lines[i]
		if got.ExternalID != want.ExternalID || got.Qty != want.Qty || got.Price.Cmp(want.Price.Decimal) != 0 {
			t.Errorf("0001-1 line %d: %+v, want %+v", i, got, want)
		}
	}
	if got := byID["0002-1"].Status; got != adapters.OrderShipped {
		t.Errorf("0002-1 delivering: status %q, want shipped", got)
	}
	if got := byID["0003-1"].Status; got != adapters.OrderCancelled {
		t.Errorf("0003-1 cancelled: status %q, want cancelled", got)
	}
	if got := sim.Stats().ValidationFailures; got != 0 {
		t.Errorf("simulator rejected %d requests by spec", got)
	}
}

func TestFetchOrdersChangedSince(t *testing.T) {
	a, sim, clock := newOrdersPair(t)
	since := ordersNow.Add(-time.Hour)
	products := []ozonsim.PostingProduct{{OfferID: "A-1", Quantity: 1, Price: "1", CurrencyCode: "RUB"}}
	addPosting(t, sim, ozonsim.Posting{PostingNumber: "old-1", Status: "awaiting_deliver",
		InProcessAt: ordersNow.Add(-48 * time.Hour), StatusChangedAt: since.Add(-time.Minute), Products: products})
	addPosting(t, sim, ozonsim.Posting{PostingNumber: "changed-1", Status: "awaiting_packaging",
		InProcessAt: ordersNow.Add(-48 * time.Hour), Products: products})
	if err := sim.SetOrderStatus("changed-1", "cancelled", since.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}

	orders, err := a.FetchOrders(context.Background(), since)
	if err != nil {
		t.Fatalf("FetchOrders: %v", err)
	}
	byID := ordersByID(t, orders)
	if _, found := byID["old-1"]; found {
		t.Errorf("old-1, changed before since, was returned")
	}
	changed, found := byID["changed-1"]
	if !found {
		t.Fatalf("changed-1, cancelled after since, is missing: %v", orders)
	}
	if changed.Status != adapters.OrderCancelled {
		t.Errorf("changed-1: status %q, want cancelled", changed.Status)
	}

	// A later poll from the cursor returns only later changes.
	clock.Advance(10 * time.Minute)
	orders, err = a.FetchOrders(context.Background(), changed.UpdatedAt)
	if err != nil {
		t.Fatalf("second FetchOrders: %v", err)
	}
	if len(orders) != 0 {
		t.Errorf("second poll returned %d orders, want none: %v", len(orders), orders)
	}
}

func TestFetchOrdersReadsEveryPage(t *testing.T) {
	a, sim, _ := newOrdersPair(t)
	const n = 2*ozon.PostingListPageSize + 17
	for i := range n {
		addPosting(t, sim, ozonsim.Posting{
			PostingNumber: fmt.Sprintf("P-%05d", i), Status: "awaiting_packaging",
			InProcessAt: ordersNow.Add(-time.Duration(i) * time.Second),
			Products:    []ozonsim.PostingProduct{{OfferID: fmt.Sprintf("OF-%d", i), Quantity: 1, Price: "1", CurrencyCode: "RUB"}},
		})
	}

	orders, err := a.FetchOrders(context.Background(), ordersNow.Add(-24*time.Hour))
	if err != nil {
		t.Fatalf("FetchOrders: %v", err)
	}
	if got := len(ordersByID(t, orders)); got != n {
		t.Errorf("got %d distinct orders, want %d", got, n)
	}
	if got := sim.OrderStats().ListRequests; got != 3 {
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
		{"page 2 answers 403", http.StatusForbidden, retry.ClassPermanent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, sim, _ := newOrdersPair(t)
			for i := range ozon.PostingListPageSize + 1 {
				addPosting(t, sim, ozonsim.Posting{PostingNumber: fmt.Sprintf("P-%05d", i), Status: "awaiting_packaging",
					InProcessAt: ordersNow.Add(-time.Hour)})
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

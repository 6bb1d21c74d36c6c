package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"obmenhub/adapters"
	"obmenhub/hub/channel"
	"obmenhub/hub/config"
	"obmenhub/hub/model"
)

// fakeOrders is a channel's order API that returns what the test set.
type fakeOrders struct {
	orders []adapters.Order
	since  []time.Time
}

func (f *fakeOrders) FetchOrders(_ context.Context, since time.Time) ([]adapters.Order, error) {
	f.since = append(f.since, since)
	return f.orders, nil
}

func newOrderApp(t *testing.T) (*App, *channelRun) {
	t.Helper()
	t.Setenv("APP_TEST_PASSWORD", "x")
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(`
listen: 127.0.0.1:0
store: {path: `+filepath.Join(dir, "hub.db")+`}
exchange: {username: 1c, password_env: APP_TEST_PASSWORD, dir: `+filepath.Join(dir, "x")+`}
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Shutdown(context.Background()) })

	ctx := context.Background()
	tx, err := a.Store.BeginFile(ctx, &model.Document{File: "offers.xml", Kind: model.KindOffers, Generated: time.Now(), ChangesOnly: true}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for sku, q := range map[string]string{"A": "5", "B": "1"} {
		if err := tx.Offer(&model.Offer{SKU: sku, ProductID: sku, Stocks: []model.Stock{{Warehouse: "w", Quantity: model.MustDecimal(q)}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	binder, _ := channel.NewBinder(channel.BindingConfig{})
	w, err := channel.NewWorker(channel.WorkerConfig{Channel: "ozon"}, a.Store, channel.StockTarget{Channel: "ozon"}, binder, a.log)
	if err != nil {
		t.Fatal(err)
	}
	return a, &channelRun{name: "ozon", workers: []*channel.Worker{w}}
}

func TestOrdersReserveOnceAndRelease(t *testing.T) {
	a, run := newOrderApp(t)
	ctx := context.Background()
	now := time.Now().UTC()
	src := &fakeOrders{orders: []adapters.Order{
		{ExternalID: "p-1", Status: adapters.OrderNew, UpdatedAt: now, Lines: []adapters.OrderLine{{ExternalID: "A", Qty: 2}, {ExternalID: "A", Qty: 1}}},
	}}
	for i := 0; i < 2; i++ {
		if err := a.readOrders(ctx, run, src, "orders:ozon", a.log); err != nil {
			t.Fatal(err)
		}
	}
	reserved, err := a.Store.Reserved(ctx, []string{"A"})
	if err != nil {
		t.Fatal(err)
	}
	if reserved["A"] != 3 {
		t.Errorf("reserved A = %d, want 3 once although the order was read twice", reserved["A"])
	}
	if len(src.since) != 2 || !src.since[1].Equal(now.Add(-orderOverlap)) {
		t.Errorf("second read since %v, want the cursor less the overlap, %v", src.since, now.Add(-orderOverlap))
	}

	src.orders[0].Status = adapters.OrderCancelled
	src.orders[0].UpdatedAt = now.Add(time.Minute)
	if err := a.readOrders(ctx, run, src, "orders:ozon", a.log); err != nil {
		t.Fatal(err)
	}
	reserved, _ = a.Store.Reserved(ctx, []string{"A"})
	if reserved["A"] != 0 {
		t.Errorf("reserved A after cancellation = %d, want 0", reserved["A"])
	}
}

func TestOrdersThatCannotBeReserved(t *testing.T) {
	tests := []struct {
		name   string
		line   adapters.OrderLine
		reason string
	}{
		{"oversold", adapters.OrderLine{ExternalID: "B", Qty: 2}, "order exceeds available stock (oversold)"},
		{"unknown item", adapters.OrderLine{ExternalID: "Z", Qty: 1}, "order lines not bound to 1C SKUs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, run := newOrderApp(t)
			ctx := context.Background()
			src := &fakeOrders{orders: []adapters.Order{{ExternalID: "p-9", Status: adapters.OrderNew, UpdatedAt: time.Now(), Lines: []adapters.OrderLine{tt.line}}}}
			for i := 0; i < 2; i++ {
				if err := a.readOrders(ctx, run, src, "orders:ozon", a.log); err != nil {
					t.Fatal(err)
				}
			}
			letters, err := a.Store.DeadLetters(ctx, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(letters) != 1 || letters[0].Reason != tt.reason {
				t.Errorf("dead letters = %+v, want exactly one with reason %q", letters, tt.reason)
			}
			if _, err := a.Store.Reservation(ctx, "ozon", "p-9"); err == nil {
				t.Errorf("order p-9 was reserved, want nothing reserved")
			}
		})
	}
}

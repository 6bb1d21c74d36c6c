// Package storetest is the contract test suite that every ledger.Store
// implementation runs.
package storetest

import (
	"context"
	"errors"
	"sort"
	"testing"
	"time"

	"obmenhub/hub/ledger"
	"obmenhub/hub/model"
)

// Run runs the suite. newStore returns an empty store; the suite closes it.
func Run(t *testing.T, newStore func(t *testing.T) ledger.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s ledger.Store)
	}{
		{"apply offers file", testApply},
		{"older file never overwrites", testOlderFile},
		{"rollback stores nothing", testRollback},
		{"full package zeroes missing", testFullPackage},
		{"stock listing replaces warehouses", testWarehouseShape},
		{"stock and prices kept apart", testSeparateSets},
		{"deleted product", testDeletedProduct},
		{"channel state round trip", testChannelState},
		{"dead letters", testDeadLetters},
		{"for each SKU pages", testForEachSKU},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
}

var base = time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)

func qty(s string) *model.Decimal {
	d := model.MustDecimal(s)
	return &d
}

func offer(sku string, stocks ...string) *model.Offer {
	o := &model.Offer{SKU: sku, ProductID: sku}
	for i := 0; i+1 < len(stocks); i += 2 {
		o.Stocks = append(o.Stocks, model.Stock{Warehouse: stocks[i], Quantity: model.MustDecimal(stocks[i+1])})
	}
	return o
}

// apply writes one offers file and fails the test on error.
func apply(t *testing.T, s ledger.Store, doc model.Document, offers ...*model.Offer) *ledger.FileResult {
	t.Helper()
	ctx := context.Background()
	if doc.Kind == "" {
		doc.Kind = model.KindOffers
	}
	tx, err := s.BeginFile(ctx, &doc, base)
	if err != nil {
		t.Fatalf("BeginFile: %v", err)
	}
	for _, o := range offers {
		if err := tx.Offer(o); err != nil {
			tx.Rollback()
			t.Fatalf("Offer %s: %v", o.SKU, err)
		}
	}
	res, err := tx.Commit(ctx)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return res
}

// changed returns the SKUs that the committed file res changed, sorted.
func changed(t *testing.T, s ledger.Store, res *ledger.FileResult) []string {
	t.Helper()
	var out []string
	err := s.ChangedSKUs(context.Background(), res.Version.Seq, 2, func(skus []string) error {
		if len(skus) > 2 {
			t.Errorf("page of %d SKUs, want at most 2", len(skus))
		}
		out = append(out, skus...)
		return nil
	})
	if err != nil {
		t.Fatalf("ChangedSKUs: %v", err)
	}
	if !sort.StringsAreSorted(out) {
		t.Errorf("ChangedSKUs order %v, want sorted", out)
	}
	return out
}

// levels returns warehouse → quantity text for sku.
func levels(t *testing.T, s ledger.Store, sku string) map[string]string {
	t.Helper()
	st, err := s.Stock(context.Background(), []string{sku})
	if err != nil {
		t.Fatalf("Stock: %v", err)
	}
	out := map[string]string{}
	if st[sku] == nil {
		return out
	}
	for _, l := range st[sku].Levels {
		out[l.Warehouse] = l.Quantity.Trim(0).String()
	}
	return out
}

func wantLevels(t *testing.T, s ledger.Store, sku string, want map[string]string) {
	t.Helper()
	got := levels(t, s, sku)
	if len(got) != len(want) {
		t.Fatalf("levels of %s = %v, want %v", sku, got, want)
	}
	for w, q := range want {
		if got[w] != q {
			t.Errorf("level of %s on %q = %q, want %q", sku, w, got[w], q)
		}
	}
}

func testApply(t *testing.T, s ledger.Store) {
	q := offer("B")
	q.Quantity = qty("7.5")
	q.Prices = []model.Price{{PriceType: "retail", Value: model.MustDecimal("199.90"), Currency: "RUB"}}
	res := apply(t, s, model.Document{File: "offers.xml", Generated: base, ChangesOnly: true},
		offer("A", "w1", "3", "w2", "4"), q)
	if got := changed(t, s, res); len(got) != 2 || got[0] != "A" || got[1] != "B" {
		t.Errorf("changed SKUs = %v, want [A B]", got)
	}
	if res.Version.Seq <= 0 {
		t.Errorf("Version.Seq = %d, want > 0", res.Version.Seq)
	}
	wantLevels(t, s, "A", map[string]string{"w1": "3", "w2": "4"})
	wantLevels(t, s, "B", map[string]string{model.DefaultWarehouse: "7.5"})

	v, err := s.SKU(context.Background(), "B")
	if err != nil {
		t.Fatalf("SKU: %v", err)
	}
	if len(v.Prices) != 1 || v.Prices[0].Value.String() != "199.90" {
		t.Errorf("prices of B = %+v, want one price 199.90", v.Prices)
	}
	if !v.Levels[0].Version.Generated.Equal(base) || v.Levels[0].Version.Seq != res.Version.Seq {
		t.Errorf("level version = %+v, want %v/%d", v.Levels[0].Version, base, res.Version.Seq)
	}
	if _, err := s.SKU(context.Background(), "missing"); !errors.Is(err, ledger.ErrNotFound) {
		t.Errorf("SKU(missing) error = %v, want ErrNotFound", err)
	}
}

func testOlderFile(t *testing.T, s ledger.Store) {
	apply(t, s, model.Document{File: "new.xml", Generated: base.Add(time.Hour), ChangesOnly: true}, offer("A", "w1", "10"))
	res := apply(t, s, model.Document{File: "old.xml", Generated: base, ChangesOnly: true}, offer("A", "w1", "99"))
	wantLevels(t, s, "A", map[string]string{"w1": "10"})
	if got := changed(t, s, res); len(got) != 0 {
		t.Errorf("older file announced %v, want nothing", got)
	}

	// Same ДатаФормирования: the later file (greater sequence) wins.
	apply(t, s, model.Document{File: "again.xml", Generated: base.Add(time.Hour), ChangesOnly: true}, offer("A", "w1", "11"))
	wantLevels(t, s, "A", map[string]string{"w1": "11"})
}

func testRollback(t *testing.T, s ledger.Store) {
	apply(t, s, model.Document{File: "first.xml", Generated: base, ChangesOnly: true}, offer("A", "w1", "5"))
	ctx := context.Background()
	tx, err := s.BeginFile(ctx, &model.Document{File: "bad.xml", Kind: model.KindOffers, Generated: base.Add(time.Hour)}, base)
	if err != nil {
		t.Fatalf("BeginFile: %v", err)
	}
	if err := tx.Offer(offer("A", "w1", "0")); err != nil {
		t.Fatalf("Offer: %v", err)
	}
	if err := tx.Offer(offer("C", "w1", "8")); err != nil {
		t.Fatalf("Offer: %v", err)
	}
	if err := tx.Rollback(); err != nil {
		t.Fatalf("Rollback: %v", err)
	}
	wantLevels(t, s, "A", map[string]string{"w1": "5"})
	wantLevels(t, s, "C", map[string]string{})
}

func testFullPackage(t *testing.T, s ledger.Store) {
	apply(t, s, model.Document{File: "a.xml", Generated: base, ChangesOnly: true, CatalogID: "cat1"},
		offer("A", "w1", "1"), offer("B", "w1", "2"))
	apply(t, s, model.Document{File: "other.xml", Generated: base, ChangesOnly: true, CatalogID: "cat2"},
		offer("X", "w1", "3"))
	res := apply(t, s, model.Document{File: "full.xml", Generated: base.Add(time.Hour), ChangesOnly: false, CatalogID: "cat1"},
		offer("A", "w1", "6"))
	wantLevels(t, s, "A", map[string]string{"w1": "6"})
	wantLevels(t, s, "B", map[string]string{})
	wantLevels(t, s, "X", map[string]string{"w1": "3"})
	if got := changed(t, s, res); len(got) != 2 || got[0] != "A" || got[1] != "B" {
		t.Errorf("changed SKUs = %v, want [A B]", got)
	}
}

func testWarehouseShape(t *testing.T, s ledger.Store) {
	apply(t, s, model.Document{File: "a.xml", Generated: base, ChangesOnly: true}, offer("A", "w1", "1", "w2", "2"))
	o := offer("A")
	o.Quantity = qty("4")
	apply(t, s, model.Document{File: "b.xml", Generated: base.Add(time.Minute), ChangesOnly: true}, o)
	wantLevels(t, s, "A", map[string]string{model.DefaultWarehouse: "4"})
}

func testSeparateSets(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	withPrice := offer("A", "w1", "5")
	withPrice.Prices = []model.Price{{PriceType: "retail", Value: model.MustDecimal("100")}}
	apply(t, s, model.Document{File: "offers.xml", Generated: base, ChangesOnly: true}, withPrice)

	priceOnly := offer("A")
	priceOnly.Prices = []model.Price{{PriceType: "retail", Value: model.MustDecimal("120")}}
	res := apply(t, s, model.Document{File: "prices.xml", Kind: model.KindPrices, Generated: base.Add(time.Minute), ChangesOnly: false}, priceOnly)
	if got := changed(t, s, res); len(got) != 0 {
		t.Errorf("prices file changed stock of %v, want none", got)
	}
	apply(t, s, model.Document{File: "rests.xml", Kind: model.KindRests, Generated: base.Add(2 * time.Minute), ChangesOnly: true}, offer("A", "w1", "2"))

	wantLevels(t, s, "A", map[string]string{"w1": "2"})
	v, err := s.SKU(ctx, "A")
	if err != nil {
		t.Fatalf("SKU: %v", err)
	}
	if len(v.Prices) != 1 || v.Prices[0].Value.String() != "120" {
		t.Errorf("prices = %+v, want retail 120 kept by the rests file", v.Prices)
	}
}

func testDeletedProduct(t *testing.T, s ledger.Store) {
	apply(t, s, model.Document{File: "a.xml", Generated: base, ChangesOnly: true}, &model.Offer{SKU: "P#1", ProductID: "P", Quantity: qty("3")})
	ctx := context.Background()
	tx, err := s.BeginFile(ctx, &model.Document{File: "import.xml", Kind: model.KindCatalog, Generated: base.Add(time.Minute), ChangesOnly: true}, base)
	if err != nil {
		t.Fatalf("BeginFile: %v", err)
	}
	if err := tx.Product(&model.Product{ID: "P", Name: "Чайник", Deleted: true}); err != nil {
		t.Fatalf("Product: %v", err)
	}
	res, err := tx.Commit(ctx)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if got := changed(t, s, res); len(got) != 1 || got[0] != "P#1" {
		t.Errorf("changed SKUs = %v, want [P#1]", got)
	}
	st, err := s.Stock(ctx, []string{"P#1"})
	if err != nil {
		t.Fatalf("Stock: %v", err)
	}
	if !st["P#1"].Deleted {
		t.Errorf("P#1 not deleted after its product was deleted")
	}
}

func testChannelState(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	five, three := int64(5), int64(3)
	at := base.Add(time.Second)
	err := s.SaveChannelStates(ctx, "ozon", []ledger.ChannelState{
		{SKU: "A", Confirmed: &five, ConfirmedAt: at},
		{SKU: "B", Failed: &three, LastError: "unknown offer_id"},
	})
	if err != nil {
		t.Fatalf("SaveChannelStates: %v", err)
	}
	got, err := s.ChannelStates(ctx, "ozon", []string{"A", "B", "C"})
	if err != nil {
		t.Fatalf("ChannelStates: %v", err)
	}
	if len(got) != 2 {
		t.Fatalf("states = %+v, want A and B", got)
	}
	if got["A"].Confirmed == nil || *got["A"].Confirmed != 5 || !got["A"].ConfirmedAt.Equal(at) {
		t.Errorf("A = %+v, want confirmed 5 at %v", got["A"], at)
	}
	if got["B"].Confirmed != nil || got["B"].Failed == nil || *got["B"].Failed != 3 || got["B"].LastError == "" {
		t.Errorf("B = %+v, want failed 3 with an error", got["B"])
	}
	other, err := s.ChannelStates(ctx, "wb", []string{"A"})
	if err != nil {
		t.Fatalf("ChannelStates: %v", err)
	}
	if len(other) != 0 {
		t.Errorf("wb states = %+v, want none", other)
	}
}

func testDeadLetters(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	for i := 1; i <= 2; i++ {
		_, err := s.AddDeadLetter(ctx, ledger.DeadLetter{Channel: "wb", SKUs: []string{"A"}, Reason: "permanent", Attempts: i, LastError: "409", Payload: `{"x":1}`, CreatedAt: base})
		if err != nil {
			t.Fatalf("AddDeadLetter: %v", err)
		}
	}
	got, err := s.DeadLetters(ctx, 10)
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if len(got) != 2 || got[0].Attempts != 2 || got[0].SKUs[0] != "A" || got[0].Payload != `{"x":1}` {
		t.Errorf("dead letters = %+v, want two, newest first", got)
	}
}

func testForEachSKU(t *testing.T, s ledger.Store) {
	var offers []*model.Offer
	for i := 0; i < 2500; i++ {
		offers = append(offers, offer(string(rune('a'+i%26))+time.Duration(i).String(), "w", "1"))
	}
	apply(t, s, model.Document{File: "big.xml", Generated: base, ChangesOnly: true}, offers...)
	n := 0
	prev := ""
	err := s.ForEachSKU(context.Background(), func(sku string) error {
		if sku <= prev {
			t.Fatalf("SKU %q after %q, want ascending order", sku, prev)
		}
		prev = sku
		n++
		return nil
	})
	if err != nil {
		t.Fatalf("ForEachSKU: %v", err)
	}
	if n != 2500 {
		t.Errorf("ForEachSKU visited %d SKUs, want 2500", n)
	}
}

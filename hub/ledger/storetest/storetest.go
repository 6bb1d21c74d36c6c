// Package storetest is the contract test suite that every ledger.Store
// implementation runs.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"
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
		{"rests file keeps deletion and name", testRestsKeepDescription},
		{"deleted product", testDeletedProduct},
		{"channel state round trip", testChannelState},
		{"repeated SKU in save", testRepeatedChannelState},
		{"dead letters", testDeadLetters},
		{"for each SKU pages", testForEachSKU},
		{"outbox of unpublished files", testOutbox},
		{"changes in feed order", testChanges},
		{"cursors and SKU lookup", testCursorsAndLookup},
		{"orders for 1C", testOrdersFor1C},
		{"SKU order is byte order", testByteOrder},
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
	if got := changed(t, s, res); len(got) != 1 || got[0] != "A" {
		t.Errorf("prices file announced %v, want [A]: channels that show prices must see it", got)
	}
	wantLevels(t, s, "A", map[string]string{"w1": "5"})
	rests := apply(t, s, model.Document{File: "rests.xml", Kind: model.KindRests, Generated: base.Add(2 * time.Minute), ChangesOnly: true}, offer("A", "w1", "2"))
	if got := changed(t, s, rests); len(got) != 1 || got[0] != "A" {
		t.Errorf("rests file announced %v, want [A]", got)
	}

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

func testRepeatedChannelState(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	first, last := int64(1), int64(2)
	err := s.SaveChannelStates(ctx, "ozon", []ledger.ChannelState{
		{SKU: "B", Confirmed: &first, ConfirmedAt: base},
		{SKU: "A", Confirmed: &first, ConfirmedAt: base},
		{SKU: "B", Confirmed: &last, ConfirmedAt: base},
	})
	if err != nil {
		t.Fatalf("SaveChannelStates: %v", err)
	}
	got, err := s.ChannelStates(ctx, "ozon", []string{"B"})
	if err != nil {
		t.Fatalf("ChannelStates: %v", err)
	}
	if c := got["B"].Confirmed; c == nil || *c != last {
		t.Errorf("confirmed of B = %v, want %d from the last state given", c, last)
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
	for i := 0; i < 2; i++ {
		id, err := s.AddDeadLetter(ctx, ledger.DeadLetter{Channel: "wb", Reason: "poison", Attempts: 5, LastError: "decode", MessageID: "msg-1", CreatedAt: base})
		if err != nil {
			t.Fatalf("AddDeadLetter poison %d: %v", i, err)
		}
		if (id != 0) != (i == 0) {
			t.Errorf("poison dead letter %d got id %d, want a new id only the first time", i, id)
		}
	}
	got, err := s.DeadLetters(ctx, 10)
	if err != nil {
		t.Fatalf("DeadLetters: %v", err)
	}
	if len(got) != 3 {
		t.Fatalf("dead letters = %d, want 3: two pushes and one poison message", len(got))
	}
	if got[0].MessageID != "msg-1" || got[1].Attempts != 2 || got[1].SKUs[0] != "A" || got[1].Payload != `{"x":1}` {
		t.Errorf("dead letters = %+v, want the poison message first, then the pushes newest first", got)
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

// testByteOrder checks that SKUs come in byte order, as Go compares
// strings, whatever collation the database uses by default.
func testByteOrder(t *testing.T, s ledger.Store) {
	skus := []string{"b", "B", "a-1", "a1", "_z", "Z", "a 2", "ё", "Я"}
	var offers []*model.Offer
	for _, sku := range skus {
		offers = append(offers, offer(sku, "w1", "1"))
	}
	res := apply(t, s, model.Document{File: "order.xml", Generated: base, ChangesOnly: true}, offers...)
	want := slices.Sorted(slices.Values(skus))

	if got := changed(t, s, res); !slices.Equal(got, want) {
		t.Errorf("ChangedSKUs = %q, want %q", got, want)
	}
	var visited []string
	err := s.ForEachSKU(context.Background(), func(sku string) error {
		visited = append(visited, sku)
		return nil
	})
	if err != nil {
		t.Fatalf("ForEachSKU: %v", err)
	}
	if !slices.Equal(visited, want) {
		t.Errorf("ForEachSKU order = %q, want %q", visited, want)
	}
}

// RunShared runs the cases for hub instances that share one database.
// newDatabase creates an empty database and returns a function that opens
// another store on it; the suite closes every store it opens. Stores that
// have a Locker method also run the lease cases.
func RunShared(t *testing.T, newDatabase func(t *testing.T) (open func(t *testing.T) ledger.Store)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, a, b ledger.Store)
	}{
		{"second store reads committed file", testSharedRead},
		{"concurrent files keep newest", testConcurrentFiles},
		{"concurrent channel state saves", testConcurrentChannelStates},
		{"lease exclusive across stores", testLeaseExclusive},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			open := newDatabase(t)
			a := open(t)
			t.Cleanup(func() { a.Close() })
			b := open(t)
			t.Cleanup(func() { b.Close() })
			tt.fn(t, a, b)
		})
	}
}

func testSharedRead(t *testing.T, a, b ledger.Store) {
	res := apply(t, a, model.Document{File: "a.xml", Generated: base, ChangesOnly: true}, offer("A", "w1", "3"))
	wantLevels(t, b, "A", map[string]string{"w1": "3"})
	if got := changed(t, b, res); len(got) != 1 || got[0] != "A" {
		t.Errorf("changed SKUs read by second store = %v, want [A]", got)
	}
}

// testConcurrentFiles applies files from two stores at once. Every file
// lists the shared SKUs in its own order, with its index as quantity, and
// one SKU of its own. Whatever order the files commit in, the newest file
// must own every shared SKU, and no file's own SKU may be lost.
func testConcurrentFiles(t *testing.T, a, b ledger.Store) {
	const files, shared = 12, 300
	ctx := context.Background()
	stores := []ledger.Store{a, b}
	errs := make(chan error, files)
	var wg sync.WaitGroup
	for i := range files {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- applyConcurrent(ctx, stores[i%2], i, shared)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("apply file: %v", err)
		}
	}

	newest := strconv.Itoa(files - 1)
	for _, s := range stores {
		st, err := s.Stock(ctx, sharedSKUs(shared))
		if err != nil {
			t.Fatalf("Stock: %v", err)
		}
		if len(st) != shared {
			t.Fatalf("Stock returned %d shared SKUs, want %d", len(st), shared)
		}
		for sku, stock := range st {
			if len(stock.Levels) != 1 || stock.Levels[0].Quantity.String() != newest {
				t.Errorf("levels of %s = %+v, want w1 = %s from the newest file", sku, stock.Levels, newest)
			}
		}
	}
	for i := range files {
		wantLevels(t, b, "own-"+strconv.Itoa(i), map[string]string{"w1": strconv.Itoa(i)})
	}
}

func sharedSKUs(n int) []string {
	skus := make([]string, n)
	for i := range skus {
		skus[i] = "shared-" + strconv.Itoa(i)
	}
	return skus
}

// applyConcurrent writes file i: the shared SKUs in an order of its own and
// the SKU own-i, generated i minutes after base.
func applyConcurrent(ctx context.Context, s ledger.Store, i, shared int) error {
	doc := &model.Document{File: "f" + strconv.Itoa(i) + ".xml", Kind: model.KindOffers,
		Generated: base.Add(time.Duration(i) * time.Minute), ChangesOnly: true}
	tx, err := s.BeginFile(ctx, doc, base)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	skus := sharedSKUs(shared)
	rand.New(rand.NewPCG(uint64(i), 1)).Shuffle(len(skus), func(x, y int) { skus[x], skus[y] = skus[y], skus[x] })
	skus = append(skus, "own-"+strconv.Itoa(i))
	q := strconv.Itoa(i)
	for _, sku := range skus {
		if err := tx.Offer(offer(sku, "w1", q)); err != nil {
			return err
		}
	}
	_, err = tx.Commit(ctx)
	return err
}

// testConcurrentChannelStates saves states from two stores at once. Each
// writer saves the shared SKUs in its own order for several rounds, then
// one SKU of its own. Every shared SKU must end with some writer's last
// round, and every writer's own SKU must be stored.
func testConcurrentChannelStates(t *testing.T, a, b ledger.Store) {
	const writers, rounds, shared = 4, 5, 200
	ctx := context.Background()
	stores := []ledger.Store{a, b}
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- saveConcurrent(ctx, stores[w%2], w, rounds, shared)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("SaveChannelStates: %v", err)
		}
	}

	skus := sharedSKUs(shared)
	for w := range writers {
		skus = append(skus, "own-"+strconv.Itoa(w))
	}
	got, err := b.ChannelStates(ctx, "ozon", skus)
	if err != nil {
		t.Fatalf("ChannelStates: %v", err)
	}
	if len(got) != len(skus) {
		t.Fatalf("ChannelStates returned %d SKUs, want %d", len(got), len(skus))
	}
	for _, sku := range sharedSKUs(shared) {
		c := got[sku].Confirmed
		if c == nil || *c%100 != rounds-1 {
			t.Errorf("confirmed of %s = %v, want the last round %d of some writer", sku, c, rounds-1)
		}
	}
	for w := range writers {
		sku := "own-" + strconv.Itoa(w)
		if c := got[sku].Confirmed; c == nil || *c != int64(w) {
			t.Errorf("confirmed of %s = %v, want %d", sku, c, w)
		}
	}
}

// saveConcurrent saves, for writer w, rounds of states of the shared SKUs
// with confirmed = w*100 + round, then its own SKU with confirmed = w.
func saveConcurrent(ctx context.Context, s ledger.Store, w, rounds, shared int) error {
	skus := sharedSKUs(shared)
	shuffle := rand.New(rand.NewPCG(uint64(w), 2))
	for r := range rounds {
		shuffle.Shuffle(len(skus), func(x, y int) { skus[x], skus[y] = skus[y], skus[x] })
		states := make([]ledger.ChannelState, len(skus))
		for i, sku := range skus {
			confirmed := int64(w*100 + r)
			states[i] = ledger.ChannelState{SKU: sku, Confirmed: &confirmed, ConfirmedAt: base}
		}
		if err := s.SaveChannelStates(ctx, "ozon", states); err != nil {
			return err
		}
	}
	own := int64(w)
	return s.SaveChannelStates(ctx, "ozon", []ledger.ChannelState{{SKU: "own-" + strconv.Itoa(w), Confirmed: &own, ConfirmedAt: base}})
}

// lockerStore is a store that grants leases to instances sharing it.
type lockerStore interface {
	Locker() ledger.Locker
}

func testLeaseExclusive(t *testing.T, a, b ledger.Store) {
	la, okA := a.(lockerStore)
	lb, okB := b.(lockerStore)
	if !okA || !okB {
		t.Skip("store has no Locker method")
	}
	ctx := context.Background()
	lease, ok, err := la.Locker().TryLock(ctx, "channel ozon")
	if err != nil || !ok {
		t.Fatalf("first TryLock = %v, %v; want the lease", ok, err)
	}
	if _, ok, err := lb.Locker().TryLock(ctx, "channel ozon"); err != nil || ok {
		t.Fatalf("second TryLock while held = %v, %v; want ok=false", ok, err)
	}
	other, ok, err := lb.Locker().TryLock(ctx, "channel wb")
	if err != nil || !ok {
		t.Fatalf("TryLock of another name = %v, %v; want the lease", ok, err)
	}
	defer other.Release()

	lease.Release()
	select {
	case <-lease.Done():
	default:
		t.Errorf("Done not closed after Release")
	}
	if err := lease.Err(); err != nil {
		t.Errorf("Err after Release = %v, want nil", err)
	}
	lease.Release() // a second Release must do nothing

	again, ok, err := lb.Locker().TryLock(ctx, "channel ozon")
	if err != nil || !ok {
		t.Fatalf("TryLock after Release = %v, %v; want the lease", ok, err)
	}
	again.Release()
}

func testOutbox(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	first := apply(t, s, model.Document{File: "a.xml", Generated: base, ChangesOnly: true}, offer("A", "w1", "1"))
	second := apply(t, s, model.Document{File: "b.xml", Generated: base, ChangesOnly: true}, offer("B", "w1", "1"))
	files, err := s.UnpublishedFiles(ctx, 10)
	if err != nil {
		t.Fatalf("UnpublishedFiles: %v", err)
	}
	if len(files) != 2 || files[0].Seq != first.Version.Seq || files[1].File != "b.xml" {
		t.Fatalf("unpublished = %+v, want a.xml then b.xml", files)
	}
	if err := s.MarkPublished(ctx, first.Version.Seq, base); err != nil {
		t.Fatalf("MarkPublished: %v", err)
	}
	files, err = s.UnpublishedFiles(ctx, 10)
	if err != nil {
		t.Fatalf("UnpublishedFiles: %v", err)
	}
	if len(files) != 1 || files[0].Seq != second.Version.Seq {
		t.Errorf("unpublished after marking a.xml = %+v, want only b.xml", files)
	}
}

func testRestsKeepDescription(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	// The rests file is newer than the offers file but arrives first.
	apply(t, s, model.Document{File: "rests.xml", Kind: model.KindRests, Generated: base.Add(time.Minute), ChangesOnly: true}, offer("A", "w1", "5"))
	named := offer("A")
	named.Name = "Чайник"
	named.Deleted = true
	apply(t, s, model.Document{File: "offers.xml", Generated: base, ChangesOnly: true}, named)
	apply(t, s, model.Document{File: "rests2.xml", Kind: model.KindRests, Generated: base.Add(2 * time.Minute), ChangesOnly: true}, offer("A", "w1", "7"))

	v, err := s.SKU(ctx, "A")
	if err != nil {
		t.Fatalf("SKU: %v", err)
	}
	if v.Name != "Чайник" {
		t.Errorf("name = %q, want the offers file's name although an older-dated file gave it", v.Name)
	}
	if !v.Deleted {
		t.Errorf("deleted = false, want the deletion mark kept by the rests files")
	}
	wantLevels(t, s, "A", map[string]string{"w1": "7"})
}

func testChanges(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	first := apply(t, s, model.Document{File: "a.xml", Generated: base, ChangesOnly: true}, offer("B", "w1", "1"), offer("A", "w1", "1"))
	second := apply(t, s, model.Document{File: "b.xml", Generated: base, ChangesOnly: true}, offer("B", "w1", "2"))
	all, err := s.Changes(ctx, -1, "", 10)
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	want := []ledger.Change{{SKU: "A", Seq: first.Version.Seq}, {SKU: "B", Seq: second.Version.Seq}}
	if len(all) != 2 || all[0] != want[0] || all[1] != want[1] {
		t.Fatalf("changes = %+v, want %+v", all, want)
	}
	rest, err := s.Changes(ctx, all[0].Seq, all[0].SKU, 10)
	if err != nil {
		t.Fatalf("Changes: %v", err)
	}
	if len(rest) != 1 || rest[0] != want[1] {
		t.Errorf("changes after A = %+v, want only B", rest)
	}
}

func testCursorsAndLookup(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	if c, err := s.Cursor(ctx, "orders:ozon"); err != nil || !c.IsZero() {
		t.Fatalf("new cursor = %v, %v; want zero time", c, err)
	}
	at := base.Add(90 * time.Second)
	if err := s.SetCursor(ctx, "orders:ozon", at); err != nil {
		t.Fatal(err)
	}
	if err := s.SetCursor(ctx, "orders:ozon", at.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Cursor(ctx, "orders:ozon"); err != nil || !c.Equal(at.Add(time.Minute)) {
		t.Errorf("cursor = %v, %v; want %v", c, err, at.Add(time.Minute))
	}

	withArticle := offer("A")
	withArticle.Article = "KET-17"
	apply(t, s, model.Document{File: "offers.xml", Generated: base, ChangesOnly: true}, withArticle, offer("B"))
	got, err := s.SKUsBy(ctx, "article", "KET-17")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != "A" {
		t.Errorf("SKUs by article KET-17 = %v, want [A]", got)
	}
	if _, err := s.SKUsBy(ctx, "name", "x"); err == nil {
		t.Errorf("SKUsBy accepted by=name")
	}
}

func testOrdersFor1C(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	for i, id := range []string{"p-1", "p-2", "p-1"} {
		err := s.SaveOrder(ctx, ledger.StoredOrder{Channel: "ozon", OrderID: id, Doc: fmt.Sprintf(`{"n":%d}`, i), CreatedAt: base.Add(time.Duration(i) * time.Second)})
		if err != nil {
			t.Fatalf("SaveOrder %s: %v", id, err)
		}
	}
	pending, err := s.PendingOrders(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 2 || pending[0].OrderID != "p-1" || pending[0].Doc != `{"n":0}` {
		t.Fatalf("pending = %+v, want p-1 (first saved version) then p-2", pending)
	}
	exported := base.Add(time.Minute)
	if err := s.MarkExported(ctx, []ledger.OrderKey{{Channel: "ozon", OrderID: "p-1"}}, exported); err != nil {
		t.Fatal(err)
	}
	if pending, _ = s.PendingOrders(ctx, 10); len(pending) != 1 || pending[0].OrderID != "p-2" {
		t.Errorf("pending after export = %+v, want only p-2", pending)
	}
	// A package generated before 1C confirmed p-1 does not count it yet.
	if keys, err := s.ReflectOrders(ctx, exported.Add(-time.Second), base); err != nil || len(keys) != 0 {
		t.Errorf("reflected by an older package = %v, %v; want none", keys, err)
	}
	keys, err := s.ReflectOrders(ctx, exported.Add(time.Second), base)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].OrderID != "p-1" {
		t.Errorf("reflected = %v, want [p-1]", keys)
	}
	if keys, _ = s.ReflectOrders(ctx, exported.Add(time.Hour), base); len(keys) != 0 {
		t.Errorf("reflected again = %v, want none: each order is reflected once", keys)
	}
}

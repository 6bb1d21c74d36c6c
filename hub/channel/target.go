package channel

import (
	"context"
	"fmt"

	"obmenhub/adapters"
	"obmenhub/hub/alloc"
	"obmenhub/hub/ledger"
	"obmenhub/hub/model"
)

// Target is the part of a channel that a worker keeps in step: its stock
// or its prices. The worker diffs and stores whole numbers, so a target maps
// its values onto int64: units of stock, or kopecks of a price.
type Target interface {
	// Kind is "stock" or "prices", for logs.
	Kind() string
	// Value returns the number the channel should show for the SKU, and
	// false when the SKU has nothing to send, such as no price of the
	// channel's price type.
	Value(st *ledger.SKUStock) (int64, bool)
	// Push sends items, whose Quantity holds the values that Value
	// returned; stock holds the ledger view of each item's SKU.
	Push(ctx context.Context, items []adapters.StockItem, stock map[string]*ledger.SKUStock) ([]adapters.ItemResult, error)
}

// StockTarget keeps a channel's stock in step. A channel bound to virtual
// warehouses shows its allocation in them (see Allocated); any other shows
// the sum of its listed 1C warehouses less active reservations (see
// Available).
type StockTarget struct {
	Pusher     adapters.StockPusher
	Channel    string
	Warehouses []string
	Virtual    []alloc.Warehouse
}

func (t StockTarget) Kind() string { return "stock" }

func (t StockTarget) Value(st *ledger.SKUStock) (int64, bool) {
	if len(t.Virtual) > 0 {
		return Allocated(st, t.Channel, t.Virtual), true
	}
	return Available(st, t.Warehouses), true
}

func (t StockTarget) Push(ctx context.Context, items []adapters.StockItem, _ map[string]*ledger.SKUStock) ([]adapters.ItemResult, error) {
	return t.Pusher.PushStock(ctx, items)
}

// PriceTarget keeps a channel's prices in step: the 1C price of type
// PriceType, with the price of OldPriceType, when set, as the crossed-out
// price. The worker diffs on the price alone, so a change of the old price
// reaches the channel with the next change of the price.
type PriceTarget struct {
	Pusher       adapters.PricePusher
	PriceType    string
	OldPriceType string
}

func (t PriceTarget) Kind() string { return "prices" }

func (t PriceTarget) Value(st *ledger.SKUStock) (int64, bool) {
	p, ok := findPrice(st, t.PriceType)
	if !ok || st.Deleted {
		return 0, false
	}
	k, err := kopecks(p.Value)
	if err != nil {
		return 0, false
	}
	return k, true
}

func (t PriceTarget) Push(ctx context.Context, items []adapters.StockItem, stock map[string]*ledger.SKUStock) ([]adapters.ItemResult, error) {
	prices := make([]adapters.PriceItem, len(items))
	for i, it := range items {
		st := stock[it.SKU]
		p, _ := findPrice(st, t.PriceType)
		prices[i] = adapters.PriceItem{SKU: it.SKU, ExternalID: it.ExternalID, Price: p.Value, Currency: p.Currency}
		if old, ok := findPrice(st, t.OldPriceType); ok && t.OldPriceType != "" {
			prices[i].OldPrice = old.Value
		}
	}
	return t.Pusher.PushPrices(ctx, prices)
}

func findPrice(st *ledger.SKUStock, priceType string) (ledger.PriceLevel, bool) {
	if st == nil || priceType == "" {
		return ledger.PriceLevel{}, false
	}
	for _, p := range st.Prices {
		if p.PriceType == priceType {
			return p, true
		}
	}
	return ledger.PriceLevel{}, false
}

// kopecks returns d in hundredths, rounded half to even.
func kopecks(d model.Decimal) (int64, error) {
	whole, frac, ok := d.Decimal.Round(2).Int64(2)
	if !ok {
		return 0, fmt.Errorf("price %s is out of range", d.String())
	}
	return whole*100 + frac, nil
}

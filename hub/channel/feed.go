package channel

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"

	"obmenhub/hub/alloc"
	"obmenhub/hub/ledger"
)

// Feed serves a channel that polls the hub for changes instead of
// receiving pushes, such as a web store that polls every few minutes.
type Feed struct {
	Channel      string
	Warehouses   []string
	Virtual      []alloc.Warehouse
	PriceType    string
	OldPriceType string
	Binder       *Binder
}

// FeedItem is the current state of one SKU for the channel.
type FeedItem struct {
	SKU        string `json:"sku"`
	ExternalID string `json:"external_id"`
	Quantity   int64  `json:"quantity"`
	// Price and OldPrice are decimal strings, as in the webhooks, so that no
	// float rounding touches a price.
	Price    string `json:"price,omitempty"`
	OldPrice string `json:"old_price,omitempty"`
	Currency string `json:"currency,omitempty"`
	Deleted  bool   `json:"deleted"`
}

// FeedPage is one page of a feed. Next is the cursor of the following
// page; a client stores it and passes it as since on its next poll.
type FeedPage struct {
	Items []FeedItem `json:"items"`
	Next  string     `json:"next"`
	// More is true when changes beyond this page are waiting already.
	More bool `json:"more"`
}

// ErrBadCursor is returned for a since value the feed did not issue.
var ErrBadCursor = fmt.Errorf("invalid cursor")

// Page returns up to limit SKUs changed after cursor, each with its
// current stock and price for the channel. An empty cursor starts from the
// beginning, so a new client gets every SKU once. A SKU that changes
// several times between two polls appears once, with its latest state.
func (f *Feed) Page(ctx context.Context, store ledger.Store, cursor string, limit int) (*FeedPage, error) {
	seq, after, err := decodeCursor(cursor)
	if err != nil {
		return nil, err
	}
	changes, err := store.Changes(ctx, seq, after, limit+1)
	if err != nil {
		return nil, err
	}
	page := &FeedPage{Items: []FeedItem{}, Next: cursor}
	if len(changes) > limit {
		page.More = true
		changes = changes[:limit]
	}
	if len(changes) == 0 {
		return page, nil
	}
	skus := make([]string, len(changes))
	for i, c := range changes {
		skus[i] = c.SKU
	}
	stock, err := store.Stock(ctx, skus)
	if err != nil {
		return nil, err
	}
	for _, c := range changes {
		st := stock[c.SKU]
		if st == nil {
			continue
		}
		target := StockTarget{Channel: f.Channel, Warehouses: f.Warehouses, Virtual: f.Virtual}
		qty, _ := target.Value(st)
		item := FeedItem{SKU: c.SKU, ExternalID: f.Binder.Resolve(st), Quantity: qty, Deleted: st.Deleted}
		if p, ok := findPrice(st, f.PriceType); ok {
			item.Price, item.Currency = p.Value.String(), p.Currency
		}
		if p, ok := findPrice(st, f.OldPriceType); ok {
			item.OldPrice = p.Value.String()
		}
		page.Items = append(page.Items, item)
	}
	last := changes[len(changes)-1]
	page.Next = encodeCursor(last.Seq, last.SKU)
	return page, nil
}

func encodeCursor(seq int64, sku string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(seq, 10) + "\x00" + sku))
}

func decodeCursor(c string) (int64, string, error) {
	if c == "" {
		return -1, "", nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", fmt.Errorf("%w %q: pass the next value of the previous page, or nothing to start over", ErrBadCursor, c)
	}
	seqText, sku, ok := strings.Cut(string(raw), "\x00")
	seq, err := strconv.ParseInt(seqText, 10, 64)
	if !ok || err != nil {
		return 0, "", fmt.Errorf("%w %q: pass the next value of the previous page, or nothing to start over", ErrBadCursor, c)
	}
	return seq, sku, nil
}

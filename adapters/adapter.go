// Package adapters defines the contract between the hub and a sales
// channel's API. Each vendor lives in its own subpackage.
package adapters

import (
	"context"
	"time"

	"obmenhub/hub/model"
)

// StockItem is the stock of one SKU that a channel should show.
type StockItem struct {
	// SKU is the hub's canonical SKU, used in logs and results.
	SKU string
	// ExternalID is the channel's own id of the SKU: Ozon offer_id,
	// Wildberries chrtId (decimal digits).
	ExternalID string
	// Quantity is the whole number of units to show, never negative.
	Quantity int64
}

// ItemResult is the outcome of one StockItem. Err is nil when the channel
// confirmed the item; otherwise it wraps a retry class (see package retry).
type ItemResult struct {
	SKU string
	Err error
}

// StockPusher sends stock levels to one channel account.
//
// PushStock sends items in as many requests as MaxBatch requires, waiting
// on the adapter's rate limiter. It returns one result per item, in the
// order of items, when every request got an answer; per-item failures in an
// otherwise successful answer are reported in the results. It returns a
// non-nil error, wrapping a retry class, only when a request failed as a
// whole; then results holds whatever earlier requests settled.
type StockPusher interface {
	PushStock(ctx context.Context, items []StockItem) ([]ItemResult, error)
	// MaxBatch is the most items the vendor accepts in one request.
	MaxBatch() int
}

// PriceItem is the price of one SKU that a channel should show.
type PriceItem struct {
	// SKU is the hub's canonical SKU, used in logs and results.
	SKU string
	// ExternalID is the channel's own id of the SKU.
	ExternalID string
	// Price is the selling price in the channel's currency.
	Price model.Decimal
	// OldPrice is the crossed-out price before a discount; zero means none.
	OldPrice model.Decimal
	// Currency is the ISO 4217 code, such as RUB; empty means the
	// account's currency.
	Currency string
}

// PricePusher sends prices to one channel account, with the same result
// contract as StockPusher.PushStock.
type PricePusher interface {
	PushPrices(ctx context.Context, items []PriceItem) ([]ItemResult, error)
	// MaxPriceBatch is the most items the vendor accepts in one request.
	MaxPriceBatch() int
}

// CatalogEntry is one sellable item in a channel's own catalogue.
type CatalogEntry struct {
	// ExternalID is the id that stock is sent with: Ozon offer_id,
	// Wildberries chrtId, InSales variant id.
	ExternalID string
	// PriceID is the id that prices are sent with, when the vendor uses
	// another one (Wildberries nmID); empty means ExternalID.
	PriceID string
	// Article is the seller's article of the item (Ozon offer_id,
	// Wildberries vendorCode, InSales variant sku).
	Article string
	// Barcodes lists the item's barcodes.
	Barcodes []string
}

// CatalogLister reads a channel's own catalogue, so that the hub can bind
// 1C SKUs to the channel's ids by article or barcode.
type CatalogLister interface {
	// ListCatalog returns every item of the account's catalogue, reading
	// as many pages as the vendor's API needs.
	ListCatalog(ctx context.Context) ([]CatalogEntry, error)
}

// Order statuses as the hub understands them, whatever the vendor calls
// them.
const (
	// OrderNew is an order that holds stock: awaiting packaging, assembly
	// or shipment.
	OrderNew = "new"
	// OrderCancelled is an order that no longer holds stock.
	OrderCancelled = "cancelled"
	// OrderShipped is an order that left the seller's warehouse.
	OrderShipped = "shipped"
)

// OrderLine is one line of a channel's order.
type OrderLine struct {
	// ExternalID is the channel's id of the item, the same id stock is
	// sent with (Ozon offer_id, Wildberries chrtId, InSales variant id).
	ExternalID string
	Qty        int64
	// Price is the price of one unit in the order's currency.
	Price model.Decimal
}

// Order is an order that a channel took.
type Order struct {
	// ExternalID is the channel's order id (Ozon posting_number,
	// Wildberries order id, InSales order id).
	ExternalID string
	// Status is OrderNew, OrderCancelled or OrderShipped; VendorStatus is
	// the vendor's own word for it.
	Status       string
	VendorStatus string
	Currency     string
	CreatedAt    time.Time
	// UpdatedAt is when the vendor last changed the order, in UTC; the hub
	// keeps its polling cursor on it.
	UpdatedAt time.Time
	Lines     []OrderLine
}

// OrderSource reads a channel's orders.
type OrderSource interface {
	// FetchOrders returns the orders created or changed at or after since
	// (UTC), reading as many pages as the vendor's API needs. The hub polls
	// with an overlap window and drops repeats, so returning an order twice
	// is harmless.
	FetchOrders(ctx context.Context, since time.Time) ([]Order, error)
}

// OrderWebhook reads the orders a channel pushes to the hub, such as
// InSales order webhooks.
type OrderWebhook interface {
	// ParseWebhookOrder returns the order a webhook body carries.
	ParseWebhookOrder(body []byte) (Order, error)
}

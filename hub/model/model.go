// Package model defines the canonical records that every part of the hub
// exchanges: documents, products, offers (SKUs), warehouse stock and prices.
//
// Parsers of 1C formats (CommerceML, OData) produce these records, the ledger
// stores them, and channel adapters read what the ledger derives from them.
// The types carry no behaviour beyond JSON encoding and small helpers.
package model

import (
	"time"
)

// DocumentKind names what a 1C exchange file carries. The hub recognises a
// kind by the file's content, never by its name.
type DocumentKind string

const (
	// KindCatalog is a goods package (import.xml): Классификатор and/or Каталог.
	KindCatalog DocumentKind = "catalog"
	// KindOffers is an offers package (offers.xml): ПакетПредложений with
	// Предложения that may carry prices and stock.
	KindOffers DocumentKind = "offers"
	// KindPrices is an offers package whose offers carry only prices.
	KindPrices DocumentKind = "prices"
	// KindRests is an offers package whose offers carry only Остатки.
	KindRests DocumentKind = "rests"
)

// Document is the header of one parsed file. It is emitted before any
// product or offer of that file.
type Document struct {
	File          string       `json:"file"`
	Kind          DocumentKind `json:"kind"`
	SchemaVersion string       `json:"schema_version"`
	// Generated is the package's ДатаФормирования; zero when the file omits it.
	Generated time.Time `json:"generated,omitzero"`
	// ChangesOnly is СодержитТолькоИзменения. A full package (false) replaces
	// the stock of every SKU of its catalogue that it does not list.
	ChangesOnly  bool   `json:"changes_only"`
	CatalogID    string `json:"catalog_id,omitempty"`
	ClassifierID string `json:"classifier_id,omitempty"`
	// PackageID is the ПакетПредложений Ид of an offers document.
	PackageID  string      `json:"package_id,omitempty"`
	Warehouses []Warehouse `json:"warehouses,omitempty"`
	PriceTypes []PriceType `json:"price_types,omitempty"`
}

// Warehouse is a 1C warehouse (Склад) as a package declares it.
type Warehouse struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
}

// PriceType is a 1C price type (ТипЦены).
type PriceType struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Currency string `json:"currency,omitempty"`
}

// Product is a catalogue good (Товар).
type Product struct {
	ID        string   `json:"id"`
	Name      string   `json:"name,omitempty"`
	Article   string   `json:"article,omitempty"`
	Barcodes  []string `json:"barcodes,omitempty"`
	Deleted   bool     `json:"deleted"`
	CatalogID string   `json:"catalog_id,omitempty"`
}

// Offer is one Предложение: the sellable unit (SKU) with its prices and stock
// as far as this file gives them.
type Offer struct {
	// SKU is the canonical offer id: "product" for the 1C forms "product"
	// and "product#", "product#characteristic" otherwise.
	SKU              string `json:"sku"`
	ProductID        string `json:"product_id"`
	CharacteristicID string `json:"characteristic_id,omitempty"`
	Name             string `json:"name,omitempty"`
	Article          string `json:"article,omitempty"`
	Barcode          string `json:"barcode,omitempty"`
	Deleted          bool   `json:"deleted"`
	// Quantity is the offer's Количество; nil when the file does not give it.
	Quantity *Decimal `json:"quantity,omitempty"`
	// Stocks lists per-warehouse quantities, in file order.
	Stocks []Stock `json:"stocks,omitempty"`
	// Prices lists one price per 1C price type, in file order.
	Prices []Price `json:"prices,omitempty"`
}

// HasStock reports whether the offer says anything about stock.
func (o *Offer) HasStock() bool { return o.Quantity != nil || len(o.Stocks) > 0 }

// Stock is a quantity on one 1C warehouse.
type Stock struct {
	Warehouse string  `json:"warehouse"`
	Quantity  Decimal `json:"quantity"`
}

// Price is one price of an offer for one 1C price type (ИдТипаЦены).
type Price struct {
	PriceType string  `json:"price_type"`
	Value     Decimal `json:"value"`
	Currency  string  `json:"currency,omitempty"`
	Unit      string  `json:"unit,omitempty"`
}

// DefaultWarehouse is the ledger warehouse id for an offer's Количество when
// the offer lists no per-warehouse quantities.
const DefaultWarehouse = ""

// Version orders values that came from 1C. Generated is the package's
// ДатаФормирования and Seq a sequence number the hub assigns to every
// accepted file, strictly increasing. A value with a greater Version wins.
type Version struct {
	Generated time.Time `json:"generated"`
	Seq       int64     `json:"seq"`
}

// Less reports whether v is older than w: by Generated first, then by Seq.
func (v Version) Less(w Version) bool {
	if !v.Generated.Equal(w.Generated) {
		return v.Generated.Before(w.Generated)
	}
	return v.Seq < w.Seq
}

// Handler receives the records of one parsed file in document order:
// Document first, then products and offers as they appear.
// A non-nil error stops the parse and is returned by the parser.
type Handler interface {
	Document(*Document) error
	Product(*Product) error
	Offer(*Offer) error
}

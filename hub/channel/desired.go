// Package channel turns ledger state into what each sales channel should
// show, and keeps each channel in step: it pushes only values that differ
// from what the channel last confirmed, retries what failed, and
// dead-letters what cannot succeed.
package channel

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"obmenhub/hub/ledger"
	"obmenhub/hub/model"
)

// Desired returns the stock a channel should show for one SKU: the sum of
// its levels on the given 1C warehouses (all warehouses when the list is
// empty), rounded down to whole units. An offer's Количество without
// warehouses is a level on model.DefaultWarehouse, the empty id, which a
// list counts only when it names "". A negative level, which 1C allows
// on a warehouse, counts as 0 so that it cannot hide stock held on
// another warehouse. A deleted SKU, or one the ledger does not know, is 0.
func Desired(st *ledger.SKUStock, warehouses []string) int64 {
	if st == nil || st.Deleted {
		return 0
	}
	sum := model.IntDecimal(0)
	for _, l := range st.Levels {
		if len(warehouses) > 0 && !contains(warehouses, l.Warehouse) {
			continue
		}
		if l.Quantity.Sign() <= 0 {
			continue
		}
		s, err := sum.Add(l.Quantity.Decimal)
		if err != nil {
			// Only an overflow past 19 digits gets here; no stock is that large.
			continue
		}
		sum = model.Decimal{Decimal: s}
	}
	return sum.Floor()
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// Binding kinds: how a channel names a SKU.
const (
	// BindSKU uses the hub's SKU (the 1C offer Ид) as the channel's id.
	BindSKU = "sku"
	// BindArticle uses the offer's or its product's Артикул.
	BindArticle = "article"
	// BindBarcode uses the offer's or its product's first Штрихкод.
	BindBarcode = "barcode"
	// BindMap reads the channel's id from a CSV file of "sku,external_id" lines.
	BindMap = "map"
)

// BindingConfig chooses how a channel's ids are found for the hub's SKUs.
type BindingConfig struct {
	// By is one of sku, article, barcode, map. Default sku.
	By string `yaml:"by"`
	// File is the CSV mapping file for By=map: lines "sku,external_id",
	// an optional header line "sku,external_id".
	File string `yaml:"file"`
}

// Binder resolves a channel's id for a SKU. An empty id means the SKU is
// not bound on that channel.
type Binder struct {
	by     string
	byFile map[string]string
}

// ErrUnbound is the cause recorded for a SKU that has no id on a channel.
var ErrUnbound = errors.New("SKU has no id on this channel")

// NewBinder builds a Binder from cfg, reading the mapping file if any.
func NewBinder(cfg BindingConfig) (*Binder, error) {
	b := &Binder{by: cfg.By}
	if b.by == "" {
		b.by = BindSKU
	}
	switch b.by {
	case BindSKU, BindArticle, BindBarcode:
		return b, nil
	case BindMap:
		if cfg.File == "" {
			return nil, errors.New("binding by map needs binding.file, a CSV of sku,external_id lines")
		}
		m, err := readMapFile(cfg.File)
		if err != nil {
			return nil, err
		}
		b.byFile = m
		return b, nil
	}
	return nil, fmt.Errorf("unknown binding %q; use sku, article, barcode or map", cfg.By)
}

func readMapFile(path string) (map[string]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("binding file: %w", err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	r.Comment = '#'
	m := make(map[string]string)
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return m, nil
		}
		if err != nil {
			return nil, fmt.Errorf("binding file %s: %w", path, err)
		}
		sku, ext := strings.TrimSpace(rec[0]), strings.TrimSpace(rec[1])
		if line == 1 && strings.EqualFold(sku, "sku") {
			continue
		}
		if sku == "" || ext == "" {
			return nil, fmt.Errorf("binding file %s line %d: empty sku or external id", path, line)
		}
		m[sku] = ext
	}
}

// Resolve returns the channel's id for st, or "" when it has none.
func (b *Binder) Resolve(st *ledger.SKUStock) string {
	switch b.by {
	case BindArticle:
		return st.Article
	case BindBarcode:
		return st.Barcode
	case BindMap:
		return b.byFile[st.SKU]
	}
	return st.SKU
}

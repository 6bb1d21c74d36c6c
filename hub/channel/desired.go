// Package channel turns ledger state into what each sales channel should
// show, and keeps each channel in step: it pushes only values that differ
// from what the channel last confirmed, retries what failed, and
// dead-letters what cannot succeed.
package channel

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"obmenhub/adapters"

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
	// BindCatalog reads the channel's own catalogue and matches its items
	// to SKUs by article or by barcode.
	BindCatalog = "catalog"
)

// BindingConfig chooses how a channel's ids are found for the hub's SKUs.
type BindingConfig struct {
	// By is one of sku, article, barcode, map. Default sku.
	By string `yaml:"by"`
	// File is the CSV mapping file for By=map: lines "sku,external_id",
	// an optional header line "sku,external_id".
	File string `yaml:"file"`
	// Match is the key that By=catalog compares: article (default) or barcode.
	Match string `yaml:"match"`
	// Refresh is how often By=catalog reads the catalogue again. Default 1h.
	Refresh time.Duration `yaml:"refresh"`
}

// Binder resolves a channel's id for a SKU. An empty id means the SKU is
// not bound on that channel.
type Binder struct {
	by     string
	byFile map[string]string

	// match, mu and byKey serve By=catalog: the catalogue's ids by article
	// or barcode, replaced whole on every read of the catalogue.
	match   string
	refresh time.Duration
	mu      sync.RWMutex
	byKey   map[string]string
	keyOf   map[string]string // channel id → article or barcode
	loaded  bool
}

// SKUFinder finds SKUs by article or barcode; the ledger is one.
type SKUFinder interface {
	SKUsBy(ctx context.Context, by, value string) ([]string, error)
}

// SKUsFor returns the SKUs that the channel id ext stands for: the reverse
// of Resolve, used to read a channel's orders. More than one SKU means the
// binding is ambiguous; none means the channel sells something 1C does not
// list under that key.
func (b *Binder) SKUsFor(ctx context.Context, find SKUFinder, ext string) ([]string, error) {
	switch b.by {
	case BindArticle:
		return find.SKUsBy(ctx, "article", ext)
	case BindBarcode:
		return find.SKUsBy(ctx, "barcode", ext)
	case BindMap:
		var out []string
		for sku, id := range b.byFile {
			if id == ext {
				out = append(out, sku)
			}
		}
		sort.Strings(out)
		return out, nil
	case BindCatalog:
		b.mu.RLock()
		key := b.keyOf[ext]
		b.mu.RUnlock()
		if key == "" {
			return nil, nil
		}
		return find.SKUsBy(ctx, b.match, key)
	}
	return []string{ext}, nil
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
	case BindCatalog:
		b.match = cfg.Match
		if b.match == "" {
			b.match = "article"
		}
		if b.match != "article" && b.match != "barcode" {
			return nil, fmt.Errorf("binding.match %q: use article or barcode", cfg.Match)
		}
		b.refresh = cfg.Refresh
		if b.refresh <= 0 {
			b.refresh = time.Hour
		}
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
	return nil, fmt.Errorf("unknown binding %q; use sku, article, barcode, map or catalog", cfg.By)
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
	case BindCatalog:
		key := st.Article
		if b.match == "barcode" {
			key = st.Barcode
		}
		if key == "" {
			return ""
		}
		b.mu.RLock()
		defer b.mu.RUnlock()
		return b.byKey[key]
	case BindArticle:
		return st.Article
	case BindBarcode:
		return st.Barcode
	case BindMap:
		return b.byFile[st.SKU]
	}
	return st.SKU
}

// KeyField returns "article" or "barcode" for a binder that uses that 1C
// field as the channel's id, and "" otherwise.
func (b *Binder) KeyField() string {
	switch b.by {
	case BindArticle:
		return "article"
	case BindBarcode:
		return "barcode"
	}
	return ""
}

// FromCatalog reports whether the binder reads the channel's catalogue,
// and how often.
func (b *Binder) FromCatalog() (bool, time.Duration) { return b.by == BindCatalog, b.refresh }

// Loaded reports whether a catalogue was loaded. Until then a catalogue
// binder binds nothing, and workers should not run.
func (b *Binder) Loaded() bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.by != BindCatalog || b.loaded
}

// LoadCatalog replaces the catalogue of a By=catalog binder. usePriceID
// binds to the entries' price ids where they have one (Wildberries nmID).
// A key shared by two entries binds to neither, because the hub cannot
// tell which one a SKU means; LoadCatalog returns those keys.
func (b *Binder) LoadCatalog(entries []adapters.CatalogEntry, usePriceID bool) (ambiguous []string) {
	m := make(map[string]string, len(entries))
	keyOf := make(map[string]string, len(entries))
	dup := map[string]bool{}
	add := func(key, id string) {
		if key == "" {
			return
		}
		if prev, ok := m[key]; ok && prev != id {
			dup[key] = true
			return
		}
		m[key] = id
	}
	for _, e := range entries {
		id := e.ExternalID
		if usePriceID && e.PriceID != "" {
			id = e.PriceID
		}
		if b.match == "barcode" {
			for _, bc := range e.Barcodes {
				add(bc, id)
			}
			if len(e.Barcodes) > 0 {
				keyOf[id] = e.Barcodes[0]
			}
		} else {
			add(e.Article, id)
			keyOf[id] = e.Article
		}
	}
	for key := range dup {
		delete(m, key)
		ambiguous = append(ambiguous, key)
	}
	sort.Strings(ambiguous)
	b.mu.Lock()
	b.byKey, b.keyOf, b.loaded = m, keyOf, true
	b.mu.Unlock()
	return ambiguous
}

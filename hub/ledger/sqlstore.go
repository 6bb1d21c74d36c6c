package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"obmenhub/hub/model"
)

type dialect int

const (
	dialectSQLite dialect = iota
	dialectPostgres
)

// SQLStore is the Store over database/sql. The SQL is written once with
// '?' placeholders and rebound for PostgreSQL.
type SQLStore struct {
	db      *sql.DB
	dialect dialect
	locker  Locker
	// lockFiles, when set, runs first in every file transaction and
	// returns once this transaction may apply its file.
	lockFiles func(ctx context.Context, tx *sql.Tx) error
	// closers release what the store holds besides db.
	closers []func() error
}

var _ Store = (*SQLStore)(nil)

// DB returns the underlying database handle, for tests and benchmarks.
func (s *SQLStore) DB() *sql.DB { return s.db }

// Locker returns the locker for hub instances that share this ledger:
// advisory locks on PostgreSQL, and on SQLite a locker within the process,
// shared by every store that the process opens on the same file.
func (s *SQLStore) Locker() Locker { return s.locker }

// Close closes the database.
func (s *SQLStore) Close() error {
	errs := []error{s.db.Close()}
	for _, c := range s.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
}

// rebind rewrites '?' placeholders as $1, $2, … for PostgreSQL.
func (s *SQLStore) rebind(q string) string {
	if s.dialect != dialectPostgres {
		return q
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// BeginFile implements Store.
func (s *SQLStore) BeginFile(ctx context.Context, doc *model.Document, acceptedAt time.Time) (FileTx, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("ledger: begin file %s: %w", doc.File, err)
	}
	if s.lockFiles != nil {
		if err := s.lockFiles(ctx, tx); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("ledger: begin file %s: %w", doc.File, err)
		}
	}
	gen := doc.Generated
	if gen.IsZero() {
		// A file without ДатаФормирования is ordered by when it arrived.
		gen = acceptedAt
	}
	var seq int64
	err = tx.QueryRowContext(ctx, s.rebind(`INSERT INTO files(file, kind, generated, changes_only, catalog_id, accepted_at)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING seq`),
		doc.File, string(doc.Kind), gen.UnixNano(), boolInt(doc.ChangesOnly), doc.CatalogID, acceptedAt.UnixNano()).Scan(&seq)
	if err != nil {
		tx.Rollback()
		return nil, fmt.Errorf("ledger: record file %s: %w", doc.File, err)
	}
	f := &fileTx{
		s:       s,
		tx:      tx,
		ctx:     ctx,
		doc:     doc,
		version: model.Version{Generated: gen, Seq: seq},
	}
	if err := f.prepare(); err != nil {
		tx.Rollback()
		return nil, err
	}
	return f, nil
}

type fileTx struct {
	s       *SQLStore
	tx      *sql.Tx
	ctx     context.Context
	doc     *model.Document
	version model.Version
	done    bool

	products, offers *upsertBatch
	levels           []storedLevel // reused per offer
	prices           []storedPrice // reused per offer

	hasStock bool
	nProduct int
	nOffer   int
}

// Version-guarded upserts: a value is replaced only by a strictly newer
// version, so an older or repeated file never overwrites newer state.
const (
	productHead = `INSERT INTO products(id, name, article, barcode, catalog_id, deleted, gen, seq) VALUES `
	productTail = `ON CONFLICT (id) DO UPDATE SET name = excluded.name, article = excluded.article,
			barcode = excluded.barcode, catalog_id = excluded.catalog_id, deleted = excluded.deleted,
			gen = excluded.gen, seq = excluded.seq
		WHERE (excluded.gen, excluded.seq) > (products.gen, products.seq)`
	// An offer's description (with its deletion mark), stock set and price
	// set each carry their own version. A file that gives no stock for an
	// offer inserts stock_seq 0, which leaves the stored set alone; prices
	// and the description likewise. A name or article that an offers file
	// omits keeps the value that the catalogue gave.
	offerHead = `INSERT INTO offers(sku, product_id, name, article, barcode, catalog_id, deleted, gen, seq,
		levels, stock_gen, stock_seq, prices, price_gen, price_seq, changed_seq) VALUES `
	offerTail = `ON CONFLICT (sku) DO UPDATE SET
			changed_seq = CASE WHEN (` + newerStock + `) OR (` + newerPrices + `) OR (excluded.deleted <> offers.deleted AND ` + newerMeta + `)
				THEN excluded.changed_seq ELSE offers.changed_seq END,
			product_id = CASE WHEN ` + newerMeta + ` THEN excluded.product_id ELSE offers.product_id END,
			name = CASE WHEN excluded.name <> '' AND ` + newerMeta + ` THEN excluded.name ELSE offers.name END,
			article = CASE WHEN excluded.article <> '' AND ` + newerMeta + ` THEN excluded.article ELSE offers.article END,
			barcode = CASE WHEN excluded.barcode <> '' AND ` + newerMeta + ` THEN excluded.barcode ELSE offers.barcode END,
			catalog_id = CASE WHEN ` + newerMeta + ` THEN excluded.catalog_id ELSE offers.catalog_id END,
			deleted = CASE WHEN ` + newerMeta + ` THEN excluded.deleted ELSE offers.deleted END,
			levels = CASE WHEN ` + newerStock + ` THEN excluded.levels ELSE offers.levels END,
			stock_gen = CASE WHEN ` + newerStock + ` THEN excluded.stock_gen ELSE offers.stock_gen END,
			stock_seq = CASE WHEN ` + newerStock + ` THEN excluded.stock_seq ELSE offers.stock_seq END,
			prices = CASE WHEN ` + newerPrices + ` THEN excluded.prices ELSE offers.prices END,
			price_gen = CASE WHEN ` + newerPrices + ` THEN excluded.price_gen ELSE offers.price_gen END,
			price_seq = CASE WHEN ` + newerPrices + ` THEN excluded.price_seq ELSE offers.price_seq END,
			gen = CASE WHEN ` + newerMeta + ` THEN excluded.gen ELSE offers.gen END,
			seq = CASE WHEN ` + newerMeta + ` THEN excluded.seq ELSE offers.seq END`

	// A part whose sequence is 0 in the new row was not given by the file
	// and keeps its stored value.
	newerMeta   = `(excluded.seq > 0 AND (excluded.gen, excluded.seq) > (offers.gen, offers.seq))`
	newerStock  = `(excluded.stock_seq > 0 AND (excluded.stock_gen, excluded.stock_seq) > (offers.stock_gen, offers.stock_seq))`
	newerPrices = `(excluded.price_seq > 0 AND (excluded.price_gen, excluded.price_seq) > (offers.price_gen, offers.price_seq))`
)

// noLevels is the stored stock set of a SKU without stock.
const noLevels = "[]"

func (f *fileTx) prepare() error {
	var err error
	batch := func(head, tail string, cols int) *upsertBatch {
		if err != nil {
			return nil
		}
		var b *upsertBatch
		b, err = newUpsertBatch(f.ctx, f.tx, f.s, head, tail, cols)
		return b
	}
	f.products = batch(productHead, productTail, 8)
	f.offers = batch(offerHead, offerTail, 16)
	return err
}

// flush sends every buffered row.
func (f *fileTx) flush() error {
	for _, b := range f.batches() {
		if err := b.flush(f.ctx); err != nil {
			return fmt.Errorf("ledger: write file %s: %w", f.doc.File, err)
		}
	}
	return nil
}

func (f *fileTx) batches() []*upsertBatch {
	return []*upsertBatch{f.products, f.offers}
}

func (f *fileTx) Version() model.Version { return f.version }

// Document implements model.Handler. The header was recorded by BeginFile.
func (f *fileTx) Document(*model.Document) error { return nil }

func (f *fileTx) Product(p *model.Product) error {
	f.nProduct++
	barcode := ""
	if len(p.Barcodes) > 0 {
		barcode = p.Barcodes[0]
	}
	catalog := p.CatalogID
	if catalog == "" {
		catalog = f.doc.CatalogID
	}
	err := f.products.add(f.ctx, p.ID, p.ID, p.Name, p.Article, barcode, catalog, boolInt(p.Deleted),
		f.version.Generated.UnixNano(), f.version.Seq)
	if err != nil {
		return fmt.Errorf("ledger: store product %s: %w", p.ID, err)
	}
	return nil
}

// storedLevel is one element of the levels column: [warehouse, quantity].
type storedLevel [2]string

// storedPrice is one element of the prices column:
// [price type, value, currency].
type storedPrice [3]string

func (f *fileTx) Offer(o *model.Offer) error {
	f.nOffer++
	gen, seq := f.version.Generated.UnixNano(), f.version.Seq

	// An offer's stock listing is its whole stock: a warehouse it had
	// before and this file leaves out is gone. Per-warehouse quantities
	// win over Количество when a file gives both.
	levels, stockGen, stockSeq := noLevels, int64(0), int64(0)
	if o.HasStock() {
		f.hasStock = true
		f.levels = f.levels[:0]
		if len(o.Stocks) > 0 {
			for _, st := range o.Stocks {
				f.levels = append(f.levels, storedLevel{st.Warehouse, st.Quantity.String()})
			}
		} else {
			f.levels = append(f.levels, storedLevel{model.DefaultWarehouse, o.Quantity.String()})
		}
		b, err := json.Marshal(f.levels)
		if err != nil {
			return fmt.Errorf("ledger: encode stock of %s: %w", o.SKU, err)
		}
		levels, stockGen, stockSeq = string(b), gen, seq
	}
	changed := int64(0)
	if o.HasStock() || o.Deleted || len(o.Prices) > 0 {
		changed = seq
	}

	prices, priceGen, priceSeq := "[]", int64(0), int64(0)
	if len(o.Prices) > 0 {
		f.prices = f.prices[:0]
		for _, p := range o.Prices {
			f.prices = append(f.prices, storedPrice{p.PriceType, p.Value.String(), p.Currency})
		}
		b, err := json.Marshal(f.prices)
		if err != nil {
			return fmt.Errorf("ledger: encode prices of %s: %w", o.SKU, err)
		}
		prices, priceGen, priceSeq = string(b), gen, seq
	}

	// Separate rests and prices files carry no deletion mark and rarely a
	// name, so they leave the description alone, unless an offer in them
	// is marked deleted.
	metaGen, metaSeq := gen, seq
	if (f.doc.Kind == model.KindRests || f.doc.Kind == model.KindPrices) && !o.Deleted {
		metaGen, metaSeq = 0, 0
	}
	err := f.offers.add(f.ctx, o.SKU, o.SKU, o.ProductID, o.Name, o.Article, o.Barcode, f.doc.CatalogID,
		boolInt(o.Deleted), metaGen, metaSeq, levels, stockGen, stockSeq, prices, priceGen, priceSeq, changed)
	if err != nil {
		return fmt.Errorf("ledger: store offer %s: %w", o.SKU, err)
	}
	return nil
}

// Commit finishes the file. A full package (СодержитТолькоИзменения=false)
// that gave stock is the whole catalogue, so every SKU of its catalogue
// that it leaves out loses its stock. The SKUs of every product the file
// listed are marked changed, because a product's deletion mark, set or
// cleared, decides whether its SKUs are on sale.
func (f *fileTx) Commit(ctx context.Context) (*FileResult, error) {
	if f.done {
		return nil, errors.New("ledger: commit of a finished file")
	}
	if err := f.flush(); err != nil {
		return nil, err
	}
	gen, seq := f.version.Generated.UnixNano(), f.version.Seq
	if f.hasStock && !f.doc.ChangesOnly {
		_, err := f.tx.ExecContext(ctx, f.s.rebind(`UPDATE offers SET levels = ?, stock_gen = ?, stock_seq = ?, changed_seq = ?
			WHERE catalog_id = ? AND stock_seq <> ? AND levels <> ? AND (stock_gen, stock_seq) < (?, ?)`),
			noLevels, gen, seq, seq, f.doc.CatalogID, seq, noLevels, gen, seq)
		if err != nil {
			return nil, fmt.Errorf("ledger: zero SKUs missing from full package %s: %w", f.doc.File, err)
		}
	}
	if f.nProduct > 0 {
		_, err := f.tx.ExecContext(ctx, f.s.rebind(`UPDATE offers SET changed_seq = ?
			WHERE product_id IN (SELECT id FROM products WHERE seq = ?)`), seq, seq)
		if err != nil {
			return nil, fmt.Errorf("ledger: mark SKUs of products in %s: %w", f.doc.File, err)
		}
	}
	for _, b := range f.batches() {
		b.close()
	}
	if err := f.tx.Commit(); err != nil {
		f.done = true
		return nil, fmt.Errorf("ledger: commit file %s: %w", f.doc.File, err)
	}
	f.done = true
	return &FileResult{Version: f.version, Products: f.nProduct, Offers: f.nOffer}, nil
}

// Changes implements Store.
func (s *SQLStore) Changes(ctx context.Context, seq int64, sku string, limit int) ([]Change, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT sku, changed_seq FROM offers
		WHERE (changed_seq, sku) > (?, ?) ORDER BY changed_seq, sku LIMIT ?`), seq, sku, limit)
	if err != nil {
		return nil, fmt.Errorf("ledger: list changes after file %d: %w", seq, err)
	}
	defer rows.Close()
	var out []Change
	for rows.Next() {
		var c Change
		if err := rows.Scan(&c.SKU, &c.Seq); err != nil {
			return nil, fmt.Errorf("ledger: list changes after file %d: %w", seq, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// ChangedSKUs implements Store.
func (s *SQLStore) ChangedSKUs(ctx context.Context, seq int64, pageSize int, fn func(skus []string) error) error {
	after := ""
	for {
		rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT sku FROM offers WHERE changed_seq = ? AND sku > ?
			ORDER BY sku LIMIT ?`), seq, after, pageSize)
		if err != nil {
			return fmt.Errorf("ledger: list SKUs changed by file %d: %w", seq, err)
		}
		page := make([]string, 0, pageSize)
		for rows.Next() {
			var sku string
			if err := rows.Scan(&sku); err != nil {
				rows.Close()
				return fmt.Errorf("ledger: list SKUs changed by file %d: %w", seq, err)
			}
			page = append(page, sku)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("ledger: list SKUs changed by file %d: %w", seq, err)
		}
		if len(page) > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		after = page[len(page)-1]
	}
}

func (f *fileTx) Rollback() error {
	if f.done {
		return nil
	}
	f.done = true
	for _, b := range f.batches() {
		if b != nil {
			b.close()
		}
	}
	return f.tx.Rollback()
}

// inList returns a condition that col is one of values, and its
// arguments. SQLite gets "col IN (?, ?, …)". PostgreSQL gets
// "col = ANY(?)" with one array argument: with a list of 1000 parameters
// and a table whose statistics lag behind its growth, PostgreSQL 15 took
// about a second per query, against milliseconds for the array form.
func (s *SQLStore) inList(col string, values []string) (string, []any) {
	if s.dialect == dialectPostgres {
		return col + " = ANY(?)", []any{values}
	}
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return col + " IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", ") + ")", args
}

// chunks splits values so that no query exceeds the databases' limits on
// bound parameters (SQLite's default is 32766).
func chunks(values []string, size int) [][]string {
	var out [][]string
	for len(values) > size {
		out = append(out, values[:size])
		values = values[size:]
	}
	if len(values) > 0 {
		out = append(out, values)
	}
	return out
}

// Stock implements Store.
func (s *SQLStore) Stock(ctx context.Context, skus []string) (map[string]*SKUStock, error) {
	out := make(map[string]*SKUStock, len(skus))
	for _, part := range chunks(skus, 1000) {
		in, args := s.inList("o.sku", part)
		rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT o.sku, o.product_id, o.article, o.barcode,
				o.deleted <> 0 OR COALESCE(p.deleted, 0) <> 0, COALESCE(p.article, ''), COALESCE(p.barcode, ''),
				o.levels, o.stock_gen, o.stock_seq, o.prices, o.price_gen, o.price_seq
			FROM offers o LEFT JOIN products p ON p.id = o.product_id
			WHERE `+in), args...)
		if err != nil {
			return nil, fmt.Errorf("ledger: read stock: %w", err)
		}
		for rows.Next() {
			st := &SKUStock{}
			var pArticle, pBarcode, levels, prices string
			var gen, seq, priceGen, priceSeq int64
			if err := rows.Scan(&st.SKU, &st.ProductID, &st.Article, &st.Barcode, &st.Deleted, &pArticle, &pBarcode,
				&levels, &gen, &seq, &prices, &priceGen, &priceSeq); err != nil {
				rows.Close()
				return nil, fmt.Errorf("ledger: read stock: %w", err)
			}
			if st.Article == "" {
				st.Article = pArticle
			}
			if st.Barcode == "" {
				st.Barcode = pBarcode
			}
			if st.Levels, err = decodeLevels(levels, model.Version{Generated: time.Unix(0, gen).UTC(), Seq: seq}); err != nil {
				rows.Close()
				return nil, fmt.Errorf("ledger: stock of %s: %w", st.SKU, err)
			}
			if st.Prices, err = decodePrices(prices, model.Version{Generated: time.Unix(0, priceGen).UTC(), Seq: priceSeq}); err != nil {
				rows.Close()
				return nil, fmt.Errorf("ledger: prices of %s: %w", st.SKU, err)
			}
			out[st.SKU] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("ledger: read stock: %w", err)
		}
		if err := s.fillReserved(ctx, part, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// fillReserved sets the reserved quantities of the SKUs in out, in all and
// per channel, from the active reservation lines.
func (s *SQLStore) fillReserved(ctx context.Context, skus []string, out map[string]*SKUStock) error {
	in, args := s.inList("sku", skus)
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT sku, channel, SUM(qty) FROM reservation_lines
		WHERE active = 1 AND `+in+` GROUP BY sku, channel`), args...)
	if err != nil {
		return fmt.Errorf("ledger: read reservations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sku, channel string
		var qty int64
		if err := rows.Scan(&sku, &channel, &qty); err != nil {
			return fmt.Errorf("ledger: read reservations: %w", err)
		}
		st := out[sku]
		if st == nil {
			continue
		}
		if st.ReservedBy == nil {
			st.ReservedBy = map[string]int64{}
		}
		st.ReservedBy[channel] += qty
		st.Reserved += qty
	}
	return rows.Err()
}

func decodeLevels(text string, v model.Version) ([]StockLevel, error) {
	var stored []storedLevel
	if err := json.Unmarshal([]byte(text), &stored); err != nil {
		return nil, fmt.Errorf("decode levels %q: %w", text, err)
	}
	levels := make([]StockLevel, 0, len(stored))
	for _, l := range stored {
		q, err := model.ParseDecimal(l[1])
		if err != nil {
			return nil, err
		}
		levels = append(levels, StockLevel{Warehouse: l[0], Quantity: q, Version: v})
	}
	return levels, nil
}

// ForEachSKU implements Store.
func (s *SQLStore) ForEachSKU(ctx context.Context, fn func(sku string) error) error {
	// Page by key so that fn may write to the database between pages.
	after := ""
	for {
		rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT sku FROM offers WHERE sku > ? ORDER BY sku LIMIT 1000`), after)
		if err != nil {
			return fmt.Errorf("ledger: list SKUs: %w", err)
		}
		var page []string
		for rows.Next() {
			var sku string
			if err := rows.Scan(&sku); err != nil {
				rows.Close()
				return fmt.Errorf("ledger: list SKUs: %w", err)
			}
			page = append(page, sku)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("ledger: list SKUs: %w", err)
		}
		for _, sku := range page {
			if err := fn(sku); err != nil {
				return err
			}
		}
		if len(page) < 1000 {
			return nil
		}
		after = page[len(page)-1]
	}
}

// SKU implements Store.
func (s *SQLStore) SKU(ctx context.Context, sku string) (*SKUView, error) {
	st, err := s.Stock(ctx, []string{sku})
	if err != nil {
		return nil, err
	}
	one, ok := st[sku]
	if !ok {
		return nil, fmt.Errorf("SKU %q: %w", sku, ErrNotFound)
	}
	v := &SKUView{SKUStock: *one}
	if v.Prices == nil {
		v.Prices = []PriceLevel{}
	}
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT name FROM offers WHERE sku = ?`), sku).Scan(&v.Name); err != nil {
		return nil, fmt.Errorf("ledger: read offer %s: %w", sku, err)
	}
	return v, nil
}

func decodePrices(text string, v model.Version) ([]PriceLevel, error) {
	var stored []storedPrice
	if err := json.Unmarshal([]byte(text), &stored); err != nil {
		return nil, fmt.Errorf("decode prices %q: %w", text, err)
	}
	out := make([]PriceLevel, 0, len(stored))
	for _, p := range stored {
		val, err := model.ParseDecimal(p[1])
		if err != nil {
			return nil, fmt.Errorf("price %s: %w", p[0], err)
		}
		out = append(out, PriceLevel{PriceType: p[0], Value: val, Currency: p[2], Version: v})
	}
	return out, nil
}

// ChannelStates implements Store.
func (s *SQLStore) ChannelStates(ctx context.Context, channel string, skus []string) (map[string]ChannelState, error) {
	out := make(map[string]ChannelState, len(skus))
	for _, part := range chunks(skus, 1000) {
		in, args := s.inList("sku", part)
		rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT sku, confirmed, confirmed_at, failed, last_error
			FROM channel_state WHERE channel = ? AND `+in), append([]any{channel}, args...)...)
		if err != nil {
			return nil, fmt.Errorf("ledger: read state of channel %s: %w", channel, err)
		}
		for rows.Next() {
			var cs ChannelState
			var confirmed, failed sql.NullInt64
			var at int64
			if err := rows.Scan(&cs.SKU, &confirmed, &at, &failed, &cs.LastError); err != nil {
				rows.Close()
				return nil, fmt.Errorf("ledger: read state of channel %s: %w", channel, err)
			}
			if confirmed.Valid {
				cs.Confirmed = &confirmed.Int64
				cs.ConfirmedAt = time.Unix(0, at).UTC()
			}
			if failed.Valid {
				cs.Failed = &failed.Int64
			}
			out[cs.SKU] = cs
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("ledger: read state of channel %s: %w", channel, err)
		}
	}
	return out, nil
}

// SaveChannelStates implements Store.
func (s *SQLStore) SaveChannelStates(ctx context.Context, channel string, states []ChannelState) error {
	if len(states) == 0 {
		return nil
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("ledger: save state of channel %s: %w", channel, err)
	}
	defer tx.Rollback()
	batch, err := newUpsertBatch(ctx, tx, s,
		`INSERT INTO channel_state(channel, sku, confirmed, confirmed_at, failed, last_error) VALUES `,
		`ON CONFLICT (channel, sku) DO UPDATE SET confirmed = excluded.confirmed, confirmed_at = excluded.confirmed_at,
			failed = excluded.failed, last_error = excluded.last_error`, 6)
	if err != nil {
		return fmt.Errorf("ledger: save state of channel %s: %w", channel, err)
	}
	defer batch.close()
	// Writing in SKU order makes concurrent saves on PostgreSQL lock rows
	// in one order, so two saves cannot deadlock each other. The stable
	// sort keeps the last of repeated SKUs last, so it still wins.
	states = slices.Clone(states)
	slices.SortStableFunc(states, func(a, b ChannelState) int { return strings.Compare(a.SKU, b.SKU) })
	for _, cs := range states {
		var at int64
		if !cs.ConfirmedAt.IsZero() {
			at = cs.ConfirmedAt.UnixNano()
		}
		if err := batch.add(ctx, cs.SKU, channel, cs.SKU, nullInt(cs.Confirmed), at, nullInt(cs.Failed), cs.LastError); err != nil {
			return fmt.Errorf("ledger: save state of channel %s: %w", channel, err)
		}
	}
	if err := batch.flush(ctx); err != nil {
		return fmt.Errorf("ledger: save state of channel %s: %w", channel, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("ledger: save state of channel %s: %w", channel, err)
	}
	return nil
}

func nullInt(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

// AddDeadLetter implements Store.
func (s *SQLStore) AddDeadLetter(ctx context.Context, d DeadLetter) (int64, error) {
	skus, err := json.Marshal(d.SKUs)
	if err != nil {
		return 0, fmt.Errorf("ledger: encode dead letter SKUs: %w", err)
	}
	if d.CreatedAt.IsZero() {
		d.CreatedAt = time.Now()
	}
	var id int64
	err = s.db.QueryRowContext(ctx, s.rebind(`INSERT INTO dead_letters(channel, skus, reason, attempts, last_error, message_id, payload, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (message_id) WHERE message_id <> '' DO NOTHING
		RETURNING id`),
		d.Channel, string(skus), d.Reason, d.Attempts, d.LastError, d.MessageID, d.Payload, d.CreatedAt.UnixNano()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: store dead letter for channel %s: %w", d.Channel, err)
	}
	return id, nil
}

// Cursor implements Store.
func (s *SQLStore) Cursor(ctx context.Context, name string) (time.Time, error) {
	var v int64
	err := s.db.QueryRowContext(ctx, s.rebind(`SELECT value FROM cursors WHERE name = ?`), name).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("ledger: read cursor %s: %w", name, err)
	}
	return time.Unix(0, v).UTC(), nil
}

// SetCursor implements Store.
func (s *SQLStore) SetCursor(ctx context.Context, name string, t time.Time) error {
	_, err := s.db.ExecContext(ctx, s.rebind(`INSERT INTO cursors(name, value) VALUES (?, ?)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value`), name, t.UnixNano())
	if err != nil {
		return fmt.Errorf("ledger: store cursor %s: %w", name, err)
	}
	return nil
}

// SKUsBy implements Store.
func (s *SQLStore) SKUsBy(ctx context.Context, by, value string) ([]string, error) {
	col := "article"
	if by == "barcode" {
		col = "barcode"
	} else if by != "article" {
		return nil, fmt.Errorf("ledger: find SKUs by %q: use article or barcode", by)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT o.sku FROM offers o LEFT JOIN products p ON p.id = o.product_id
		WHERE CASE WHEN o.`+col+` <> '' THEN o.`+col+` ELSE COALESCE(p.`+col+`, '') END = ? ORDER BY o.sku`), value)
	if err != nil {
		return nil, fmt.Errorf("ledger: find SKUs by %s %q: %w", by, value, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var sku string
		if err := rows.Scan(&sku); err != nil {
			return nil, fmt.Errorf("ledger: find SKUs by %s %q: %w", by, value, err)
		}
		out = append(out, sku)
	}
	return out, rows.Err()
}

// SharedKeys implements Store.
func (s *SQLStore) SharedKeys(ctx context.Context, by string, values []string) (map[string]bool, error) {
	col := "article"
	if by == "barcode" {
		col = "barcode"
	} else if by != "article" {
		return nil, fmt.Errorf("ledger: shared keys by %q: use article or barcode", by)
	}
	out := map[string]bool{}
	for _, part := range chunks(values, 1000) {
		in, args := s.inList("k", part)
		rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT k FROM (
				SELECT CASE WHEN o.`+col+` <> '' THEN o.`+col+` ELSE COALESCE(p.`+col+`, '') END AS k
				FROM offers o LEFT JOIN products p ON p.id = o.product_id) keys
			WHERE `+in+` GROUP BY k HAVING COUNT(*) > 1`), args...)
		if err != nil {
			return nil, fmt.Errorf("ledger: shared keys by %s: %w", by, err)
		}
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				rows.Close()
				return nil, fmt.Errorf("ledger: shared keys by %s: %w", by, err)
			}
			out[k] = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("ledger: shared keys by %s: %w", by, err)
		}
	}
	return out, nil
}

// UnpublishedFiles implements Store.
func (s *SQLStore) UnpublishedFiles(ctx context.Context, limit int) ([]FileRef, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT seq, file FROM files WHERE published_at = 0 ORDER BY seq LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("ledger: list unpublished files: %w", err)
	}
	defer rows.Close()
	var out []FileRef
	for rows.Next() {
		var f FileRef
		if err := rows.Scan(&f.Seq, &f.File); err != nil {
			return nil, fmt.Errorf("ledger: list unpublished files: %w", err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// MarkPublished implements Store.
func (s *SQLStore) MarkPublished(ctx context.Context, seq int64, at time.Time) error {
	if _, err := s.db.ExecContext(ctx, s.rebind(`UPDATE files SET published_at = ? WHERE seq = ?`), at.UnixNano(), seq); err != nil {
		return fmt.Errorf("ledger: mark file %d published: %w", seq, err)
	}
	return nil
}

// DeadLetters implements Store.
func (s *SQLStore) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT id, channel, skus, reason, attempts, last_error, message_id, payload, created_at
		FROM dead_letters ORDER BY id DESC LIMIT ?`), limit)
	if err != nil {
		return nil, fmt.Errorf("ledger: list dead letters: %w", err)
	}
	defer rows.Close()
	out := []DeadLetter{}
	for rows.Next() {
		var d DeadLetter
		var skus string
		var at int64
		if err := rows.Scan(&d.ID, &d.Channel, &skus, &d.Reason, &d.Attempts, &d.LastError, &d.MessageID, &d.Payload, &at); err != nil {
			return nil, fmt.Errorf("ledger: list dead letters: %w", err)
		}
		if err := json.Unmarshal([]byte(skus), &d.SKUs); err != nil {
			return nil, fmt.Errorf("ledger: dead letter %d: decode SKUs: %w", d.ID, err)
		}
		d.CreatedAt = time.Unix(0, at).UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// SortLevels orders levels by warehouse id; callers that print levels use it.
func SortLevels(ls []StockLevel) {
	sort.Slice(ls, func(i, j int) bool { return ls[i].Warehouse < ls[j].Warehouse })
}

package ledger

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
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
}

var _ Store = (*SQLStore)(nil)

// DB returns the underlying database handle, for tests and benchmarks.
func (s *SQLStore) DB() *sql.DB { return s.db }

// Close closes the database.
func (s *SQLStore) Close() error { return s.db.Close() }

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
		s:        s,
		tx:       tx,
		ctx:      ctx,
		doc:      doc,
		version:  model.Version{Generated: gen, Seq: seq},
		stockSKU: make(map[string]struct{}),
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

	upProduct, upOffer, upStock, upPrice *sql.Stmt

	stockSKU  map[string]struct{}
	hasStock  bool
	products  int
	offers    int
	priceSeen bool
}

// Version-guarded upserts: a row is replaced only by a strictly newer
// version, so an older or repeated file never overwrites newer state.
const (
	upsertProduct = `INSERT INTO products(id, name, article, barcode, catalog_id, deleted, gen, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET name = excluded.name, article = excluded.article,
			barcode = excluded.barcode, catalog_id = excluded.catalog_id, deleted = excluded.deleted,
			gen = excluded.gen, seq = excluded.seq
		WHERE (excluded.gen, excluded.seq) > (products.gen, products.seq)`
	// An offers file names the product and the SKU; a name or article it
	// omits keeps the value that the catalogue file gave.
	upsertOffer = `INSERT INTO offers(sku, product_id, name, article, barcode, catalog_id, deleted, gen, seq)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (sku) DO UPDATE SET product_id = excluded.product_id,
			name = CASE WHEN excluded.name = '' THEN offers.name ELSE excluded.name END,
			article = CASE WHEN excluded.article = '' THEN offers.article ELSE excluded.article END,
			barcode = CASE WHEN excluded.barcode = '' THEN offers.barcode ELSE excluded.barcode END,
			catalog_id = excluded.catalog_id, deleted = excluded.deleted,
			gen = excluded.gen, seq = excluded.seq
		WHERE (excluded.gen, excluded.seq) > (offers.gen, offers.seq)`
	upsertStock = `INSERT INTO stock(sku, warehouse, qty, gen, seq) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (sku, warehouse) DO UPDATE SET qty = excluded.qty, gen = excluded.gen, seq = excluded.seq
		WHERE (excluded.gen, excluded.seq) > (stock.gen, stock.seq)`
	upsertPrice = `INSERT INTO prices(sku, price_type, value, currency, gen, seq) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (sku, price_type) DO UPDATE SET value = excluded.value, currency = excluded.currency,
			gen = excluded.gen, seq = excluded.seq
		WHERE (excluded.gen, excluded.seq) > (prices.gen, prices.seq)`
)

func (f *fileTx) prepare() error {
	var err error
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = f.tx.PrepareContext(f.ctx, f.s.rebind(q))
		return st
	}
	f.upProduct = prep(upsertProduct)
	f.upOffer = prep(upsertOffer)
	f.upStock = prep(upsertStock)
	f.upPrice = prep(upsertPrice)
	if err != nil {
		return fmt.Errorf("ledger: prepare statements: %w", err)
	}
	return nil
}

func (f *fileTx) Version() model.Version { return f.version }

// Document implements model.Handler. The header was recorded by BeginFile.
func (f *fileTx) Document(*model.Document) error { return nil }

func (f *fileTx) Product(p *model.Product) error {
	f.products++
	barcode := ""
	if len(p.Barcodes) > 0 {
		barcode = p.Barcodes[0]
	}
	catalog := p.CatalogID
	if catalog == "" {
		catalog = f.doc.CatalogID
	}
	_, err := f.upProduct.ExecContext(f.ctx, p.ID, p.Name, p.Article, barcode, catalog, boolInt(p.Deleted),
		f.version.Generated.UnixNano(), f.version.Seq)
	if err != nil {
		return fmt.Errorf("ledger: store product %s: %w", p.ID, err)
	}
	if p.Deleted {
		// A deleted product takes its SKUs off sale on every channel.
		rows, err := f.tx.QueryContext(f.ctx, f.s.rebind(`SELECT sku FROM offers WHERE product_id = ?`), p.ID)
		if err != nil {
			return fmt.Errorf("ledger: list offers of deleted product %s: %w", p.ID, err)
		}
		defer rows.Close()
		for rows.Next() {
			var sku string
			if err := rows.Scan(&sku); err != nil {
				return fmt.Errorf("ledger: list offers of deleted product %s: %w", p.ID, err)
			}
			f.stockSKU[sku] = struct{}{}
		}
		return rows.Err()
	}
	return nil
}

func (f *fileTx) Offer(o *model.Offer) error {
	f.offers++
	gen, seq := f.version.Generated.UnixNano(), f.version.Seq
	_, err := f.upOffer.ExecContext(f.ctx, o.SKU, o.ProductID, o.Name, o.Article, o.Barcode, f.doc.CatalogID,
		boolInt(o.Deleted), gen, seq)
	if err != nil {
		return fmt.Errorf("ledger: store offer %s: %w", o.SKU, err)
	}
	if o.Deleted {
		f.stockSKU[o.SKU] = struct{}{}
	}
	switch {
	case len(o.Stocks) > 0:
		f.hasStock = true
		f.stockSKU[o.SKU] = struct{}{}
		for _, st := range o.Stocks {
			if _, err := f.upStock.ExecContext(f.ctx, o.SKU, st.Warehouse, st.Quantity.String(), gen, seq); err != nil {
				return fmt.Errorf("ledger: store stock of %s on warehouse %s: %w", o.SKU, st.Warehouse, err)
			}
		}
	case o.Quantity != nil:
		f.hasStock = true
		f.stockSKU[o.SKU] = struct{}{}
		if _, err := f.upStock.ExecContext(f.ctx, o.SKU, model.DefaultWarehouse, o.Quantity.String(), gen, seq); err != nil {
			return fmt.Errorf("ledger: store stock of %s: %w", o.SKU, err)
		}
	}
	for _, p := range o.Prices {
		if _, err := f.upPrice.ExecContext(f.ctx, o.SKU, p.PriceType, p.Value.String(), p.Currency, gen, seq); err != nil {
			return fmt.Errorf("ledger: store price %s of %s: %w", p.PriceType, o.SKU, err)
		}
	}
	return nil
}

// Commit finishes the file. When the file gave stock, two rules complete
// the picture before the commit:
//   - an offer's stock listing is its whole stock, so a warehouse the offer
//     had before and this file leaves out drops to 0;
//   - a full package (СодержитТолькоИзменения=false) is the whole catalogue,
//     so every SKU of its catalogue that it leaves out drops to 0.
func (f *fileTx) Commit(ctx context.Context) (*FileResult, error) {
	if f.done {
		return nil, errors.New("ledger: commit of a finished file")
	}
	gen, seq := f.version.Generated.UnixNano(), f.version.Seq
	if f.hasStock {
		zeroed, err := f.zero(ctx, `UPDATE stock SET qty = '0', gen = ?, seq = ?
			WHERE seq <> ? AND (gen, seq) < (?, ?)
			AND sku IN (SELECT sku FROM stock WHERE seq = ?) RETURNING sku`,
			gen, seq, seq, gen, seq, seq)
		if err != nil {
			return nil, fmt.Errorf("ledger: zero warehouses missing from %s: %w", f.doc.File, err)
		}
		_ = zeroed
		if !f.doc.ChangesOnly {
			zeroed, err := f.zero(ctx, `UPDATE stock SET qty = '0', gen = ?, seq = ?
				WHERE seq <> ? AND (gen, seq) < (?, ?)
				AND sku IN (SELECT sku FROM offers WHERE catalog_id = ?) RETURNING sku`,
				gen, seq, seq, gen, seq, f.doc.CatalogID)
			if err != nil {
				return nil, fmt.Errorf("ledger: zero SKUs missing from full package %s: %w", f.doc.File, err)
			}
			for _, sku := range zeroed {
				f.stockSKU[sku] = struct{}{}
			}
		}
	}
	for _, st := range []*sql.Stmt{f.upProduct, f.upOffer, f.upStock, f.upPrice} {
		st.Close()
	}
	if err := f.tx.Commit(); err != nil {
		f.done = true
		return nil, fmt.Errorf("ledger: commit file %s: %w", f.doc.File, err)
	}
	f.done = true
	res := &FileResult{Version: f.version, Products: f.products, Offers: f.offers}
	res.StockSKUs = make([]string, 0, len(f.stockSKU))
	for sku := range f.stockSKU {
		res.StockSKUs = append(res.StockSKUs, sku)
	}
	return res, nil
}

func (f *fileTx) zero(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := f.tx.QueryContext(ctx, f.s.rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var skus []string
	for rows.Next() {
		var sku string
		if err := rows.Scan(&sku); err != nil {
			return nil, err
		}
		skus = append(skus, sku)
	}
	return skus, rows.Err()
}

func (f *fileTx) Rollback() error {
	if f.done {
		return nil
	}
	f.done = true
	return f.tx.Rollback()
}

// inArgs returns "?, ?, …" for n values and the values as []any.
func inArgs(values []string) (string, []any) {
	args := make([]any, len(values))
	for i, v := range values {
		args[i] = v
	}
	return strings.TrimSuffix(strings.Repeat("?, ", len(values)), ", "), args
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
		in, args := inArgs(part)
		rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT o.sku, o.product_id, o.article, o.barcode,
				o.deleted <> 0 OR COALESCE(p.deleted, 0) <> 0, COALESCE(p.article, ''), COALESCE(p.barcode, '')
			FROM offers o LEFT JOIN products p ON p.id = o.product_id
			WHERE o.sku IN (`+in+`)`), args...)
		if err != nil {
			return nil, fmt.Errorf("ledger: read offers: %w", err)
		}
		for rows.Next() {
			st := &SKUStock{}
			var pArticle, pBarcode string
			if err := rows.Scan(&st.SKU, &st.ProductID, &st.Article, &st.Barcode, &st.Deleted, &pArticle, &pBarcode); err != nil {
				rows.Close()
				return nil, fmt.Errorf("ledger: read offers: %w", err)
			}
			if st.Article == "" {
				st.Article = pArticle
			}
			if st.Barcode == "" {
				st.Barcode = pBarcode
			}
			out[st.SKU] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("ledger: read offers: %w", err)
		}
		levels, err := s.stockLevels(ctx, in, args)
		if err != nil {
			return nil, err
		}
		for sku, ls := range levels {
			st := out[sku]
			if st == nil {
				// Stock for an offer the ledger has no row for cannot be
				// written by BeginFile; keep it visible all the same.
				st = &SKUStock{SKU: sku}
				out[sku] = st
			}
			st.Levels = ls
		}
	}
	return out, nil
}

func (s *SQLStore) stockLevels(ctx context.Context, in string, args []any) (map[string][]StockLevel, error) {
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT sku, warehouse, qty, gen, seq FROM stock
		WHERE sku IN (`+in+`) ORDER BY sku, warehouse`), args...)
	if err != nil {
		return nil, fmt.Errorf("ledger: read stock: %w", err)
	}
	defer rows.Close()
	out := make(map[string][]StockLevel)
	for rows.Next() {
		var sku, qty string
		var l StockLevel
		var gen int64
		if err := rows.Scan(&sku, &l.Warehouse, &qty, &gen, &l.Version.Seq); err != nil {
			return nil, fmt.Errorf("ledger: read stock: %w", err)
		}
		q, err := model.ParseDecimal(qty)
		if err != nil {
			return nil, fmt.Errorf("ledger: stock of %s on %s: %w", sku, l.Warehouse, err)
		}
		l.Quantity = q
		l.Version.Generated = time.Unix(0, gen).UTC()
		out[sku] = append(out[sku], l)
	}
	return out, rows.Err()
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
	v := &SKUView{SKUStock: *one, Prices: []PriceLevel{}}
	if err := s.db.QueryRowContext(ctx, s.rebind(`SELECT name FROM offers WHERE sku = ?`), sku).Scan(&v.Name); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("ledger: read offer %s: %w", sku, err)
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT price_type, value, currency, gen, seq FROM prices
		WHERE sku = ? ORDER BY price_type`), sku)
	if err != nil {
		return nil, fmt.Errorf("ledger: read prices of %s: %w", sku, err)
	}
	defer rows.Close()
	for rows.Next() {
		var p PriceLevel
		var val string
		var gen int64
		if err := rows.Scan(&p.PriceType, &val, &p.Currency, &gen, &p.Version.Seq); err != nil {
			return nil, fmt.Errorf("ledger: read prices of %s: %w", sku, err)
		}
		if p.Value, err = model.ParseDecimal(val); err != nil {
			return nil, fmt.Errorf("ledger: price %s of %s: %w", p.PriceType, sku, err)
		}
		p.Version.Generated = time.Unix(0, gen).UTC()
		v.Prices = append(v.Prices, p)
	}
	return v, rows.Err()
}

// ChannelStates implements Store.
func (s *SQLStore) ChannelStates(ctx context.Context, channel string, skus []string) (map[string]ChannelState, error) {
	out := make(map[string]ChannelState, len(skus))
	for _, part := range chunks(skus, 1000) {
		in, args := inArgs(part)
		rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT sku, confirmed, confirmed_at, failed, last_error
			FROM channel_state WHERE channel = ? AND sku IN (`+in+`)`), append([]any{channel}, args...)...)
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
	st, err := tx.PrepareContext(ctx, s.rebind(`INSERT INTO channel_state(channel, sku, confirmed, confirmed_at, failed, last_error)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (channel, sku) DO UPDATE SET confirmed = excluded.confirmed, confirmed_at = excluded.confirmed_at,
			failed = excluded.failed, last_error = excluded.last_error`))
	if err != nil {
		return fmt.Errorf("ledger: save state of channel %s: %w", channel, err)
	}
	defer st.Close()
	for _, cs := range states {
		var at int64
		if !cs.ConfirmedAt.IsZero() {
			at = cs.ConfirmedAt.UnixNano()
		}
		if _, err := st.ExecContext(ctx, channel, cs.SKU, nullInt(cs.Confirmed), at, nullInt(cs.Failed), cs.LastError); err != nil {
			return fmt.Errorf("ledger: save state of %s on channel %s: %w", cs.SKU, channel, err)
		}
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
	err = s.db.QueryRowContext(ctx, s.rebind(`INSERT INTO dead_letters(channel, skus, reason, attempts, last_error, payload, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`),
		d.Channel, string(skus), d.Reason, d.Attempts, d.LastError, d.Payload, d.CreatedAt.UnixNano()).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("ledger: store dead letter for channel %s: %w", d.Channel, err)
	}
	return id, nil
}

// DeadLetters implements Store.
func (s *SQLStore) DeadLetters(ctx context.Context, limit int) ([]DeadLetter, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.db.QueryContext(ctx, s.rebind(`SELECT id, channel, skus, reason, attempts, last_error, payload, created_at
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
		if err := rows.Scan(&d.ID, &d.Channel, &skus, &d.Reason, &d.Attempts, &d.LastError, &d.Payload, &at); err != nil {
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

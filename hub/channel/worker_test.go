package channel

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"obmenhub/adapters"
	"obmenhub/hub/ledger"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

// fakePusher records pushes and returns for each SKU the error that
// answer gives for it.
type fakePusher struct {
	mu     sync.Mutex
	pushes [][]adapters.StockItem
	answer func(it adapters.StockItem, call int) error
}

func (p *fakePusher) MaxBatch() int { return 100 }

func (p *fakePusher) PushStock(_ context.Context, items []adapters.StockItem) ([]adapters.ItemResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pushes = append(p.pushes, append([]adapters.StockItem(nil), items...))
	out := make([]adapters.ItemResult, len(items))
	for i, it := range items {
		out[i].SKU = it.SKU
		if p.answer != nil {
			out[i].Err = p.answer(it, len(p.pushes))
		}
	}
	return out, nil
}

func (p *fakePusher) sent() []adapters.StockItem {
	p.mu.Lock()
	defer p.mu.Unlock()
	var all []adapters.StockItem
	for _, b := range p.pushes {
		all = append(all, b...)
	}
	return all
}

func newStore(t *testing.T) ledger.Store {
	t.Helper()
	s, err := ledger.OpenSQLite(context.Background(), ledger.SQLiteConfig{Path: filepath.Join(t.TempDir(), "l.db")})
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func putStock(t *testing.T, s ledger.Store, gen time.Time, sku string, wq ...string) {
	t.Helper()
	ctx := context.Background()
	tx, err := s.BeginFile(ctx, &model.Document{File: "offers.xml", Kind: model.KindOffers, Generated: gen, ChangesOnly: true}, gen)
	if err != nil {
		t.Fatalf("BeginFile: %v", err)
	}
	o := &model.Offer{SKU: sku, ProductID: sku}
	for i := 0; i+1 < len(wq); i += 2 {
		o.Stocks = append(o.Stocks, model.Stock{Warehouse: wq[i], Quantity: model.MustDecimal(wq[i+1])})
	}
	if err := tx.Offer(o); err != nil {
		t.Fatalf("Offer: %v", err)
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Sleep(ctx context.Context, d time.Duration) error {
	c.Add(d)
	return ctx.Err()
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newWorker(t *testing.T, s ledger.Store, p adapters.StockPusher, clk *clock, warehouses ...string) *Worker {
	t.Helper()
	b, _ := NewBinder(BindingConfig{})
	w, err := NewWorker(WorkerConfig{Channel: "ozon", Warehouses: warehouses, MaxAttempts: 3, Clock: clk,
		Backoff: func(int) time.Duration { return time.Minute }}, s, StockTarget{Pusher: p, Warehouses: warehouses}, b, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("NewWorker: %v", err)
	}
	return w
}

// runDue runs rounds until nothing is due at the clock's time.
func runDue(t *testing.T, w *Worker) {
	t.Helper()
	for i := 0; i < 100; i++ {
		batch, _ := w.take()
		if len(batch) == 0 {
			return
		}
		if err := w.round(context.Background(), batch); err != nil {
			t.Fatalf("round: %v", err)
		}
	}
	t.Fatalf("still due after 100 rounds")
}

func TestDesired(t *testing.T) {
	st := &ledger.SKUStock{SKU: "A", Levels: []ledger.StockLevel{
		{Warehouse: "w1", Quantity: model.MustDecimal("2.7")},
		{Warehouse: "w2", Quantity: model.MustDecimal("3.4")},
		{Warehouse: "w3", Quantity: model.MustDecimal("-1")},
	}}
	tests := []struct {
		name       string
		st         *ledger.SKUStock
		warehouses []string
		want       int64
	}{
		{"all warehouses", st, nil, 6},
		{"chosen warehouse", st, []string{"w2"}, 3},
		{"negative level counts 0", st, []string{"w1", "w3"}, 2},
		{"unknown warehouse", st, []string{"zz"}, 0},
		{"unknown SKU", nil, nil, 0},
		{"deleted SKU", &ledger.SKUStock{Deleted: true, Levels: st.Levels}, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Desired(tt.st, tt.warehouses); got != tt.want {
				t.Errorf("Desired = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestWorkerSendsOnlyChanges(t *testing.T) {
	s := newStore(t)
	clk := &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	p := &fakePusher{}
	w := newWorker(t, s, p, clk, "w1", "w2")
	putStock(t, s, clk.Now(), "A", "w1", "2", "w2", "3", "w9", "100")

	w.Enqueue([]string{"A"}, clk.Now())
	runDue(t, w)
	w.Enqueue([]string{"A"}, clk.Now())
	runDue(t, w)

	sent := p.sent()
	if len(sent) != 1 || sent[0].Quantity != 5 || sent[0].ExternalID != "A" {
		t.Fatalf("sent %+v, want one push of A=5", sent)
	}
	states, _ := s.ChannelStates(context.Background(), "ozon", []string{"A"})
	if c := states["A"].Confirmed; c == nil || *c != 5 {
		t.Errorf("confirmed = %v, want 5", c)
	}

	putStock(t, s, clk.Now().Add(time.Minute), "A", "w1", "0", "w2", "1")
	w.Enqueue([]string{"A"}, clk.Now())
	runDue(t, w)
	if sent := p.sent(); len(sent) != 2 || sent[1].Quantity != 1 {
		t.Errorf("sent %+v, want a second push of A=1", sent)
	}
}

func TestWorkerDefersWithoutSpendingAttempts(t *testing.T) {
	s := newStore(t)
	clk := &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	until := clk.Now().Add(30 * time.Second)
	p := &fakePusher{answer: func(_ adapters.StockItem, call int) error {
		if call <= 5 {
			return &retry.DeferredError{Until: until, Err: errors.New("pair updated less than 30 s ago")}
		}
		return nil
	}}
	w := newWorker(t, s, p, clk)
	putStock(t, s, clk.Now(), "A", "w1", "4")

	w.Enqueue([]string{"A"}, clk.Now())
	runDue(t, w)
	if n := len(p.sent()); n != 1 {
		t.Fatalf("pushes before deadline = %d, want 1", n)
	}
	for i := 0; i < 5; i++ {
		clk.Add(30 * time.Second)
		until = clk.Now().Add(30 * time.Second)
		runDue(t, w)
	}
	dl, _ := s.DeadLetters(context.Background(), 10)
	if len(dl) != 0 {
		t.Errorf("dead letters = %+v, want none: deferrals spend no attempts", dl)
	}
	states, _ := s.ChannelStates(context.Background(), "ozon", []string{"A"})
	if c := states["A"].Confirmed; c == nil || *c != 4 {
		t.Errorf("confirmed = %v, want 4 after deferrals ended", c)
	}
}

func TestWorkerDeadLettersOnce(t *testing.T) {
	tests := []struct {
		name      string
		err       error
		wantPush  int
		wantAttem int
	}{
		{"retriable until attempts run out", retry.Retriable(errors.New("HTTP 503")), 3, 3},
		{"permanent at once", retry.Permanent(errors.New("offer_id not found")), 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			clk := &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
			p := &fakePusher{answer: func(adapters.StockItem, int) error { return tt.err }}
			w := newWorker(t, s, p, clk)
			putStock(t, s, clk.Now(), "A", "w1", "4")
			w.Enqueue([]string{"A"}, clk.Now())
			for i := 0; i < 6; i++ {
				runDue(t, w)
				clk.Add(time.Minute)
			}
			// A later notice for the same value must not push it again.
			w.Enqueue([]string{"A"}, clk.Now())
			runDue(t, w)

			if n := len(p.sent()); n != tt.wantPush {
				t.Errorf("pushes = %d, want %d", n, tt.wantPush)
			}
			dl, _ := s.DeadLetters(context.Background(), 10)
			if len(dl) != 1 {
				t.Fatalf("dead letters = %d, want exactly 1", len(dl))
			}
			if dl[0].Attempts != tt.wantAttem || dl[0].SKUs[0] != "A" || dl[0].LastError == "" {
				t.Errorf("dead letter = %+v, want %d attempts for A with the error", dl[0], tt.wantAttem)
			}
		})
	}
}

func TestWorkerUnboundSKU(t *testing.T) {
	s := newStore(t)
	clk := &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	p := &fakePusher{}
	b, _ := NewBinder(BindingConfig{By: BindArticle})
	w, _ := NewWorker(WorkerConfig{Channel: "wb", Clock: clk}, s, StockTarget{Pusher: p}, b, slog.New(slog.NewTextHandler(io.Discard, nil)))
	putStock(t, s, clk.Now(), "A", "w1", "4")
	w.Enqueue([]string{"A"}, clk.Now())
	runDue(t, w)
	if n := len(p.sent()); n != 0 {
		t.Errorf("pushes = %d, want 0 for a SKU with no article", n)
	}
	states, _ := s.ChannelStates(context.Background(), "wb", []string{"A"})
	if states["A"].LastError == "" {
		t.Errorf("state of unbound SKU has no error: %+v", states["A"])
	}
	if dl, _ := s.DeadLetters(context.Background(), 10); len(dl) != 0 {
		t.Errorf("dead letters = %d, want 0: unbound SKUs must not flood the queue", len(dl))
	}
}

func TestIntervalChannelWaitsForBoundary(t *testing.T) {
	s := newStore(t)
	clk := &clock{t: time.Date(2026, 12, 1, 10, 1, 0, 0, time.UTC)}
	p := &fakePusher{}
	b, _ := NewBinder(BindingConfig{})
	w, err := NewWorker(WorkerConfig{Channel: "store", Interval: 5 * time.Minute, Clock: clk}, s, StockTarget{Pusher: p}, b,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	putStock(t, s, clk.Now(), "A", "w1", "4")
	w.Notify([]string{"A"})
	runDue(t, w)
	if n := len(p.sent()); n != 0 {
		t.Fatalf("pushes before the interval boundary = %d, want 0", n)
	}
	clk.Add(4 * time.Minute) // 10:05
	runDue(t, w)
	if n := len(p.sent()); n != 1 {
		t.Errorf("pushes at the boundary = %d, want 1", n)
	}
}

func TestSharedArticleBindsNone(t *testing.T) {
	s := newStore(t)
	clk := &clock{t: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	ctx := context.Background()
	tx, err := s.BeginFile(ctx, &model.Document{File: "offers.xml", Kind: model.KindOffers, Generated: clk.Now(), ChangesOnly: true}, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	for sku, article := range map[string]string{"A": "MUG-300", "B": "MUG-300", "C": "KET-17"} {
		o := &model.Offer{SKU: sku, ProductID: sku, Article: article, Stocks: []model.Stock{{Warehouse: "w", Quantity: model.MustDecimal("4")}}}
		if err := tx.Offer(o); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	p := &fakePusher{}
	b, _ := NewBinder(BindingConfig{By: BindArticle})
	w, _ := NewWorker(WorkerConfig{Channel: "shop", Clock: clk}, s, StockTarget{Pusher: p}, b, slog.New(slog.NewTextHandler(io.Discard, nil)))
	// A and C in one round, B in another: A's article is shared all the same.
	for _, round := range [][]string{{"A", "C"}, {"B"}} {
		if err := w.round(ctx, round); err != nil {
			t.Fatal(err)
		}
	}
	sent := p.sent()
	if len(sent) != 1 || sent[0].SKU != "C" {
		t.Errorf("sent %+v, want only C: A and B share an article", sent)
	}
	states, _ := s.ChannelStates(ctx, "shop", []string{"A", "B"})
	for _, sku := range []string{"A", "B"} {
		if states[sku].LastError == "" {
			t.Errorf("state of %s has no error, want the shared-id reason", sku)
		}
	}
}

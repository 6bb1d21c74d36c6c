package channel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"obmenhub/adapters"
	"obmenhub/hub/ledger"
	"obmenhub/hub/model"
	"obmenhub/retry"
)

// WorkerConfig configures the pusher of one channel.
type WorkerConfig struct {
	// Channel is the channel's name from the config. Required.
	Channel string
	// Warehouses lists the 1C warehouse ids whose sum the channel shows.
	// Empty means every warehouse.
	Warehouses []string
	// MaxAttempts is how many times a retriable failure of one SKU is
	// tried before it becomes a dead letter. Default 8. Deferrals (rate
	// limits, an open breaker, vendor pacing rules) do not count.
	MaxAttempts int
	// Backoff returns the wait before attempt n+1 after n failed attempts.
	// Default: 1 s doubling per attempt, at most 5 min.
	Backoff func(attempt int) time.Duration
	// BatchSize is the most SKUs one round reads and pushes. Default 5000;
	// the adapter splits a round into vendor-sized requests.
	BatchSize int
	// Interval, when positive, sends changes at most once per interval, at
	// multiples of it on the clock, for channels that take a batch every
	// few minutes. Zero sends each change at once. Retries and deferrals
	// keep their own times.
	Interval time.Duration
	// Clock is the time source for due times and waits. Default the wall
	// clock. A scaled clock lets tests live through vendor pacing rules
	// such as Ozon's 30 s per product-warehouse pair.
	Clock retry.Clock
}

func (c *WorkerConfig) setDefaults() {
	if c.MaxAttempts == 0 {
		c.MaxAttempts = 8
	}
	if c.Backoff == nil {
		c.Backoff = func(n int) time.Duration {
			return min(time.Second<<min(n-1, 20), 5*time.Minute)
		}
	}
	if c.BatchSize == 0 {
		c.BatchSize = 5000
	}
	if c.Clock == nil {
		c.Clock = retry.SystemClock()
	}
}

// Worker keeps one channel in step with the ledger. Enqueue marks SKUs to
// check; Run checks them one round at a time, so the channel receives its
// pushes in order and never an older value after a newer one. Marks for
// the same SKU collapse into one check that reads the latest ledger value.
type Worker struct {
	cfg    WorkerConfig
	store  ledger.Store
	target Target
	binder *Binder
	log    *slog.Logger

	mu       sync.Mutex
	due      map[string]time.Time
	attempts map[string]int
	wake     chan struct{}
	rounds   int64
	idle     chan struct{} // closed and replaced whenever nothing is due

	warnedTotal bool // logged once that offers with only Количество show 0
	paused      bool
	// retryFailed holds the SKUs that a resync marked: their failed values
	// are tried once more, since the hub may have been restarted with a
	// corrected config.
	retryFailed map[string]bool
}

// Pause stops the worker from starting rounds until Resume; marks still
// collect. Benchmarks use it to time pushes apart from the import.
func (w *Worker) Pause() {
	w.mu.Lock()
	w.paused = true
	w.mu.Unlock()
}

// Resume lets a paused worker start rounds again.
func (w *Worker) Resume() {
	w.mu.Lock()
	w.paused = false
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// NewWorker returns a worker for one channel.
func NewWorker(cfg WorkerConfig, store ledger.Store, target Target, binder *Binder, log *slog.Logger) (*Worker, error) {
	cfg.setDefaults()
	if cfg.Channel == "" {
		return nil, errors.New("channel worker: channel name is empty")
	}
	return &Worker{
		cfg:      cfg,
		store:    store,
		target:   target,
		binder:   binder,
		log:      log.With("channel", cfg.Channel, "target", target.Kind()),
		due:      make(map[string]time.Time),
		attempts: make(map[string]int),
		wake:     make(chan struct{}, 1),
		idle:     make(chan struct{}),
	}, nil
}

// Channel returns the channel's name.
func (w *Worker) Channel() string { return w.cfg.Channel }

// Kind returns what the worker keeps in step: "stock" or "prices".
func (w *Worker) Kind() string { return w.target.Kind() }

// StateKey is the ledger's channel key of the worker's confirmed values:
// the channel's name for stock, "<name>/prices" for prices.
func (w *Worker) StateKey() string {
	if w.target.Kind() == "stock" {
		return w.cfg.Channel
	}
	return w.cfg.Channel + "/" + w.target.Kind()
}

// Value returns the number the channel should show for st, as the
// worker's target computes it, and false when there is none.
func (w *Worker) Value(st *ledger.SKUStock) (int64, bool) { return w.target.Value(st) }

// ExternalID returns the channel's own id of the SKU, or "" when the SKU
// is not bound on the channel.
func (w *Worker) ExternalID(st *ledger.SKUStock) string { return w.binder.Resolve(st) }

// Binder returns the worker's binding of SKUs to the channel's ids.
func (w *Worker) Binder() *Binder { return w.binder }

// Warehouses returns the 1C warehouses whose sum the channel shows.
func (w *Worker) Warehouses() []string { return w.cfg.Warehouses }

// Notify marks skus that changed in the ledger: due at once, or at the
// next interval boundary for an interval channel.
func (w *Worker) Notify(skus []string) {
	at := w.cfg.Clock.Now()
	if iv := w.cfg.Interval; iv > 0 {
		at = at.Truncate(iv).Add(iv)
	}
	w.Enqueue(skus, at)
}

// Enqueue marks skus to be checked at or after at. An earlier mark of a
// SKU wins over a later one.
func (w *Worker) Enqueue(skus []string, at time.Time) {
	if len(skus) == 0 {
		return
	}
	w.mu.Lock()
	for _, sku := range skus {
		if t, ok := w.due[sku]; !ok || at.Before(t) {
			w.due[sku] = at
		}
	}
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Resync marks every SKU of the ledger to be checked now. The hub calls it
// on start, so that whatever a crash left unsent is sent. A value that was
// dead-lettered is tried once more, because the hub may have been
// restarted with a corrected config or credentials.
func (w *Worker) Resync(ctx context.Context) error {
	now := w.cfg.Clock.Now()
	var page []string
	err := w.store.ForEachSKU(ctx, func(sku string) error {
		w.mu.Lock()
		if w.retryFailed == nil {
			w.retryFailed = make(map[string]bool)
		}
		w.retryFailed[sku] = true
		w.mu.Unlock()
		page = append(page, sku)
		if len(page) == 1000 {
			w.Enqueue(page, now)
			page = nil
		}
		return nil
	})
	w.Enqueue(page, now)
	if err != nil {
		return fmt.Errorf("channel %s: resync: %w", w.cfg.Channel, err)
	}
	return nil
}

// Idle returns a channel that is closed once nothing is due now or
// earlier; SKUs deferred to a later time do not count. Tests and the demo
// wait on it.
func (w *Worker) Idle() <-chan struct{} {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.idle
}

// Pending returns the number of SKUs waiting to be checked.
func (w *Worker) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.due)
}

// Run checks due SKUs until ctx is done.
func (w *Worker) Run(ctx context.Context) error {
	for {
		batch, next := w.take()
		if len(batch) > 0 {
			if err := w.round(ctx, batch); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				// The ledger failed us; check the same SKUs again shortly.
				w.log.Error("push round failed", "skus", len(batch), "err", err)
				w.Enqueue(batch, w.cfg.Clock.Now().Add(time.Second))
			}
			continue
		}
		wait := time.Hour
		if !next.IsZero() {
			wait = max(next.Sub(w.cfg.Clock.Now()), time.Millisecond)
		}
		if done := w.sleep(ctx, wait); done {
			return nil
		}
	}
}

// sleep waits for wait on the worker's clock, a wake-up or the end of ctx,
// and reports whether ctx ended.
func (w *Worker) sleep(ctx context.Context, wait time.Duration) bool {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	slept := make(chan struct{})
	go func() {
		w.cfg.Clock.Sleep(sctx, wait)
		close(slept)
	}()
	select {
	case <-ctx.Done():
		return true
	case <-w.wake:
		return false
	case <-slept:
		return false
	}
}

// take removes and returns up to BatchSize SKUs that are due, in SKU
// order, and the earliest time of the rest.
func (w *Worker) take() ([]string, time.Time) {
	now := w.cfg.Clock.Now()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.paused {
		return nil, time.Time{}
	}
	var batch []string
	var next time.Time
	for sku, at := range w.due {
		if !at.After(now) {
			batch = append(batch, sku)
			continue
		}
		if next.IsZero() || at.Before(next) {
			next = at
		}
	}
	sort.Strings(batch)
	if len(batch) > w.cfg.BatchSize {
		// The rest stays due now, for the next round.
		batch = batch[:w.cfg.BatchSize]
		next = now
	}
	for _, sku := range batch {
		delete(w.due, sku)
	}
	if len(batch) == 0 {
		select {
		case <-w.idle:
		default:
			close(w.idle)
		}
	} else {
		select {
		case <-w.idle:
			w.idle = make(chan struct{})
		default:
		}
	}
	return batch, next
}

// round pushes what differs from the channel's confirmed state for skus.
func (w *Worker) round(ctx context.Context, skus []string) error {
	if !w.binder.Loaded() {
		// A catalogue binding has not read the channel's catalogue yet:
		// every SKU would look unbound.
		w.Enqueue(skus, w.cfg.Clock.Now().Add(time.Second))
		return nil
	}
	stock, err := w.store.Stock(ctx, skus)
	if err != nil {
		return err
	}
	states, err := w.store.ChannelStates(ctx, w.StateKey(), skus)
	if err != nil {
		return err
	}
	now := w.cfg.Clock.Now()
	var items []adapters.StockItem
	var save []ledger.ChannelState
	var unbound, ambiguous []string
	claimed := map[string]string{}
	for _, sku := range skus {
		desired, ok := w.target.Value(stock[sku])
		if !ok {
			continue
		}
		if w.target.Kind() == "stock" {
			w.checkTotalOnly(stock[sku])
		}
		cs := states[sku]
		cs.SKU = sku
		if cs.Confirmed != nil && *cs.Confirmed == desired {
			w.forget(sku)
			continue
		}
		if cs.Failed != nil && *cs.Failed == desired && cs.LastError != ErrUnbound.Error() && !w.takeRetry(sku) {
			// Already dead-lettered for this very value. An unbound SKU is
			// looked at again, since a new binding may have come, and so is
			// a SKU that a resync marked.
			continue
		}
		ext := ""
		if st := stock[sku]; st != nil {
			ext = w.binder.Resolve(st)
		}
		if ext == "" {
			unbound = append(unbound, sku)
			cs.Failed = &desired
			cs.LastError = ErrUnbound.Error()
			save = append(save, cs)
			continue
		}
		if other, dup := claimed[ext]; dup {
			// Two SKUs with one channel id: the channel would keep whichever
			// value came last, so neither is sent.
			ambiguous = append(ambiguous, sku, other)
			continue
		}
		claimed[ext] = sku
		items = append(items, adapters.StockItem{SKU: sku, ExternalID: ext, Quantity: desired})
	}
	if field := w.binder.KeyField(); field != "" && len(items) > 0 {
		// The same article or barcode on SKUs outside this round binds
		// none of them either.
		exts := make([]string, len(items))
		for i, it := range items {
			exts[i] = it.ExternalID
		}
		shared, err := w.store.SharedKeys(ctx, field, exts)
		if err != nil {
			return err
		}
		for _, it := range items {
			if shared[it.ExternalID] {
				ambiguous = append(ambiguous, it.SKU)
			}
		}
	}
	if len(ambiguous) > 0 {
		items, save = w.dropAmbiguous(items, save, ambiguous, stock, states)
	}
	if len(unbound) > 0 {
		// One line per round, not per SKU: a large catalogue with no
		// binding would otherwise flood the log.
		w.log.Warn("SKUs not bound on channel; not sent, see the SKU API for each", "count", len(unbound),
			"first_skus", unbound[:min(len(unbound), 5)])
	}
	if len(items) > 0 {
		results, pushErr := w.target.Push(ctx, items, stock)
		save = append(save, w.settle(ctx, items, results, pushErr, states, now)...)
	}
	if err := w.store.SaveChannelStates(ctx, w.StateKey(), save); err != nil {
		return err
	}
	w.mu.Lock()
	w.rounds++
	w.mu.Unlock()
	return nil
}

// settle turns push results into channel states, re-marks what is to be
// tried again and dead-letters what is not.
func (w *Worker) settle(ctx context.Context, items []adapters.StockItem, results []adapters.ItemResult,
	pushErr error, states map[string]ledger.ChannelState, now time.Time) []ledger.ChannelState {
	var save []ledger.ChannelState
	confirmed := 0
	for i, it := range items {
		err := pushErr
		if i < len(results) {
			err = results[i].Err
		}
		cs := states[it.SKU]
		cs.SKU = it.SKU
		q := it.Quantity
		switch retry.Classify(err) {
		case retry.ClassNone:
			confirmed++
			cs.Confirmed, cs.ConfirmedAt, cs.Failed, cs.LastError = &q, now, nil, ""
			w.forget(it.SKU)
			save = append(save, cs)
		case retry.ClassDeferred:
			var d *retry.DeferredError
			errors.As(err, &d)
			w.Enqueue([]string{it.SKU}, d.Until)
		case retry.ClassRetriable:
			n := w.fail(it.SKU)
			if n < w.cfg.MaxAttempts {
				w.log.Warn("push failed; will retry", "sku", it.SKU, "attempt", n, "err", err)
				w.Enqueue([]string{it.SKU}, now.Add(w.cfg.Backoff(n)))
				continue
			}
			save = append(save, w.deadLetter(ctx, it, n, "attempts exhausted", err, cs))
		case retry.ClassPermanent:
			save = append(save, w.deadLetter(ctx, it, w.fail(it.SKU), "permanent failure", err, cs))
		}
	}
	w.log.Info("pushed "+w.target.Kind(), "items", len(items), "confirmed", confirmed)
	return save
}

func (w *Worker) deadLetter(ctx context.Context, it adapters.StockItem, attempts int, reason string, cause error, cs ledger.ChannelState) ledger.ChannelState {
	// The payload names the unit, because a price travels in kopecks.
	unit := "units"
	if w.target.Kind() == "prices" {
		unit = "kopecks"
	}
	payload, _ := json.Marshal(map[string]any{"sku": it.SKU, "external_id": it.ExternalID, "kind": w.target.Kind(),
		"value": it.Quantity, "unit": unit})
	id, err := w.store.AddDeadLetter(ctx, ledger.DeadLetter{
		Channel:   w.StateKey(),
		SKUs:      []string{it.SKU},
		Reason:    reason,
		Attempts:  attempts,
		LastError: cause.Error(),
		Payload:   string(payload),
		CreatedAt: w.cfg.Clock.Now(),
	})
	if err != nil {
		// Without the dead letter the failure must stay visible: keep the
		// SKU due so that the next round records it again.
		w.log.Error("store dead letter failed", "sku", it.SKU, "err", err)
		w.Enqueue([]string{it.SKU}, w.cfg.Clock.Now().Add(time.Second))
		return cs
	}
	w.log.Error("push dead-lettered", "sku", it.SKU, "dead_letter", id, "reason", reason, "attempts", attempts, "err", cause)
	w.forget(it.SKU)
	q := it.Quantity
	cs.Failed = &q
	cs.LastError = cause.Error()
	return cs
}

func (w *Worker) fail(sku string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.attempts[sku]++
	return w.attempts[sku]
}

func (w *Worker) forget(sku string) {
	w.mu.Lock()
	delete(w.attempts, sku)
	w.mu.Unlock()
}

// checkTotalOnly logs once when the channel lists 1C warehouses and a SKU
// has stock only as a total (Количество without a warehouse), which such a
// channel does not count.
func (w *Worker) checkTotalOnly(st *ledger.SKUStock) {
	if w.warnedTotal || st == nil || len(w.cfg.Warehouses) == 0 || contains(w.cfg.Warehouses, model.DefaultWarehouse) {
		return
	}
	for _, l := range st.Levels {
		if l.Warehouse != model.DefaultWarehouse {
			return
		}
	}
	if len(st.Levels) == 0 {
		return
	}
	w.warnedTotal = true
	w.log.Warn(`SKU has stock only as a total without warehouse, which this channel does not count; add "" to the channel's warehouses to count it`,
		"sku", st.SKU, "warehouses", w.cfg.Warehouses)
}

// takeRetry reports whether sku was marked by a resync, and clears the mark.
func (w *Worker) takeRetry(sku string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.retryFailed[sku] {
		return false
	}
	delete(w.retryFailed, sku)
	return true
}

// ErrAmbiguous is the cause recorded for SKUs that share one channel id.
var ErrAmbiguous = errors.New("SKU shares its channel id with another SKU; bind by another key or a map file")

// dropAmbiguous removes the items of SKUs that share a channel id and
// records them as unbound with ErrAmbiguous.
func (w *Worker) dropAmbiguous(items []adapters.StockItem, save []ledger.ChannelState, ambiguous []string,
	stock map[string]*ledger.SKUStock, states map[string]ledger.ChannelState) ([]adapters.StockItem, []ledger.ChannelState) {
	drop := map[string]bool{}
	for _, sku := range ambiguous {
		drop[sku] = true
	}
	kept := items[:0]
	for _, it := range items {
		if !drop[it.SKU] {
			kept = append(kept, it)
		}
	}
	for sku := range drop {
		desired, _ := w.target.Value(stock[sku])
		cs := states[sku]
		cs.SKU = sku
		cs.Failed = &desired
		cs.LastError = ErrUnbound.Error() + ": " + ErrAmbiguous.Error()
		save = append(save, cs)
	}
	w.log.Warn("SKUs share a channel id; none of them is sent", "count", len(drop), "first_skus", ambiguous[:min(len(ambiguous), 4)])
	return kept, save
}

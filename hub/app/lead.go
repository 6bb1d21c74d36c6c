package app

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"obmenhub/hub/bus"
	"obmenhub/hub/config"
	"obmenhub/hub/ledger"
)

// leaseRetry is how long an instance waits before it tries again for a
// lease that another instance holds.
const leaseRetry = time.Second

// openStore opens the ledger that cfg names and the locker that goes with
// it.
func openStore(ctx context.Context, cfg config.StoreConfig) (ledger.Store, ledger.Locker, error) {
	var s *ledger.SQLStore
	var err error
	switch cfg.Driver {
	case "postgres":
		dsn, serr := config.Secret("store.dsn_env", cfg.DSNEnv)
		if serr != nil {
			return nil, nil, serr
		}
		s, err = ledger.OpenPostgres(ctx, ledger.PostgresConfig{DSN: dsn})
	default:
		s, err = ledger.OpenSQLite(ctx, ledger.SQLiteConfig{Path: cfg.Path})
	}
	if err != nil {
		return nil, nil, err
	}
	return s, s.Locker(), nil
}

// openBus opens the bus that cfg names.
func openBus(cfg *config.Config, log *slog.Logger) (*bus.Bus, error) {
	if cfg.Bus.Driver != "amqp" {
		return bus.NewMemory(log), nil
	}
	url, err := config.Secret("bus.url_env", cfg.Bus.URLEnv)
	if err != nil {
		return nil, err
	}
	names := make([]string, len(cfg.Channels))
	for i, ch := range cfg.Channels {
		names[i] = ch.Name
	}
	return bus.NewAMQP(bus.AMQPConfig{URL: url, Prefix: cfg.Bus.Prefix, Channels: names}, log)
}

// lead runs fn while this instance holds the lease name, and tries again
// for the lease whenever it is lost or held by another instance, until ctx
// ends. One instance at a time runs fn for a name.
func (a *App) lead(ctx context.Context, name string, fn func(ctx context.Context)) {
	log := a.log.With("lease", name, "instance", a.cfg.Instance)
	for ctx.Err() == nil {
		lease, ok, err := a.locker.TryLock(ctx, name)
		if err != nil {
			log.Error("take lease failed", "err", err)
		}
		if !ok {
			a.sleep(ctx, leaseRetry)
			continue
		}
		log.Info("lease taken; this instance leads")
		leadCtx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-lease.Done():
				cancel()
			case <-leadCtx.Done():
			}
		}()
		fn(leadCtx)
		cancel()
		if err := lease.Err(); err != nil {
			log.Warn("lease lost; another instance may lead", "err", err)
		}
		lease.Release()
	}
}

// sleep waits on the wall clock, whatever clock the workers use, because
// leases and the outbox poll a database.
func (a *App) sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// runChannel consumes the channel's events and runs its workers until ctx
// ends. It marks every SKU due first, so that the channel receives
// whatever an earlier leader left unsent.
func (a *App) runChannel(ctx context.Context, run *channelRun) {
	log := a.log.With("channel", run.name)
	sub, err := a.Bus.SubscriberFor(run.name)
	if err != nil {
		log.Error("subscribe failed", "err", err)
		a.sleep(ctx, leaseRetry)
		return
	}
	msgs, err := sub.Subscribe(ctx, bus.TopicStockChanged)
	if err != nil {
		log.Error("subscribe failed", "err", err)
		a.sleep(ctx, leaseRetry)
		return
	}
	var wg sync.WaitGroup
	if run.lister != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.refreshCatalog(ctx, run, log)
		}()
	}
	if run.orders != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.pollOrders(ctx, run, run.orders, run.ordersEvery, log)
		}()
	}
	for _, w := range run.workers {
		w := w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.Run(ctx)
		}()
		if err := w.Resync(ctx); err != nil && ctx.Err() == nil {
			log.Error("resync failed", "target", w.Kind(), "err", err)
		}
	}
	// Consuming turns true once the channel is subscribed and has marked
	// every SKU, which is what a lower-priority channel waits for at start.
	a.setConsuming(run.name, true)
	defer a.setConsuming(run.name, false)
	for msg := range msgs {
		a.handleNotice(ctx, run, msg, log)
	}
	wg.Wait()
}

// refreshCatalog reads the channel's catalogue into every catalogue
// binding of its workers, at once and then as often as the binding requests,
// until ctx ends. After each read the workers look at every SKU again,
// since bindings may have come or gone.
func (a *App) refreshCatalog(ctx context.Context, run *channelRun, log *slog.Logger) {
	var every time.Duration
	for _, w := range run.workers {
		if ok, d := w.Binder().FromCatalog(); ok && (every == 0 || d < every) {
			every = d
		}
	}
	if every == 0 {
		return
	}
	for ctx.Err() == nil {
		entries, err := run.lister.ListCatalog(ctx)
		if err != nil {
			if ctx.Err() == nil {
				log.Error("read channel catalogue failed; will retry", "err", err)
				a.sleep(ctx, min(every, time.Minute))
			}
			continue
		}
		for _, w := range run.workers {
			if ok, _ := w.Binder().FromCatalog(); !ok {
				continue
			}
			ambiguous := w.Binder().LoadCatalog(entries, w.Kind() == "prices")
			if len(ambiguous) > 0 {
				log.Warn("catalogue keys shared by several items bind to none", "target", w.Kind(), "count", len(ambiguous),
					"first_keys", ambiguous[:min(len(ambiguous), 5)])
			}
			if err := w.Resync(ctx); err != nil && ctx.Err() == nil {
				log.Error("resync after catalogue read failed", "err", err)
			}
		}
		log.Info("channel catalogue read", "items", len(entries))
		a.sleep(ctx, every)
	}
}

// handleNotice marks the SKUs of one event due on the channel's workers. A
// message that cannot be handled is returned to the bus. On its
// bus.max_deliveries-th delivery it is stored as a dead letter instead,
// once, and acknowledged.
func (a *App) handleNotice(ctx context.Context, run *channelRun, msg *message.Message, log *slog.Logger) {
	ev, err := bus.DecodeStockChanged(msg)
	if err == nil {
		for _, w := range run.workers {
			w.Notify(ev.SKUs)
		}
		msg.Ack()
		return
	}
	attempt := bus.DeliveryAttempt(msg)
	if attempt < a.cfg.Bus.MaxDeliveries {
		log.Warn("event not handled; returned to the bus", "message", msg.UUID, "attempt", attempt, "err", err)
		msg.Nack()
		return
	}
	id, derr := a.Store.AddDeadLetter(ctx, ledger.DeadLetter{
		Channel:   run.name,
		Reason:    fmt.Sprintf("poison message: not handled in %d deliveries", attempt),
		Attempts:  attempt,
		LastError: err.Error(),
		MessageID: run.name + "/" + msg.UUID,
		Payload:   string(msg.Payload),
		CreatedAt: a.clock.Now(),
	})
	if derr != nil {
		log.Error("store dead letter failed; message returned to the bus", "message", msg.UUID, "err", derr)
		msg.Nack()
		return
	}
	log.Error("event dead-lettered", "message", msg.UUID, "dead_letter", id, "attempts", attempt, "err", err)
	msg.Ack()
}

// outboxInterval is how often the relay looks for files whose changes were
// not announced, for example because the broker was down after the commit.
const outboxInterval = 2 * time.Second

// relayOutbox announces the changes of every committed file that has not
// been announced, oldest first, until ctx ends.
func (a *App) relayOutbox(ctx context.Context) {
	for ctx.Err() == nil {
		files, err := a.Store.UnpublishedFiles(ctx, 100)
		if err != nil && ctx.Err() == nil {
			a.log.Error("list unpublished files failed", "err", err)
		}
		for _, f := range files {
			if err := a.Ingest.Publish(ctx, f.Seq, f.File); err != nil {
				a.log.Warn("announce file failed; will retry", "file", f.File, "seq", f.Seq, "err", err)
				break
			}
		}
		a.sleep(ctx, outboxInterval)
	}
}

func (a *App) setConsuming(channel string, on bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.consuming == nil {
		a.consuming = make(map[string]bool)
	}
	a.consuming[channel] = on
}

// Consuming reports whether this instance leads the channel and consumes
// its events now.
func (a *App) Consuming(channel string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.consuming[channel]
}

// expireInterval is how often abandoned reservations are ended.
const expireInterval = 10 * time.Second

// expireReservations ends reservations past their expiry, until ctx ends.
func (a *App) expireReservations(ctx context.Context) {
	for ctx.Err() == nil {
		a.reservations.ExpireDue(ctx)
		a.sleep(ctx, expireInterval)
	}
}

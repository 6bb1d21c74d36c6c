// Package app assembles the hub from its configuration: ledger, bus,
// exchange endpoint, API and one worker per channel.
package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"github.com/gofiber/fiber/v2"

	"obmenhub/hub/api"
	"obmenhub/hub/bus"
	"obmenhub/hub/channel"
	"obmenhub/hub/config"
	"obmenhub/hub/exchange"
	"obmenhub/hub/ingest"
	"obmenhub/hub/ledger"
	"obmenhub/hub/model"
	"obmenhub/mapping/commerceml"
	"obmenhub/retry"
)

// App is a running hub.
type App struct {
	cfg      *config.Config
	log      *slog.Logger
	clock    retry.Clock
	Store    ledger.Store
	Bus      *bus.Bus
	Ingest   *ingest.Service
	Exchange *exchange.Handler
	// Workers lists every channel's workers: stock, and prices where the
	// channel sends prices.
	Workers []*channel.Worker
	// Feeds are the channels that poll the hub, by name.
	Feeds map[string]*channel.Feed

	channels []*channelRun

	fiber    *fiber.App
	locker   ledger.Locker
	listener net.Listener

	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	consuming map[string]bool

	reservations *api.ReservationsAPI
}

// announce tells every channel that the available stock of skus changed,
// as a reservation does. A lost notice costs only latency: the next resync
// or change of those SKUs sends the right numbers.
func (a *App) announce(skus []string) {
	if err := bus.PublishStockChanged(a.Bus.Publisher, "reservation", 0, skus); err != nil {
		a.log.Error("announce reservation change failed", "skus", len(skus), "err", err)
	}
}

// priorityHead is how long a channel may take to start catching up before
// the channel of the next lower priority starts.
const priorityHead = 500 * time.Millisecond

// Options adjust how New builds the hub, for tests and benchmarks.
type Options struct {
	// Clock is the time source of the adapters and channel workers.
	// Default the wall clock.
	Clock retry.Clock
}

// New builds the hub from cfg. It opens the ledger and reads secrets from
// the environment, but starts nothing; Start does.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger, opts ...Options) (*App, error) {
	a := &App{cfg: cfg, log: log, clock: retry.SystemClock()}
	for _, o := range opts {
		if o.Clock != nil {
			a.clock = o.Clock
		}
	}
	ok := false
	defer func() {
		if !ok {
			a.closeAll()
		}
	}()

	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return nil, fmt.Errorf("timezone %q: %w", cfg.Timezone, err)
	}
	a.Store, a.locker, err = openStore(ctx, cfg.Store)
	if err != nil {
		return nil, err
	}
	a.Bus, err = openBus(cfg, log.With("component", "bus"))
	if err != nil {
		return nil, err
	}

	parseOpt := commerceml.Options{Location: loc}
	a.Ingest = &ingest.Service{
		Store:     a.Store,
		Publisher: a.Bus.Publisher,
		Parse: func(r io.Reader, file string, h model.Handler) (*model.Document, error) {
			return commerceml.Parse(r, file, parseOpt, h)
		},
		Log: log.With("component", "ingest"),
	}
	a.Ingest.AfterCommit = func(ctx context.Context, doc *model.Document, res *ledger.FileResult) {
		// A package with stock generated after 1C confirmed an order counts
		// that order already.
		if doc.Kind == model.KindOffers || doc.Kind == model.KindRests {
			a.reflectOrders(ctx, res.Version.Generated)
		}
	}

	password, err := config.Secret("exchange.password_env", cfg.Exchange.PasswordEnv)
	if err != nil {
		return nil, err
	}
	a.Exchange, err = exchange.New(exchange.Config{
		Username:      cfg.Exchange.Username,
		Password:      password,
		Dir:           cfg.Exchange.Dir,
		Zip:           cfg.Exchange.Zip,
		FileLimit:     cfg.Exchange.FileLimit,
		MaxUpload:     cfg.Exchange.MaxUpload,
		ProgressAfter: cfg.Exchange.ProgressAfter,
		Sale:          exchange.SaleConfig{Orders: saleExporter{a}, Location: loc},
	}, a.Ingest, log)
	if err != nil {
		return nil, err
	}

	a.Feeds = map[string]*channel.Feed{}
	chans := slices.Clone(cfg.Channels)
	slices.SortStableFunc(chans, func(x, y config.ChannelConfig) int { return y.Priority - x.Priority })
	for _, ch := range chans {
		run, err := a.newChannel(ch)
		if err != nil {
			return nil, fmt.Errorf("channel %s: %w", ch.Name, err)
		}
		a.channels = append(a.channels, run)
		a.Workers = append(a.Workers, run.workers...)
	}

	a.fiber = fiber.New(fiber.Config{
		AppName:               "obmenhub",
		BodyLimit:             int(cfg.Exchange.FileLimit) + 1<<20,
		DisableStartupMessage: true,
		ReadTimeout:           5 * time.Minute,
	})
	a.Exchange.Register(a.fiber)
	(&api.API{Store: a.Store, Channels: a.Workers, Feeds: a.Feeds, VirtualWarehouses: cfg.VirtualWarehouses,
		Log: log.With("component", "api")}).Register(a.fiber)
	a.reservations = &api.ReservationsAPI{Store: a.Store, Log: log.With("component", "reservations"),
		Now: a.clock.Now, CartTTL: cfg.Reservations.CartTTL, OnChange: a.announce, Limits: a.channelLimits}
	a.reservations.Register(a.fiber)
	a.fiber.Post("/api/v1/channels/:name/orders/webhook", a.orderWebhook)

	ok = true
	return a, nil
}

// Start listens on cfg.Listen and starts, for each channel, a loop that
// takes the channel's lease and, while this instance holds it, consumes the
// channel's events and runs its worker. Another loop relays files whose
// changes were not announced yet.
func (a *App) Start(ctx context.Context) error {
	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", a.cfg.Listen, err)
	}
	a.listener = ln
	ctx, a.cancel = context.WithCancel(ctx)

	// Channels start in priority order: each gets up to priorityHead to take
	// its lease and begin catching up before the next one starts.
	for _, run := range a.channels {
		if len(run.workers) == 0 {
			continue
		}
		run := run
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.lead(ctx, "channel:"+run.name, func(ctx context.Context) { a.runChannel(ctx, run) })
		}()
		for deadline := time.Now().Add(priorityHead); time.Now().Before(deadline) && !a.Consuming(run.name); {
			time.Sleep(5 * time.Millisecond)
		}
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.lead(ctx, "outbox", a.relayOutbox)
	}()
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.lead(ctx, "reservations", a.expireReservations)
	}()

	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.fiber.Listener(ln); err != nil {
			a.log.Error("HTTP server stopped", "err", err)
		}
	}()
	a.log.Info("hub started", "listen", ln.Addr().String(), "channels", len(a.channels), "store", a.cfg.Store.Path)
	return nil
}

// Addr returns the address the hub listens on, after Start.
func (a *App) Addr() string { return a.listener.Addr().String() }

// Shutdown stops accepting requests, lets running imports finish until ctx
// ends, stops the workers and closes the ledger.
func (a *App) Shutdown(ctx context.Context) error {
	var errs []error
	if a.fiber != nil {
		errs = append(errs, a.fiber.ShutdownWithContext(ctx))
	}
	if a.listener != nil {
		// fasthttp closes only listeners its Serve has registered, and a
		// Shutdown right after Start can come first; closing it here ends
		// Serve in either order.
		a.listener.Close()
	}
	if a.Exchange != nil {
		errs = append(errs, a.Exchange.Close(ctx))
	}
	if a.cancel != nil {
		a.cancel()
	}
	a.wg.Wait()
	errs = append(errs, a.closeAll())
	a.log.Info("hub stopped")
	return errors.Join(errs...)
}

func (a *App) closeAll() error {
	var errs []error
	if a.Bus != nil {
		errs = append(errs, a.Bus.Close())
	}
	if a.Store != nil {
		errs = append(errs, a.Store.Close())
	}
	return errors.Join(errs...)
}

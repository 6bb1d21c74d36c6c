// Command hub runs the obmenhub integration hub: the 1C exchange endpoint,
// the ledger, the bus and the channel pushers.
//
//	hub -config configs/hub.yaml
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"obmenhub/hub/app"
	"obmenhub/hub/config"
	"obmenhub/retry"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "hub:", err)
		os.Exit(1)
	}
}

func run() error {
	configPath := flag.String("config", "configs/hub.yaml", "path of the YAML config file; configs/hub.example.yaml documents every key")
	flag.Parse()

	cfg, err := config.Load(*configPath)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w; copy configs/hub.example.yaml there or pass -config", err)
	}
	if err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return fmt.Errorf("log_level %q: %w", cfg.LogLevel, err)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level, ReplaceAttr: durationText}))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var opts app.Options
	if cfg.Demo.TimeScale > 1 {
		opts.Clock = retry.NewScaledClock(cfg.Demo.TimeScale)
		log.Warn("hub clock runs faster than real time; use only against simulators", "time_scale", cfg.Demo.TimeScale)
	}

	demo, err := app.StartDemo(cfg, log, opts.Clock)
	if err != nil {
		return err
	}
	defer demo.Close()

	a, err := app.New(ctx, cfg, log, opts)
	if err != nil {
		return err
	}
	if err := a.Start(ctx); err != nil {
		a.Shutdown(context.Background())
		return err
	}
	if demo.Running() {
		demo.PrintHelp(os.Stdout, a.Addr(), cfg)
	}

	<-ctx.Done()
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	return a.Shutdown(shutdownCtx)
}

// durationText writes durations as text such as "1.5s": the JSON handler
// would write bare nanoseconds.
func durationText(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		return slog.String(a.Key, a.Value.Duration().String())
	}
	return a
}

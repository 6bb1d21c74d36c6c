package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"sync"
	"time"

	"obmenhub/e2e/ozonsim"
	"obmenhub/e2e/wbsim"
	"obmenhub/hub/config"
	"obmenhub/retry"
)

// Demo holds the marketplace simulators that a demo config starts in the
// hub's process.
type Demo struct {
	ozon *ozonsim.Server
	wb   *wbsim.Server
	shop *http.Server
}

// StartDemo starts the simulators that cfg.Demo names. Each accepts the
// credentials of the configured channels that point at it, so the demo
// exercises authentication as a real account does.
//
// A nil clock means the wall clock.
func StartDemo(cfg *config.Config, log *slog.Logger, clock retry.Clock) (*Demo, error) {
	d := &Demo{}
	if clock == nil {
		clock = retry.SystemClock()
	}
	if addr := cfg.Demo.OzonListen; addr != "" {
		sc := ozonsim.Config{Logger: log.With("component", "ozon-simulator"), Clock: clock, SpecOptional: true}
		for _, ch := range channelsAt(cfg, "ozon", addr) {
			sc.ClientID = ch.ClientID
			sc.APIKey = os.Getenv(ch.APIKeyEnv)
		}
		s, err := ozonsim.Start(addr, sc)
		if err != nil {
			return nil, fmt.Errorf("demo: start Ozon simulator on %s: %w", addr, err)
		}
		d.ozon = s
	}
	if addr := cfg.Demo.WildberriesListen; addr != "" {
		sc := wbsim.Config{Logger: log.With("component", "wildberries-simulator"), Clock: clock, SpecOptional: true}
		for _, ch := range channelsAt(cfg, "wildberries", addr) {
			sc.Token = os.Getenv(ch.TokenEnv)
		}
		s, err := wbsim.Start(addr, sc)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("demo: start Wildberries simulator on %s: %w", addr, err)
		}
		d.wb = s
	}
	if addr := cfg.Demo.ShopListen; addr != "" {
		s, err := startDemoShop(addr)
		if err != nil {
			d.Close()
			return nil, fmt.Errorf("demo: start shop on %s: %w", addr, err)
		}
		d.shop = s
	}
	return d, nil
}

// startDemoShop starts a store API that has no adapter of its own, for the demo's
// channel described in YAML alone: it takes POST /stock with
// {"items":[{"id","qty"}]} and POST /prices with {"prices":[{"id","price"}]},
// and lists what it holds at GET /sim/stocks.
func startDemoShop(addr string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	var mu sync.Mutex
	stock := map[string]int64{}
	prices := map[string]string{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /stock", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Items []struct {
				ID  string `json:"id"`
				Qty int64  `json:"qty"`
			} `json:"items"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, it := range in.Items {
			stock[it.ID] = it.Qty
		}
		mu.Unlock()
		w.Write([]byte(`{"errors":[]}`))
	})
	mux.HandleFunc("POST /prices", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Prices []struct {
				ID    string `json:"id"`
				Price string `json:"price"`
			} `json:"prices"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		mu.Lock()
		for _, p := range in.Prices {
			prices[p.ID] = p.Price
		}
		mu.Unlock()
		w.Write([]byte(`{"errors":[]}`))
	})
	mux.HandleFunc("GET /sim/stocks", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"stock": stock, "prices": prices})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return srv, nil
}

// channelsAt returns the channels of kind whose base_url has host addr.
func channelsAt(cfg *config.Config, kind, addr string) []config.ChannelConfig {
	var out []config.ChannelConfig
	for _, ch := range cfg.Channels {
		u, err := url.Parse(ch.BaseURL)
		if err == nil && ch.Kind == kind && u.Host == addr {
			out = append(out, ch)
		}
	}
	return out
}

// Running reports whether any simulator runs.
func (d *Demo) Running() bool { return d.ozon != nil || d.wb != nil || d.shop != nil }

// Close stops the simulators.
func (d *Demo) Close() error {
	var errs []error
	if d.ozon != nil {
		errs = append(errs, d.ozon.Close())
	}
	if d.wb != nil {
		errs = append(errs, d.wb.Close())
	}
	if d.shop != nil {
		errs = append(errs, d.shop.Close())
	}
	return errors.Join(errs...)
}

// PrintHelp writes to w how to post the sample package to the hub at addr
// and where to see the result.
func (d *Demo) PrintHelp(w io.Writer, addr string, cfg *config.Config) {
	base := "http://" + addr
	fmt.Fprintf(w, `
obmenhub demo is running on %[1]s
  1C exchange endpoint: %[1]s/1c/exchange   (login %[2]s, password from $%[3]s)
  marketplace simulators: Ozon %[4]s, Wildberries %[5]s

Post the sample 1C package as 1C does (in another terminal):
  go run ./cmd/hubctl post --url %[1]s/1c/exchange --user %[2]s --password-env %[3]s \
      configs/demo/import.xml configs/demo/offers.xml

or step by step with curl:
  curl -su %[2]s:"$%[3]s" -c var/cookies '%[1]s/1c/exchange?type=catalog&mode=checkauth'
  curl -sb var/cookies '%[1]s/1c/exchange?type=catalog&mode=init'
  curl -sb var/cookies --data-binary @configs/demo/offers.xml '%[1]s/1c/exchange?type=catalog&mode=file&filename=offers.xml'
  curl -sb var/cookies '%[1]s/1c/exchange?type=catalog&mode=import&filename=offers.xml'

Then see what each channel holds for a SKU, and what the simulators hold:
  curl -s %[1]s/api/v1/skus/0a1b2c3d-0001-4000-8000-000000000001
  curl -s http://%[4]s/sim/stocks
  curl -s http://%[5]s/sim/stocks
  curl -s http://%[6]s/sim/stocks     # the channel described in YAML alone

A web store that polls reads its feed:
  curl -s %[1]s/api/v1/channels/store/feed

Place an order on the Ozon simulator; within 5 s it reserves stock and
lowers every other channel, and 1C can fetch it with type=sale:
  curl -s -X POST http://%[4]s/sim/postings -d '{"posting_number":"0001-1","offer_id":"0a1b2c3d-0001-4000-8000-000000000001","quantity":2,"price":"2490","warehouse_id":22000000001}'
  go run ./cmd/hubctl explain 0a1b2c3d-0001-4000-8000-000000000001

The simulators start empty on every start, while ./var keeps what the
channels confirmed: delete ./var to start the demo over.

Stop with Ctrl+C.
`, base, cfg.Exchange.Username, cfg.Exchange.PasswordEnv, cfg.Demo.OzonListen, cfg.Demo.WildberriesListen, cfg.Demo.ShopListen)
}

// Package config loads the hub's YAML configuration. Every key is
// documented in configs/hub.example.yaml. Secrets never appear in the
// file: a key ending in _env names the environment variable that holds
// the secret.
package config

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/goccy/go-yaml"

	"obmenhub/adapters/generic"
	"obmenhub/hub/alloc"
	"obmenhub/hub/channel"
)

// Config is the whole hub configuration.
type Config struct {
	// Listen is the HTTP address of the exchange endpoint and the API.
	// Default 127.0.0.1:8080.
	Listen string `yaml:"listen"`
	// Instance names this hub process in logs and in the User-Agent of
	// vendor requests. Default: host name and process id.
	Instance string `yaml:"instance"`
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel string `yaml:"log_level"`
	// Timezone applies to 1C dates written without a zone. Default
	// Europe/Moscow.
	Timezone string          `yaml:"timezone"`
	Store    StoreConfig     `yaml:"store"`
	Bus      BusConfig       `yaml:"bus"`
	Exchange ExchangeConfig  `yaml:"exchange"`
	Channels []ChannelConfig `yaml:"channels"`
	// VirtualWarehouses pool 1C warehouses and decide how much of the pool
	// each bound channel shows; see hub/alloc for the rules.
	VirtualWarehouses []alloc.Warehouse `yaml:"virtual_warehouses"`
	// Reservations configures the reservations API.
	Reservations ReservationsConfig `yaml:"reservations"`
	Demo         DemoConfig         `yaml:"demo"`
}

// ReservationsConfig configures POST /api/v1/reservations.
type ReservationsConfig struct {
	// CartTTL ends a reservation that is neither committed nor released, such as
	// an abandoned web-store cart, when the request gives no ttl.
	// Default 30m; 0 in the request keeps a reservation until released.
	CartTTL time.Duration `yaml:"cart_ttl"`
}

// StoreConfig chooses the ledger store.
type StoreConfig struct {
	// Driver is sqlite (default) or postgres.
	Driver string `yaml:"driver"`
	// Path is the SQLite file. Default ./var/hub.db.
	Path string `yaml:"path"`
	// DSNEnv names the environment variable with the PostgreSQL connection
	// string, such as postgres://hub:secret@db:5432/obmenhub. Required for
	// postgres.
	DSNEnv string `yaml:"dsn_env"`
}

// BusConfig chooses the event bus.
type BusConfig struct {
	// Driver is memory (default), the in-process Watermill GoChannel, or
	// amqp, RabbitMQ.
	Driver string `yaml:"driver"`
	// URLEnv names the environment variable with the RabbitMQ URL, such as
	// amqp://hub:secret@mq:5672/. Required for amqp.
	URLEnv string `yaml:"url_env"`
	// Prefix starts the name of every exchange and queue the hub declares.
	// Default obmenhub.
	Prefix string `yaml:"prefix"`
	// MaxDeliveries is how many times an event that cannot be handled is
	// delivered before it is stored as a dead letter. Default 5.
	MaxDeliveries int `yaml:"max_deliveries"`
}

// ExchangeConfig configures 1C's "exchange with site" endpoint.
type ExchangeConfig struct {
	// Username is the login 1C sends. Required.
	Username string `yaml:"username"`
	// PasswordEnv names the environment variable with 1C's password.
	// Required, and the variable must be set and non-empty.
	PasswordEnv string `yaml:"password_env"`
	// Dir is the upload directory that sessions keep their files in.
	// Default ./var/exchange.
	Dir string `yaml:"dir"`
	// Zip lets 1C send zip archives. Default false.
	Zip bool `yaml:"zip"`
	// FileLimit is the chunk size in bytes that init sends 1C to split files
	// into. Default 100 MiB.
	FileLimit int64 `yaml:"file_limit"`
	// MaxUpload is the largest file in bytes accepted after all chunks.
	// Default 2 GiB.
	MaxUpload int64 `yaml:"max_upload"`
	// ProgressAfter is how long an import call waits before it returns
	// "progress". Default 15s.
	ProgressAfter time.Duration `yaml:"progress_after"`
}

// ChannelConfig describes one sales channel account.
type ChannelConfig struct {
	// Name is unique among channels, used in logs, the API and the ledger.
	Name string `yaml:"name"`
	// Kind is the adapter: ozon or wildberries.
	Kind string `yaml:"kind"`
	// BaseURL is the vendor API root, such as https://api-seller.ozon.ru.
	BaseURL string `yaml:"base_url"`
	// Warehouses lists the 1C warehouse ids (Склад Ид) whose sum this
	// channel shows; empty means all.
	Warehouses []string `yaml:"warehouses"`
	// WarehouseID is the channel's own warehouse id that stock goes to.
	WarehouseID int64 `yaml:"warehouse_id"`
	// ClientID is Ozon's Client-Id; not a secret.
	ClientID string `yaml:"client_id"`
	// APIKeyEnv names the variable with Ozon's Api-Key.
	APIKeyEnv string `yaml:"api_key_env"`
	// TokenEnv names the variable with the Wildberries API token.
	TokenEnv string `yaml:"token_env"`
	// Login is the InSales app identifier sent with HTTP Basic auth; not a
	// secret.
	Login string `yaml:"login"`
	// PasswordEnv names the variable with the InSales app password.
	PasswordEnv string `yaml:"password_env"`
	// RequestsPerMinute overrides the vendor's documented request rate;
	// 0 keeps it (Ozon stock: 80, Wildberries stock: 300).
	RequestsPerMinute float64 `yaml:"requests_per_minute"`
	// Binding chooses how the channel's ids are found for SKUs.
	Binding channel.BindingConfig `yaml:"binding"`
	// MaxAttempts is how often a retriable failure is tried before it is
	// dead-lettered. Default 8.
	MaxAttempts int `yaml:"max_attempts"`
	// Prices, when set, sends prices too.
	Prices *PricesConfig `yaml:"prices"`
	// Orders, when set, reads the channel's orders: each new order
	// reserves its stock and a cancelled one releases it.
	Orders *OrdersConfig `yaml:"orders"`
	// Webstore configures a kind webstore channel: the seller's own store.
	Webstore *WebstoreConfig `yaml:"webstore"`
	// Generic describes a kind generic channel, an HTTP API set up in
	// YAML alone; see adapters/generic.
	Generic *generic.Config `yaml:"generic"`
	// Mode is push (default: each change at once) or interval (changes
	// every Interval).
	Mode string `yaml:"mode"`
	// Interval is the period of an interval channel, such as 5m.
	Interval time.Duration `yaml:"interval"`
	// BatchSize caps the SKUs one round reads and sends; the adapter
	// splits a round into requests of the vendor's size. Default 5000.
	BatchSize int `yaml:"batch_size"`
	// Priority orders the channels at start: a channel with a higher
	// priority takes its lease and catches up first. Default 0.
	Priority int `yaml:"priority"`
}

// WebstoreConfig is the seller's own store, which takes signed webhooks,
// polls a feed, or both.
type WebstoreConfig struct {
	// WebhookURL receives signed JSON webhooks with stock and prices.
	// Empty: no pushes, the store only polls.
	WebhookURL string `yaml:"webhook_url"`
	// SecretEnv names the variable with the shared HMAC secret, at least 16
	// bytes. Required with webhook_url.
	SecretEnv string `yaml:"secret_env"`
	// Pull serves GET /api/v1/channels/<name>/feed for a store that polls.
	Pull bool `yaml:"pull"`
}

// OrdersConfig sets how a channel's orders are read.
type OrdersConfig struct {
	// Poll is how often the hub requests the channel's new and changed
	// orders, such as 30s. Required.
	Poll time.Duration `yaml:"poll"`
	// WebhookTokenEnv, for a channel that pushes orders (InSales), names
	// the variable with the token that POST
	// /api/v1/channels/<name>/orders/webhook?token=... must carry. Empty:
	// no webhook.
	WebhookTokenEnv string `yaml:"webhook_token_env"`
}

// PricesConfig maps 1C price types onto a channel's prices.
type PricesConfig struct {
	// PriceType is the 1C price type id (ИдТипаЦены) of the selling
	// price. Required.
	PriceType string `yaml:"price_type"`
	// OldPriceType is the 1C price type id of the crossed-out price before
	// a discount. Optional.
	OldPriceType string `yaml:"old_price_type"`
	// Binding, when set, replaces the channel's binding for prices, for a
	// vendor that names goods differently there (Wildberries takes stock by
	// chrtId and prices by nmID).
	Binding *channel.BindingConfig `yaml:"binding"`
}

// DemoConfig starts built-in marketplace simulators in the hub process,
// for trying the hub without a marketplace account. Never set in
// production.
type DemoConfig struct {
	// OzonListen starts the Ozon simulator on this loopback address.
	OzonListen string `yaml:"ozon_listen"`
	// WildberriesListen starts the Wildberries simulator on this address.
	WildberriesListen string `yaml:"wildberries_listen"`
	// ShopListen starts a demo store API on this address, for the demo's
	// channel described in YAML alone.
	ShopListen string `yaml:"shop_listen"`
	// TimeScale runs the clock of the adapters, the channel workers and the
	// built-in simulators this many times faster than the wall clock, so
	// that vendor pacing rules (Ozon's 30 s per product-warehouse pair)
	// pass quickly against simulators. 0 or 1 means real time. Never set
	// it against a real marketplace: the hub would exceed its limits.
	TimeScale float64 `yaml:"time_scale"`
}

// Load reads and validates the config file at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(b, path)
}

// Parse decodes and validates config text; name is used in errors.
func Parse(b []byte, name string) (*Config, error) {
	var c Config
	if err := yaml.UnmarshalWithOptions(b, &c, yaml.Strict()); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	c.setDefaults()
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	return &c, nil
}

func (c *Config) setDefaults() {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:8080"
	}
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.Instance == "" {
		host, _ := os.Hostname()
		c.Instance = fmt.Sprintf("%s-%d", host, os.Getpid())
	}
	if c.Timezone == "" {
		c.Timezone = "Europe/Moscow"
	}
	if c.Reservations.CartTTL == 0 {
		c.Reservations.CartTTL = 30 * time.Minute
	}
	if c.Demo.TimeScale < 0 {
		c.Demo.TimeScale = 0
	}
	if c.Store.Driver == "" {
		c.Store.Driver = "sqlite"
	}
	if c.Store.Path == "" {
		c.Store.Path = "./var/hub.db"
	}
	if c.Bus.Driver == "" {
		c.Bus.Driver = "memory"
	}
	if c.Bus.Prefix == "" {
		c.Bus.Prefix = "obmenhub"
	}
	if c.Bus.MaxDeliveries <= 0 {
		c.Bus.MaxDeliveries = 5
	}
	e := &c.Exchange
	if e.Dir == "" {
		e.Dir = "./var/exchange"
	}
	if e.FileLimit == 0 {
		e.FileLimit = 100 << 20
	}
	if e.MaxUpload == 0 {
		e.MaxUpload = 2 << 30
	}
	if e.ProgressAfter == 0 {
		e.ProgressAfter = 15 * time.Second
	}
	for i := range c.Channels {
		if c.Channels[i].MaxAttempts == 0 {
			c.Channels[i].MaxAttempts = 8
		}
	}
}

func (c *Config) validate() error {
	var errs []error
	if _, err := time.LoadLocation(c.Timezone); err != nil {
		errs = append(errs, fmt.Errorf("timezone %q: %w", c.Timezone, err))
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		errs = append(errs, fmt.Errorf("log_level %q: use debug, info, warn or error", c.LogLevel))
	}
	switch c.Store.Driver {
	case "sqlite":
	case "postgres":
		if c.Store.DSNEnv == "" {
			errs = append(errs, errors.New("store.dsn_env is empty; name the environment variable with the PostgreSQL connection string"))
		}
	default:
		errs = append(errs, fmt.Errorf("store.driver %q: use sqlite or postgres", c.Store.Driver))
	}
	switch c.Bus.Driver {
	case "memory":
	case "amqp":
		if c.Bus.URLEnv == "" {
			errs = append(errs, errors.New("bus.url_env is empty; name the environment variable with the RabbitMQ URL"))
		}
	default:
		errs = append(errs, fmt.Errorf("bus.driver %q: use memory or amqp", c.Bus.Driver))
	}
	if c.Exchange.Username == "" {
		errs = append(errs, errors.New("exchange.username is empty; set the login that 1C uses"))
	}
	if c.Exchange.FileLimit < 0 {
		errs = append(errs, fmt.Errorf("exchange.file_limit %d is negative; give the chunk size in bytes", c.Exchange.FileLimit))
	}
	if c.Exchange.MaxUpload < c.Exchange.FileLimit {
		errs = append(errs, fmt.Errorf("exchange.max_upload %d is less than exchange.file_limit %d; raise max_upload", c.Exchange.MaxUpload, c.Exchange.FileLimit))
	}
	if c.Exchange.ProgressAfter < 0 || c.Exchange.ProgressAfter > 20*time.Second {
		errs = append(errs, fmt.Errorf("exchange.progress_after %v is outside 0s..20s; 1C gives up on slower responses", c.Exchange.ProgressAfter))
	}
	if c.Exchange.PasswordEnv == "" {
		errs = append(errs, errors.New("exchange.password_env is empty; name the environment variable with 1C's password"))
	}
	seen := map[string]bool{}
	for i, ch := range c.Channels {
		where := fmt.Sprintf("channels[%d] (%s)", i, ch.Name)
		if ch.Name == "" {
			errs = append(errs, fmt.Errorf("channels[%d]: name is empty", i))
		} else if seen[ch.Name] {
			errs = append(errs, fmt.Errorf("%s: duplicate channel name", where))
		}
		seen[ch.Name] = true
		needsBase := ch.Kind == "ozon" || ch.Kind == "wildberries" || ch.Kind == "insales"
		if needsBase && !strings.HasPrefix(ch.BaseURL, "http://") && !strings.HasPrefix(ch.BaseURL, "https://") {
			errs = append(errs, fmt.Errorf("%s: base_url %q must start with http:// or https://", where, ch.BaseURL))
		}
		switch ch.Kind {
		case "ozon":
			if ch.ClientID == "" || ch.APIKeyEnv == "" {
				errs = append(errs, fmt.Errorf("%s: ozon needs client_id and api_key_env", where))
			}
		case "wildberries":
			if ch.TokenEnv == "" {
				errs = append(errs, fmt.Errorf("%s: wildberries needs token_env", where))
			}
		case "insales":
			if ch.Login == "" || ch.PasswordEnv == "" {
				errs = append(errs, fmt.Errorf("%s: insales needs login and password_env", where))
			}
		case "webstore":
			switch {
			case ch.Webstore == nil || (ch.Webstore.WebhookURL == "" && !ch.Webstore.Pull):
				errs = append(errs, fmt.Errorf("%s: webstore needs webstore.webhook_url, webstore.pull: true, or both", where))
			case ch.Webstore.WebhookURL != "" && ch.Webstore.SecretEnv == "":
				errs = append(errs, fmt.Errorf("%s: webstore.webhook_url needs webstore.secret_env", where))
			}
		case "generic":
			if ch.Generic == nil {
				errs = append(errs, fmt.Errorf("%s: generic needs a generic section describing the API", where))
				break
			}
			ch.Generic.SetDefaults()
			if err := ch.Generic.Validate(); err != nil {
				errs = append(errs, fmt.Errorf("%s: generic: %w", where, err))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: kind %q: use ozon, wildberries, insales, webstore or generic", where, ch.Kind))
		}
		switch ch.Mode {
		case "", "push":
		case "interval":
			if ch.Interval <= 0 {
				errs = append(errs, fmt.Errorf("%s: mode interval needs interval, such as 5m", where))
			}
		default:
			errs = append(errs, fmt.Errorf("%s: mode %q: use push or interval", where, ch.Mode))
		}
		if ch.Orders != nil && ch.Orders.Poll <= 0 {
			errs = append(errs, fmt.Errorf("%s: orders.poll must be a positive duration, such as 30s", where))
		}
		if ch.Prices != nil && ch.Prices.PriceType == "" {
			errs = append(errs, fmt.Errorf("%s: prices.price_type is empty; give the 1C price type id (ИдТипаЦены)", where))
		}
		if ch.BatchSize < 0 {
			errs = append(errs, fmt.Errorf("%s: batch_size %d is negative", where, ch.BatchSize))
		}
		if ch.RequestsPerMinute < 0 {
			errs = append(errs, fmt.Errorf("%s: requests_per_minute %v is negative", where, ch.RequestsPerMinute))
		}
		if (ch.Kind == "ozon" || ch.Kind == "wildberries") && ch.WarehouseID <= 0 {
			errs = append(errs, fmt.Errorf("%s: warehouse_id must be the channel's positive warehouse id", where))
		}
	}
	vwNames := map[string]bool{}
	boundIn := map[string]string{}
	for i := range c.VirtualWarehouses {
		vw := &c.VirtualWarehouses[i]
		where := fmt.Sprintf("virtual_warehouses[%d] (%s)", i, vw.Name)
		if err := vw.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("virtual_warehouses[%d]: %w", i, err))
		}
		if vwNames[vw.Name] {
			errs = append(errs, fmt.Errorf("%s: duplicate virtual warehouse name", where))
		}
		vwNames[vw.Name] = true
		for j, b := range vw.Bindings {
			switch {
			case !seen[b.Channel]:
				errs = append(errs, fmt.Errorf("%s: bindings[%d]: channel %q is not in channels; bind a configured channel", where, j, b.Channel))
			case boundIn[b.Channel] != "" && boundIn[b.Channel] != vw.Name:
				// Two virtual warehouses would each promise the channel the
				// same units.
				errs = append(errs, fmt.Errorf("%s: bindings[%d]: channel %q is bound in virtual warehouse %q already; bind each channel in one",
					where, j, b.Channel, boundIn[b.Channel]))
			}
			boundIn[b.Channel] = vw.Name
			if b.Rule == alloc.RuleFixed && b.Quantity <= 0 {
				errs = append(errs, fmt.Errorf("%s: bindings[%d] (%s): rule fixed needs a positive quantity", where, j, b.Channel))
			}
			if b.Rule == alloc.RuleShare && b.Percent <= 0 {
				errs = append(errs, fmt.Errorf("%s: bindings[%d] (%s): rule share needs a percent from 1 to 100", where, j, b.Channel))
			}
		}
	}
	return errors.Join(errs...)
}

// VirtualFor returns the virtual warehouses that channel is bound to.
func (c *Config) VirtualFor(channel string) []alloc.Warehouse {
	var out []alloc.Warehouse
	for _, vw := range c.VirtualWarehouses {
		for _, b := range vw.Bindings {
			if b.Channel == channel {
				out = append(out, vw)
				break
			}
		}
	}
	return out
}

// Secret returns the value of the environment variable env, or an error
// naming the key and the variable when it is unset or empty.
func Secret(key, env string) (string, error) {
	v := os.Getenv(env)
	if v == "" {
		return "", fmt.Errorf("%s names environment variable %s, which is not set or empty; export it before starting the hub", key, env)
	}
	return v, nil
}

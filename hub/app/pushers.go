package app

import (
	"fmt"
	"log/slog"
	"os"

	"obmenhub/adapters"
	"obmenhub/adapters/generic"
	"obmenhub/adapters/insales"
	"obmenhub/adapters/ozon"
	"obmenhub/adapters/webstore"
	"obmenhub/adapters/wildberries"
	"obmenhub/hub/config"
	"obmenhub/retry"
)

// newPusher builds the adapter of one channel, reading its secret from
// the environment variable that the channel's config names.
func newPusher(ch config.ChannelConfig, instance string, log *slog.Logger, clock retry.Clock) (adapters.StockPusher, error) {
	// The web store and generic adapters name the channel in their logs
	// themselves; the others get a logger that does.
	base := log
	log = log.With("channel", ch.Name)
	userAgent := "obmenhub/" + instance
	switch ch.Kind {
	case "ozon":
		key, err := config.Secret("api_key_env", ch.APIKeyEnv)
		if err != nil {
			return nil, err
		}
		return ozon.New(ozon.Config{
			BaseURL:           ch.BaseURL,
			ClientID:          ch.ClientID,
			APIKey:            key,
			WarehouseID:       ch.WarehouseID,
			RequestsPerMinute: ch.RequestsPerMinute,
			Logger:            log,
			Clock:             clock,
			UserAgent:         userAgent,
		})
	case "wildberries":
		token, err := config.Secret("token_env", ch.TokenEnv)
		if err != nil {
			return nil, err
		}
		return wildberries.New(wildberries.Config{
			BaseURL:           ch.BaseURL,
			Token:             token,
			WarehouseID:       ch.WarehouseID,
			RequestsPerMinute: ch.RequestsPerMinute,
			Logger:            log,
			Clock:             clock,
			UserAgent:         userAgent,
		})
	case "insales":
		password, err := config.Secret("password_env", ch.PasswordEnv)
		if err != nil {
			return nil, err
		}
		return insales.New(insales.Config{
			BaseURL:         ch.BaseURL,
			Login:           ch.Login,
			Password:        password,
			RequestsPer5Min: int(ch.RequestsPerMinute * 5),
			Logger:          log,
			Clock:           clock,
			UserAgent:       userAgent,
		})
	case "webstore":
		if ch.Webstore.WebhookURL == "" {
			return nil, nil // the store only polls the feed
		}
		secret, err := config.Secret("webstore.secret_env", ch.Webstore.SecretEnv)
		if err != nil {
			return nil, err
		}
		a, err := webstore.New(webstore.Config{
			Channel:           ch.Name,
			URL:               ch.Webstore.WebhookURL,
			Secret:            secret,
			RequestsPerMinute: ch.RequestsPerMinute,
			Logger:            base,
			Clock:             clock,
			UserAgent:         userAgent,
		})
		if err != nil {
			return nil, fmt.Errorf("webstore (secret from %s): %w", ch.Webstore.SecretEnv, err)
		}
		return a, nil
	case "generic":
		gc := *ch.Generic
		if err := gc.Resolve(os.Getenv); err != nil {
			return nil, err
		}
		a, err := generic.New(gc, generic.Options{Channel: ch.Name, Logger: base, Clock: clock, UserAgent: userAgent})
		if err != nil {
			return nil, err
		}
		if _, ok := a.PricePusher(); !ok {
			return stockOnly{a}, nil
		}
		return a, nil
	}
	return nil, fmt.Errorf("unknown channel kind %q; use ozon, wildberries, insales, webstore or generic", ch.Kind)
}

// stockOnly hides the price methods of an adapter that sends no prices,
// so that a prices section on its channel is reported at start.
type stockOnly struct{ adapters.StockPusher }

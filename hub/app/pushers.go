package app

import (
	"fmt"
	"log/slog"

	"obmenhub/adapters"
	"obmenhub/adapters/insales"
	"obmenhub/adapters/ozon"
	"obmenhub/adapters/wildberries"
	"obmenhub/hub/config"
	"obmenhub/retry"
)

// newPusher builds the adapter of one channel, reading its secret from
// the environment variable that the channel's config names.
func newPusher(ch config.ChannelConfig, instance string, log *slog.Logger, clock retry.Clock) (adapters.StockPusher, error) {
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
	}
	return nil, fmt.Errorf("unknown channel kind %q; use ozon, wildberries or insales", ch.Kind)
}

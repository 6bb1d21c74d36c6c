package app

import (
	"context"
	"fmt"
	"time"

	"obmenhub/adapters"
	"obmenhub/hub/api"
	"obmenhub/hub/channel"
	"obmenhub/hub/config"
	"obmenhub/hub/ledger"
)

// channelRun is one configured channel: the workers that push to it, led
// together by one lease and fed by one subscription.
type channelRun struct {
	name    string
	workers []*channel.Worker
	// lister reads the channel's catalogue for catalogue bindings; nil when
	// the adapter cannot.
	lister adapters.CatalogLister
	// orders reads the channel's orders every ordersEvery; nil when the
	// channel's config turns it off or the adapter cannot.
	orders      adapters.OrderSource
	ordersEvery time.Duration
	// webhook parses pushed orders; webhookToken is the secret they must
	// carry. Both are empty when the channel takes no order webhooks.
	webhook      adapters.OrderWebhook
	webhookToken string
}

// newChannel builds the workers of one channel: stock always, prices when
// the channel's config maps a price type and its adapter takes prices.
func (a *App) newChannel(ch config.ChannelConfig) (*channelRun, error) {
	pusher, err := newPusher(ch, a.cfg.Instance, a.log, a.clock)
	if err != nil {
		return nil, err
	}
	binder, err := channel.NewBinder(ch.Binding)
	if err != nil {
		return nil, err
	}
	run := &channelRun{name: ch.Name}
	virtual := a.cfg.VirtualFor(ch.Name)
	if ch.Webstore != nil && ch.Webstore.Pull {
		f := &channel.Feed{Channel: ch.Name, Warehouses: ch.Warehouses, Virtual: virtual, Binder: binder}
		if ch.Prices != nil {
			f.PriceType, f.OldPriceType = ch.Prices.PriceType, ch.Prices.OldPriceType
		}
		a.Feeds[ch.Name] = f
	}
	if pusher == nil {
		return run, nil
	}
	run.lister, _ = pusher.(adapters.CatalogLister)
	if ch.Orders != nil && ch.Orders.Poll > 0 {
		if run.orders = orderSource(pusher); run.orders == nil {
			return nil, fmt.Errorf("orders: the %s adapter cannot read orders; remove the orders section", ch.Kind)
		}
		run.ordersEvery = ch.Orders.Poll
	}
	if ch.Orders != nil && ch.Orders.WebhookTokenEnv != "" {
		var ok bool
		if run.webhook, ok = pusher.(adapters.OrderWebhook); !ok {
			return nil, fmt.Errorf("orders.webhook_token_env: the %s adapter takes no order webhooks", ch.Kind)
		}
		if run.webhookToken, err = config.Secret("orders.webhook_token_env", ch.Orders.WebhookTokenEnv); err != nil {
			return nil, err
		}
	}
	if ok, _ := binder.FromCatalog(); ok && run.lister == nil {
		return nil, fmt.Errorf("binding by catalog: the %s adapter cannot read the channel's catalogue; use sku, article, barcode or map", ch.Kind)
	}
	wc := channel.WorkerConfig{
		Channel:     ch.Name,
		Warehouses:  ch.Warehouses,
		MaxAttempts: ch.MaxAttempts,
		BatchSize:   ch.BatchSize,
		Interval:    ch.Interval,
		Clock:       a.clock,
	}
	stock, err := channel.NewWorker(wc, a.Store, channel.StockTarget{Pusher: pusher, Channel: ch.Name, Warehouses: ch.Warehouses, Virtual: virtual}, binder, a.log)
	if err != nil {
		return nil, err
	}
	run.workers = append(run.workers, stock)

	if ch.Prices == nil {
		return run, nil
	}
	pp, ok := pusher.(adapters.PricePusher)
	if !ok {
		return nil, fmt.Errorf("prices: the %s adapter does not send prices; remove the prices section", ch.Kind)
	}
	priceBinder := binder
	if ch.Prices.Binding != nil {
		if priceBinder, err = channel.NewBinder(*ch.Prices.Binding); err != nil {
			return nil, fmt.Errorf("prices.binding: %w", err)
		}
	}
	prices, err := channel.NewWorker(wc, a.Store,
		channel.PriceTarget{Pusher: pp, PriceType: ch.Prices.PriceType, OldPriceType: ch.Prices.OldPriceType}, priceBinder, a.log)
	if err != nil {
		return nil, err
	}
	run.workers = append(run.workers, prices)
	return run, nil
}

// channelLimits returns how many units of each SKU channel may still
// reserve: what its stock worker or feed shows now.
func (a *App) channelLimits(ctx context.Context, channelName string, skus []string) (map[string]int64, error) {
	value := func(st *ledger.SKUStock) int64 { return 0 }
	found := false
	for _, w := range a.Workers {
		if w.Channel() == channelName && w.Kind() == "stock" {
			value = func(st *ledger.SKUStock) int64 { v, _ := w.Value(st); return v }
			found = true
		}
	}
	if f, ok := a.Feeds[channelName]; ok && !found {
		target := channel.StockTarget{Channel: channelName, Warehouses: f.Warehouses, Virtual: f.Virtual}
		value = func(st *ledger.SKUStock) int64 { v, _ := target.Value(st); return v }
		found = true
	}
	if !found {
		return nil, api.ErrUnknownChannel
	}
	stock, err := a.Store.Stock(ctx, skus)
	if err != nil {
		return nil, err
	}
	out := make(map[string]int64, len(skus))
	for _, sku := range skus {
		if st := stock[sku]; st != nil {
			out[sku] = value(st)
		}
	}
	return out, nil
}

// Package bus carries the hub's canonical events over Watermill. The
// embedded setup uses Watermill's in-process GoChannel; production uses
// RabbitMQ through the same Publisher and Subscriber interfaces.
//
// Events are notices, not the state itself: the ledger is the durable
// state, and a consumer reads the latest values from it. A lost notice is
// recovered by the resync every channel runs on start.
package bus

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
)

// TopicStockChanged carries StockChanged events.
const TopicStockChanged = "stock.changed"

// MaxSKUsPerEvent is the most SKUs one StockChanged event lists. A large
// package becomes several events, so no message grows with the package.
const MaxSKUsPerEvent = 1000

// StockChanged says that the stock of SKUs changed in the ledger.
type StockChanged struct {
	// File and Seq identify the accepted 1C file that changed them.
	File string   `json:"file"`
	Seq  int64    `json:"seq"`
	SKUs []string `json:"skus"`
}

// Bus is a Watermill publisher and subscriber pair.
type Bus struct {
	Publisher  message.Publisher
	Subscriber message.Subscriber
	Logger     watermill.LoggerAdapter
}

// Close closes both sides.
func (b *Bus) Close() error {
	perr := b.Publisher.Close()
	if any(b.Subscriber) != any(b.Publisher) {
		if err := b.Subscriber.Close(); err != nil {
			return err
		}
	}
	return perr
}

// NewMemory returns the in-process bus. Every Subscribe call receives its
// own copy of each message, as a RabbitMQ queue per channel does.
func NewMemory(log *slog.Logger) *Bus {
	wl := watermill.NewSlogLogger(log)
	ch := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 1024}, wl)
	return &Bus{Publisher: ch, Subscriber: ch, Logger: wl}
}

// PublishStockChanged publishes one or more StockChanged events for skus.
func PublishStockChanged(pub message.Publisher, file string, seq int64, skus []string) error {
	var msgs []*message.Message
	for start := 0; start < len(skus); start += MaxSKUsPerEvent {
		end := min(start+MaxSKUsPerEvent, len(skus))
		body, err := json.Marshal(StockChanged{File: file, Seq: seq, SKUs: skus[start:end]})
		if err != nil {
			return fmt.Errorf("encode stock event of %s: %w", file, err)
		}
		msg := message.NewMessage(watermill.NewUUID(), body)
		msg.Metadata.Set("file", file)
		msgs = append(msgs, msg)
	}
	if len(msgs) == 0 {
		return nil
	}
	if err := pub.Publish(TopicStockChanged, msgs...); err != nil {
		return fmt.Errorf("publish stock events of %s: %w", file, err)
	}
	return nil
}

// DecodeStockChanged decodes a StockChanged message payload.
func DecodeStockChanged(msg *message.Message) (StockChanged, error) {
	var ev StockChanged
	if err := json.Unmarshal(msg.Payload, &ev); err != nil {
		return ev, fmt.Errorf("decode stock event %s: %w", msg.UUID, err)
	}
	return ev, nil
}

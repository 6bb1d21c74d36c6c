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
	"errors"
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

// Bus is a Watermill publisher with one subscriber per sales channel.
type Bus struct {
	Publisher message.Publisher
	// Subscriber is the memory bus's shared GoChannel, which every channel
	// may subscribe through. It is nil on RabbitMQ, where each channel
	// consumes its own queue: use SubscriberFor, which works on both.
	Subscriber message.Subscriber
	Logger     watermill.LoggerAdapter

	subscriberFor func(channel string) (message.Subscriber, error)
	// close releases what the constructor opened.
	close func() error
}

// SubscriberFor returns the subscriber through which the sales channel
// named channel consumes. On RabbitMQ it consumes the channel's own durable
// queue (see AMQPConfig.QueueName), so every channel receives its own copy
// of each event and a channel that is down finds its events on return. On
// the memory bus it is the shared GoChannel, and each Subscribe call gets
// its own copy of each message.
func (b *Bus) SubscriberFor(channel string) (message.Subscriber, error) {
	if channel == "" {
		return nil, errors.New("subscriber for an empty channel name; pass the sales channel's name")
	}
	return b.subscriberFor(channel)
}

// Close closes the publisher and every subscriber the bus created.
func (b *Bus) Close() error {
	return b.close()
}

// NewMemory returns the in-process bus. Every Subscribe call receives its
// own copy of each message, as a RabbitMQ queue per channel does.
//
// NOTE: GoChannel hands each message to a subscriber on its own goroutine,
// so two messages published together may arrive in either order. A nacked
// message comes back at once to the same subscription, and its
// MetadataDeliveryCount grows as on RabbitMQ; nothing dead-letters it.
func NewMemory(log *slog.Logger) *Bus {
	wl := watermill.NewSlogLogger(log)
	ch := gochannel.NewGoChannel(gochannel.Config{OutputChannelBuffer: 1024}, wl)
	sub := &memorySubscriber{GoChannel: ch}
	return &Bus{
		Publisher:     ch,
		Subscriber:    sub,
		Logger:        wl,
		subscriberFor: func(string) (message.Subscriber, error) { return sub, nil },
		close:         ch.Close,
	}
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

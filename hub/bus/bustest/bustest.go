// Package bustest is the contract suite that every bus.Bus implementation
// must pass: round trip, per-channel fan-out, redelivery with an attempt
// count, and, where the target has them, durable queues, a single active
// consumer per channel and ordering within a channel.
package bustest

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"

	"obmenhub/hub/bus"
)

// receiveTimeout bounds every wait for a message that should arrive.
const receiveTimeout = 15 * time.Second

// quietPeriod is how long a check that no message arrives waits.
const quietPeriod = 500 * time.Millisecond

// Opener opens a bus on one test's topology. Every bus that one Opener
// returns shares its exchanges and queues, as hub instances on one broker
// do. channels lists the sales channels the bus declares queues for at once.
type Opener func(channels ...string) *bus.Bus

// Target is a bus implementation under test.
type Target struct {
	// Topology returns an Opener for test t. It closes the buses and removes
	// what they declared when t ends.
	Topology func(t *testing.T) Opener
	// Durable is true when a channel's queue keeps messages while no
	// consumer runs and across closing and reopening the bus.
	Durable bool
	// SingleActiveConsumer is true when two subscribers of one channel never
	// receive at the same time.
	SingleActiveConsumer bool
	// Ordered is true when one channel receives messages in the order they
	// were published.
	Ordered bool
	// WaitConsumers waits until channel's queue has n consumers. Subscribe
	// may register its consumer after it returns, and a test that depends
	// on a consumer being there calls this. Nil when Subscribe is
	// synchronous.
	WaitConsumers func(t *testing.T, b *bus.Bus, channel string, n int)
}

// Run runs the contract suite against target.
func Run(t *testing.T, target Target) {
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, target) })
	t.Run("FanOutPerChannel", func(t *testing.T) { testFanOut(t, target) })
	t.Run("NackRedelivers", func(t *testing.T) { testNackRedelivers(t, target) })
	t.Run("SurvivesSubscriberRestart", func(t *testing.T) {
		if !target.Durable {
			t.Skip("target keeps no messages without a subscriber")
		}
		testSubscriberRestart(t, target)
	})
	t.Run("SingleActiveConsumer", func(t *testing.T) {
		if !target.SingleActiveConsumer {
			t.Skip("target hands each subscription its own copy of every message")
		}
		testSingleActiveConsumer(t, target)
	})
	t.Run("OrderWithinChannel", func(t *testing.T) {
		if !target.Ordered {
			t.Skip("target does not keep the publishing order")
		}
		testOrder(t, target)
	})
}

// SKUs returns n distinct SKU codes of about 50 bytes each, so that 1000
// of them make a StockChanged message of about 60 KB.
func SKUs(n int) []string {
	skus := make([]string, n)
	for i := range skus {
		skus[i] = fmt.Sprintf("SKU-%08d-%s", i, "0123456789abcdefghijklmnopqrstuvwxyz-АБВ")
	}
	return skus
}

func testRoundTrip(t *testing.T, target Target) {
	open := target.Topology(t)
	b := open("alpha")
	msgs := subscribe(t, target, b, "alpha")

	skus := SKUs(bus.MaxSKUsPerEvent)
	if err := bus.PublishStockChanged(b.Publisher, "offers.xml", 7, skus); err != nil {
		t.Fatalf("publish: %v", err)
	}

	msg := receive(t, msgs, "alpha")
	ev, err := bus.DecodeStockChanged(msg)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if ev.File != "offers.xml" || ev.Seq != 7 {
		t.Errorf("event file, seq = %q, %d; want offers.xml, 7", ev.File, ev.Seq)
	}
	if len(ev.SKUs) != len(skus) || ev.SKUs[0] != skus[0] || ev.SKUs[len(skus)-1] != skus[len(skus)-1] {
		t.Errorf("event has %d SKUs; want the %d published", len(ev.SKUs), len(skus))
	}
	if got := msg.Metadata.Get("file"); got != "offers.xml" {
		t.Errorf("metadata file = %q; want offers.xml", got)
	}
	if got := bus.DeliveryAttempt(msg); got != 1 {
		t.Errorf("delivery attempt = %d; want 1", got)
	}
	msg.Ack()
	expectNone(t, msgs, "alpha")
}

func testFanOut(t *testing.T, target Target) {
	open := target.Topology(t)
	b := open("alpha", "beta")
	alpha := subscribe(t, target, b, "alpha")
	beta := subscribe(t, target, b, "beta")

	// 2500 SKUs make three messages.
	if err := bus.PublishStockChanged(b.Publisher, "rests.xml", 3, SKUs(2500)); err != nil {
		t.Fatalf("publish: %v", err)
	}

	for name, msgs := range map[string]<-chan *message.Message{"alpha": alpha, "beta": beta} {
		total := 0
		for range 3 {
			msg := receive(t, msgs, name)
			ev, err := bus.DecodeStockChanged(msg)
			if err != nil {
				t.Fatalf("channel %s: decode: %v", name, err)
			}
			total += len(ev.SKUs)
			msg.Ack()
		}
		if total != 2500 {
			t.Errorf("channel %s received %d SKUs; want 2500", name, total)
		}
		expectNone(t, msgs, name)
	}
}

func testNackRedelivers(t *testing.T, target Target) {
	open := target.Topology(t)
	b := open("alpha")
	msgs := subscribe(t, target, b, "alpha")

	if err := bus.PublishStockChanged(b.Publisher, "offers.xml", 1, SKUs(10)); err != nil {
		t.Fatalf("publish: %v", err)
	}

	var uuid string
	for attempt := 1; attempt <= 4; attempt++ {
		msg := receive(t, msgs, "alpha")
		if uuid == "" {
			uuid = msg.UUID
		}
		if msg.UUID != uuid {
			t.Fatalf("attempt %d delivered message %s; want the nacked %s", attempt, msg.UUID, uuid)
		}
		if got := bus.DeliveryAttempt(msg); got != attempt {
			t.Errorf("delivery attempt = %d (metadata %q); want %d",
				got, msg.Metadata.Get(bus.MetadataDeliveryCount), attempt)
		}
		msg.Nack()
	}
	msg := receive(t, msgs, "alpha")
	if got := bus.DeliveryAttempt(msg); got != 5 {
		t.Errorf("delivery attempt after 4 nacks = %d; want 5", got)
	}
	msg.Ack()
	expectNone(t, msgs, "alpha")
}

func testSubscriberRestart(t *testing.T, target Target) {
	open := target.Topology(t)

	// The first instance declares the queue and publishes while nothing
	// consumes it.
	first := open("alpha")
	for seq := int64(1); seq <= 3; seq++ {
		if err := bus.PublishStockChanged(first.Publisher, "offers.xml", seq, SKUs(5)); err != nil {
			t.Fatalf("publish %d: %v", seq, err)
		}
	}
	if err := first.Close(); err != nil {
		t.Fatalf("close first bus: %v", err)
	}

	// The second instance takes one message without acking it and goes
	// away, which returns the message to the queue.
	second := open("alpha")
	msgs := subscribe(t, target, second, "alpha")
	unacked := receive(t, msgs, "alpha")
	if err := second.Close(); err != nil {
		t.Fatalf("close second bus: %v", err)
	}

	third := open("alpha")
	msgs = subscribe(t, target, third, "alpha")
	seen := map[int64]bool{}
	for range 3 {
		msg := receive(t, msgs, "alpha")
		ev, err := bus.DecodeStockChanged(msg)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		seen[ev.Seq] = true
		if msg.UUID == unacked.UUID && bus.DeliveryAttempt(msg) < 2 {
			t.Errorf("message %s returned by a closed consumer has delivery attempt %d; want 2 or more",
				msg.UUID, bus.DeliveryAttempt(msg))
		}
		msg.Ack()
	}
	for seq := int64(1); seq <= 3; seq++ {
		if !seen[seq] {
			t.Errorf("event %d did not survive the subscriber restart", seq)
		}
	}
	expectNone(t, msgs, "alpha")
}

func testSingleActiveConsumer(t *testing.T, target Target) {
	open := target.Topology(t)
	firstBus, secondBus := open("alpha"), open("alpha")

	firstSub, err := firstBus.SubscriberFor("alpha")
	if err != nil {
		t.Fatalf("subscriber of the first instance: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	first, err := firstSub.Subscribe(ctx, bus.TopicStockChanged)
	if err != nil {
		t.Fatalf("subscribe the first instance: %v", err)
	}
	if target.WaitConsumers != nil {
		target.WaitConsumers(t, firstBus, "alpha", 1)
	}
	second := subscribe(t, target, secondBus, "alpha")
	if target.WaitConsumers != nil {
		target.WaitConsumers(t, firstBus, "alpha", 2)
	}

	for seq := int64(1); seq <= 5; seq++ {
		if err := bus.PublishStockChanged(firstBus.Publisher, "offers.xml", seq, SKUs(3)); err != nil {
			t.Fatalf("publish %d: %v", seq, err)
		}
	}
	for range 5 {
		receive(t, first, "alpha (first instance)").Ack()
	}
	expectNone(t, second, "alpha (second instance)")

	// The first consumer goes away, and the waiting one takes over.
	if err := firstSub.Close(); err != nil {
		t.Fatalf("close the first subscriber: %v", err)
	}
	for seq := int64(6); seq <= 8; seq++ {
		if err := bus.PublishStockChanged(secondBus.Publisher, "offers.xml", seq, SKUs(3)); err != nil {
			t.Fatalf("publish %d: %v", seq, err)
		}
	}
	for range 3 {
		receive(t, second, "alpha (second instance)").Ack()
	}
}

func testOrder(t *testing.T, target Target) {
	open := target.Topology(t)
	b := open("alpha")
	msgs := subscribe(t, target, b, "alpha")

	// Half the messages go in one Publish call, half one per call.
	const n = 200
	var batch []*message.Message
	for seq := range n / 2 {
		batch = append(batch, seqMessage(t, int64(seq)))
	}
	if err := b.Publisher.Publish(bus.TopicStockChanged, batch...); err != nil {
		t.Fatalf("publish batch: %v", err)
	}
	for seq := n / 2; seq < n; seq++ {
		if err := b.Publisher.Publish(bus.TopicStockChanged, seqMessage(t, int64(seq))); err != nil {
			t.Fatalf("publish %d: %v", seq, err)
		}
	}

	for want := range int64(n) {
		msg := receive(t, msgs, "alpha")
		ev, err := bus.DecodeStockChanged(msg)
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		msg.Ack()
		if ev.Seq != want {
			t.Fatalf("message %d has seq %d; want the publishing order", want, ev.Seq)
		}
	}
}

func seqMessage(t *testing.T, seq int64) *message.Message {
	t.Helper()
	body, err := json.Marshal(bus.StockChanged{File: "order.xml", Seq: seq, SKUs: SKUs(1)})
	if err != nil {
		t.Fatal(err)
	}
	return message.NewMessage(watermill.NewUUID(), body)
}

// subscribe subscribes channel's subscriber to stock.changed until the test
// ends and waits for its consumer where the target needs that.
func subscribe(t *testing.T, target Target, b *bus.Bus, channel string) <-chan *message.Message {
	t.Helper()
	sub, err := b.SubscriberFor(channel)
	if err != nil {
		t.Fatalf("subscriber of channel %s: %v", channel, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	msgs, err := sub.Subscribe(ctx, bus.TopicStockChanged)
	if err != nil {
		t.Fatalf("subscribe channel %s: %v", channel, err)
	}
	if target.WaitConsumers != nil {
		target.WaitConsumers(t, b, channel, 1)
	}
	return msgs
}

func receive(t *testing.T, msgs <-chan *message.Message, channel string) *message.Message {
	t.Helper()
	select {
	case msg, ok := <-msgs:
		if !ok {
			t.Fatalf("channel %s: subscription closed while a message was expected", channel)
		}
		return msg
	case <-time.After(receiveTimeout):
		t.Fatalf("channel %s: no message within %s", channel, receiveTimeout)
		return nil
	}
}

func expectNone(t *testing.T, msgs <-chan *message.Message, channel string) {
	t.Helper()
	select {
	case msg, ok := <-msgs:
		if ok {
			t.Errorf("channel %s: unexpected message %s with payload %.80s", channel, msg.UUID, msg.Payload)
			msg.Ack()
		}
	case <-time.After(quietPeriod):
	}
}

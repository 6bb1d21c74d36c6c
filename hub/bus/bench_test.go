package bus_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"obmenhub/hub/bus"
	"obmenhub/hub/bus/bustest"
)

// BenchmarkPublishConfirmed publishes 1000-SKU StockChanged events (about
// 53 KB of JSON each) while one channel consumes and acks them. On
// RabbitMQ, Publish returns after the broker confirmed every message of the
// call. perCall is the number of events in one Publish call.
func BenchmarkPublishConfirmed(b *testing.B) {
	for _, target := range []string{"memory", "amqp"} {
		for _, perCall := range []int{1, 10} {
			b.Run(fmt.Sprintf("%s/events_per_call=%d", target, perCall), func(b *testing.B) {
				bb := openBenchBus(b, target, bus.DefaultPrefetch)
				drain(b, bb, "alpha")
				skus := bustest.SKUs(perCall * bus.MaxSKUsPerEvent)

				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := bus.PublishStockChanged(bb.Publisher, "offers.xml", int64(i), skus); err != nil {
						b.Fatalf("publish: %v", err)
					}
				}
				b.StopTimer()
				reportEvents(b, b.N*perCall)
			})
		}
	}
}

// BenchmarkConsume receives and acks 1000-SKU events from one channel's
// subscription. On RabbitMQ the events wait in the queue before the timer
// starts. The memory bus keeps nothing without a subscriber, so there a
// goroutine publishes them while the timer runs.
func BenchmarkConsume(b *testing.B) {
	for _, target := range []string{"memory", "amqp"} {
		for _, prefetch := range []int{1, bus.DefaultPrefetch} {
			if target == "memory" && prefetch != 1 {
				continue
			}
			b.Run(fmt.Sprintf("%s/prefetch=%d", target, prefetch), func(b *testing.B) {
				bb := openBenchBus(b, target, prefetch)
				skus := bustest.SKUs(bus.MaxSKUsPerEvent)
				publishAll := func() {
					for i := 0; i < b.N; i++ {
						if err := bus.PublishStockChanged(bb.Publisher, "offers.xml", int64(i), skus); err != nil {
							b.Errorf("publish: %v", err)
							return
						}
					}
				}
				if target == "amqp" {
					publishAll()
				}
				msgs := subscribeBench(b, bb, "alpha")

				b.ResetTimer()
				if target == "memory" {
					go publishAll()
				}
				for i := 0; i < b.N; i++ {
					select {
					case msg := <-msgs:
						msg.Ack()
					case <-time.After(30 * time.Second):
						b.Fatalf("received %d of %d events; no message within 30 s", i, b.N)
					}
				}
				b.StopTimer()
				reportEvents(b, b.N)
			})
		}
	}
}

func openBenchBus(b *testing.B, target string, prefetch int) *bus.Bus {
	b.Helper()
	if target == "memory" {
		bb := bus.NewMemory(quietLogger())
		b.Cleanup(func() { bb.Close() })
		return bb
	}
	cfg := testConfig(b, brokerURL(b))
	cfg.Channels = []string{"alpha"}
	cfg.Prefetch = prefetch
	return openAMQP(b, cfg)
}

// drain acks every event channel receives until the benchmark ends.
func drain(b *testing.B, bb *bus.Bus, channel string) {
	msgs := subscribeBench(b, bb, channel)
	go func() {
		for msg := range msgs {
			msg.Ack()
		}
	}()
}

func subscribeBench(b *testing.B, bb *bus.Bus, channel string) <-chan *message.Message {
	b.Helper()
	sub, err := bb.SubscriberFor(channel)
	if err != nil {
		b.Fatalf("subscriber of %s: %v", channel, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	msgs, err := sub.Subscribe(ctx, bus.TopicStockChanged)
	if err != nil {
		b.Fatalf("subscribe %s: %v", channel, err)
	}
	return msgs
}

func reportEvents(b *testing.B, events int) {
	seconds := b.Elapsed().Seconds()
	b.ReportMetric(float64(events)/seconds, "events/s")
	b.ReportMetric(float64(events*bus.MaxSKUsPerEvent)/seconds, "SKUs/s")
	b.ReportMetric(0, "ns/op")
}

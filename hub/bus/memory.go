package bus

import (
	"context"
	"strconv"
	"sync"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/ThreeDotsLabs/watermill/pubsub/gochannel"
)

// memorySubscriber is the GoChannel subscriber with MetadataDeliveryCount,
// so consumers count attempts on both buses in the same way.
type memorySubscriber struct {
	*gochannel.GoChannel
}

// Subscribe subscribes to topic and sets MetadataDeliveryCount on every
// message that comes back after a nack.
func (s *memorySubscriber) Subscribe(ctx context.Context, topic string) (<-chan *message.Message, error) {
	in, err := s.GoChannel.Subscribe(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make(chan *message.Message)
	go countDeliveries(ctx, in, out)
	return out, nil
}

// delivery is the latest copy of one message that a subscription handed out,
// with the number of earlier copies that were nacked.
type delivery struct {
	last   *message.Message
	failed int
}

// countDeliveries forwards messages from in to out. GoChannel sends a new
// copy of a message after its previous copy was nacked, with the same UUID.
// So when a copy arrives and the previous copy of that UUID is nacked, the
// count grows. Entries leave the map when a copy is acked or its context
// ends.
func countDeliveries(ctx context.Context, in <-chan *message.Message, out chan<- *message.Message) {
	defer close(out)
	var mu sync.Mutex
	deliveries := make(map[string]*delivery)

	for msg := range in {
		mu.Lock()
		d := deliveries[msg.UUID]
		if d == nil {
			d = &delivery{}
			deliveries[msg.UUID] = d
		} else if isNacked(d.last) {
			d.failed++
		} else {
			// The previous copy is still out or acked, so this is another
			// message that reuses the UUID.
			d.failed = 0
		}
		d.last = msg
		if d.failed > 0 {
			msg.Metadata.Set(MetadataDeliveryCount, strconv.Itoa(d.failed))
		}
		mu.Unlock()

		go func() {
			select {
			case <-msg.Acked():
			case <-msg.Nacked():
				return
			case <-msg.Context().Done():
			}
			mu.Lock()
			if deliveries[msg.UUID] != nil && deliveries[msg.UUID].last == msg {
				delete(deliveries, msg.UUID)
			}
			mu.Unlock()
		}()

		select {
		case out <- msg:
		case <-ctx.Done():
			return
		}
	}
}

func isNacked(msg *message.Message) bool {
	select {
	case <-msg.Nacked():
		return true
	default:
		return false
	}
}

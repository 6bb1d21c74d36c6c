package bus

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	wamqp "github.com/ThreeDotsLabs/watermill-amqp/v3/pkg/amqp"
	"github.com/ThreeDotsLabs/watermill/message"
	amqp "github.com/rabbitmq/amqp091-go"
)

// MetadataDeliveryCount is the metadata key with the number of earlier
// deliveries of a message that ended without an ack, in decimal. It is
// missing on the first delivery. On RabbitMQ it is the x-delivery-count
// header that quorum queues set on redelivery (RabbitMQ 3.10), which also
// counts deliveries lost with a consumer's connection. The memory bus counts
// nacks per subscription.
const MetadataDeliveryCount = "x-delivery-count"

// DeliveryAttempt returns which delivery of msg this is: 1 for the first,
// 2 after one nack, and so on. A consumer compares it with its own limit to
// dead-letter a poison message before the broker's x-delivery-limit does.
func DeliveryAttempt(msg *message.Message) int {
	n, err := strconv.Atoi(msg.Metadata.Get(MetadataDeliveryCount))
	if err != nil || n < 0 {
		return 1
	}
	return n + 1
}

// UnmarshalAMQP decodes a delivery read with plain AMQP, such as one from
// the dead-letter queue, into the message a bus subscriber would return.
func UnmarshalAMQP(delivery amqp.Delivery) (*message.Message, error) {
	return marshaler{}.Unmarshal(delivery)
}

// marshaler is watermill-amqp's DefaultMarshaler with AMQP headers of any
// type. The default one rejects a delivery whose header is not a string,
// and it then nacks the delivery forever. Quorum queues set
// x-delivery-count as a number, and dead-lettering adds x-death as a table.
type marshaler struct {
	wamqp.DefaultMarshaler
}

// Marshal encodes msg as a persistent AMQP message. It drops the delivery
// count a consumed message carries, so a republished message starts at 0.
func (m marshaler) Marshal(msg *message.Message) (amqp.Publishing, error) {
	pub, err := m.DefaultMarshaler.Marshal(msg)
	if err != nil {
		return pub, err
	}
	delete(pub.Headers, MetadataDeliveryCount)
	delete(pub.Headers, wamqp.MetadataRedeliveredKey)
	return pub, nil
}

// Unmarshal decodes a delivery and turns every header into a string of
// metadata: numbers in decimal, times in RFC 3339, tables and arrays in
// JSON.
func (m marshaler) Unmarshal(delivery amqp.Delivery) (*message.Message, error) {
	headers := make(amqp.Table, len(delivery.Headers))
	for key, value := range delivery.Headers {
		headers[key] = headerString(value)
	}
	delivery.Headers = headers
	return m.DefaultMarshaler.Unmarshal(delivery)
}

func headerString(value any) string {
	switch v := value.(type) {
	case string:
		return v
	case []byte:
		return string(v)
	case bool:
		return strconv.FormatBool(v)
	case int8, int16, int32, int64, int, uint8, uint16, uint32, uint64:
		return fmt.Sprint(v)
	case float32:
		return strconv.FormatFloat(float64(v), 'g', -1, 32)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case time.Time:
		return v.UTC().Format(time.RFC3339)
	case nil:
		return ""
	default:
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
}

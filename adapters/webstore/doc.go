// Package webstore pushes stock and prices to a seller's own web store as
// signed JSON webhooks. The hub sends, the store receives: the store
// needs one HTTPS endpoint and the secret it shares with the hub.
//
// # Requests
//
// Every request is a POST to the configured URL with Content-Type
// application/json. A stock update looks like this:
//
//	{
//	  "event": "stock.updated",
//	  "delivery_id": "5f0c6a8e2b7d4c19a3e1f0b2c4d6e8a0",
//	  "sent_at": "2026-03-02T09:00:00Z",
//	  "items": [
//	    {"sku": "SHOE-42", "external_id": "1001", "quantity": 7}
//	  ]
//	}
//
// A price update has "event": "price.updated", and each item carries
// "price" and, when set, "old_price" (the crossed-out price) and
// "currency" (ISO 4217). Prices are decimal strings such as "1990.50", so
// that no float rounding touches them:
//
//	{"sku": "SHOE-42", "external_id": "1001", "price": "1990.50", "old_price": "2490", "currency": "RUB"}
//
// Quantities and prices are absolute values, not changes, so applying one
// delivery twice is harmless. sent_at is the time the hub built the batch,
// in UTC (RFC 3339), and stays the same on every attempt.
//
// # Headers and signature
//
//	X-Obmenhub-Event:     stock.updated or price.updated
//	X-Obmenhub-Delivery:  the delivery id, 32 hex digits, the same on every attempt of one batch
//	X-Obmenhub-Timestamp: Unix time in seconds when this attempt was sent
//	X-Obmenhub-Signature: sha256=<hex>
//
// <hex> is the lowercase hex encoding of HMAC-SHA256, keyed with the shared
// secret (its bytes as configured, no decoding), of the string
//
//	<X-Obmenhub-Timestamp value> + "." + <raw request body>
//
// To verify a request, the store reads the raw body before parsing it,
// computes the same HMAC, and compares it with the header in constant time
// (hmac.Equal in Go, hash_equals in PHP, hmac.compare_digest in Python).
// It then rejects a timestamp more than 5 minutes from its own clock, so a
// recorded request cannot be replayed later. Because the timestamp is part
// of the signed string, an attacker cannot refresh it. Verify does all of
// this in Go.
//
// The hub signs each attempt anew, so a retry carries a fresh timestamp and
// the same delivery id. A store that wants exactly-once processing keeps
// the delivery ids it has applied and responds to a repeated one with its
// earlier response.
//
// # Responses
//
// The store responds with 2xx when it took the request. An empty body, or any
// body that is not a JSON object with a "rejected" list, means every item
// was accepted. To reject some items, the store responds with 200 and:
//
//	{"rejected": [
//	  {"sku": "SHOE-42", "external_id": "1001", "error": "unknown SKU", "retriable": false}
//	]}
//
// Entries are matched to items by "sku", or by "external_id" when "sku" is
// empty. "error" is a message for the hub's logs and dead-letter queue.
// "retriable": true means the item may succeed later (for example, the
// product is locked by an editor), and false or absent means it needs a
// change by the seller.
//
// Other statuses apply to the whole request: 401 and any other 4xx are
// permanent (401 usually means the secrets differ), 408, 409, 5xx and
// timeouts are retried with backoff, and 429 with Retry-After is deferred
// until that time.
package webstore

package webstore

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"

	"obmenhub/retry"
)

// delivery is the identity of one batch, carried to signingTransport in
// the request's context because httpx.Request has no per-request headers.
type delivery struct {
	id    string
	event string
}

type deliveryKey struct{}

func withDelivery(ctx context.Context, d delivery) context.Context {
	return context.WithValue(ctx, deliveryKey{}, d)
}

// signingTransport adds the delivery and signature headers to every
// attempt just before it is sent, so that a retry after a long backoff
// still carries a fresh timestamp.
type signingTransport struct {
	next   http.RoundTripper
	secret []byte
	clock  retry.Clock
}

func (t *signingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	d, ok := req.Context().Value(deliveryKey{}).(delivery)
	if !ok {
		closeBody(req)
		return nil, errors.New("webstore: request has no delivery id; it was not sent through Adapter")
	}

	var body []byte
	if req.Body != nil {
		var err error
		body, err = io.ReadAll(req.Body)
		closeBody(req)
		if err != nil {
			return nil, err
		}
	}

	// A RoundTripper must not change the caller's request, so sign a copy.
	signed := req.Clone(req.Context())
	signed.Body = io.NopCloser(bytes.NewReader(body))
	signed.ContentLength = int64(len(body))
	signed.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }

	timestamp := strconv.FormatInt(t.clock.Now().Unix(), 10)
	signed.Header.Set("Content-Type", "application/json")
	signed.Header.Set(HeaderEvent, d.event)
	signed.Header.Set(HeaderDelivery, d.id)
	signed.Header.Set(HeaderTimestamp, timestamp)
	signed.Header.Set(HeaderSignature, Sign(t.secret, timestamp, body))
	return t.next.RoundTrip(signed)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		_ = req.Body.Close()
	}
}

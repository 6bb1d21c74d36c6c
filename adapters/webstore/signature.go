package webstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Header names of a webhook request.
const (
	HeaderEvent     = "X-Obmenhub-Event"
	HeaderDelivery  = "X-Obmenhub-Delivery"
	HeaderTimestamp = "X-Obmenhub-Timestamp"
	HeaderSignature = "X-Obmenhub-Signature"

	signaturePrefix = "sha256="
)

// DefaultTolerance is the largest difference between a request's
// timestamp and the receiver's clock that Verify accepts.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify.
var (
	ErrInvalidSignature = errors.New("webhook signature is missing or does not match")
	ErrStaleTimestamp   = errors.New("webhook timestamp is missing, malformed or outside the tolerance")
)

// Sign returns the X-Obmenhub-Signature value for body sent at timestamp
// (Unix seconds, in decimal): "sha256=" and the hex HMAC-SHA256 of
// timestamp + "." + body keyed with secret.
func Sign(secret []byte, timestamp string, body []byte) string {
	return signaturePrefix + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret []byte, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(timestamp))
	h.Write([]byte("."))
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a received webhook: signature is the X-Obmenhub-Signature
// header, timestamp the X-Obmenhub-Timestamp header, body the raw request
// body. It returns an error wrapping ErrInvalidSignature or
// ErrStaleTimestamp, or nil when the request is authentic and its
// timestamp is within tolerance of now. A tolerance of 0 means
// DefaultTolerance.
func Verify(secret []byte, signature, timestamp string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}

	hexSum, ok := strings.CutPrefix(signature, signaturePrefix)
	if !ok {
		return fmt.Errorf("%w: expected %q followed by hex digits", ErrInvalidSignature, signaturePrefix)
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil || !hmac.Equal(got, mac(secret, timestamp, body)) {
		return ErrInvalidSignature
	}

	seconds, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %q is not Unix seconds", ErrStaleTimestamp, timestamp)
	}
	sent := time.Unix(seconds, 0)
	if skew := now.Sub(sent).Abs(); skew > tolerance {
		return fmt.Errorf("%w: sent at %s, %s from now, tolerance %s", ErrStaleTimestamp, sent.UTC().Format(time.RFC3339), skew.Round(time.Second), tolerance)
	}
	return nil
}

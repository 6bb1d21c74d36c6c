package httpx

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
	"unicode/utf8"

	"obmenhub/retry"
)

// StatusError is a vendor's response with a status that Do did not accept.
// It is always wrapped in a retry class.
type StatusError struct {
	Channel    string
	StatusCode int
	// Body is the start of the answer's body, at most maxBodyInError bytes.
	Body string
}

const maxBodyInError = 512

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s answered HTTP %d %s", e.Channel, e.StatusCode, http.StatusText(e.StatusCode))
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

// ClassifyStatus returns the retry class of a response that is not a
// success, wrapping a *StatusError:
//   - 429 is deferred until the delay of X-Ratelimit-Retry or Retry-After,
//     and retriable when neither header is usable;
//   - 401 and 403 are permanent, with a message to check the credentials;
//   - 408, 409 and 5xx are retriable, and Retry-After on them sets the
//     least delay before the next attempt;
//   - any other status is permanent.
func ClassifyStatus(channel string, resp *Response, now time.Time) error {
	statusErr := &StatusError{Channel: channel, StatusCode: resp.StatusCode, Body: truncate(resp.Body)}

	switch code := resp.StatusCode; {
	case code == http.StatusTooManyRequests:
		if d, ok := retry.DelayFromHeader(resp.Header, now); ok {
			return &retry.DeferredError{Until: now.Add(d), Err: statusErr}
		}
		return retry.Retriable(statusErr)

	case code == http.StatusUnauthorized || code == http.StatusForbidden:
		return retry.Permanent(fmt.Errorf("%w; the credentials were rejected: check the credentials (keys, tokens, passwords or secrets) in the %s channel config", statusErr, channel))

	case code == http.StatusRequestTimeout || code == http.StatusConflict || code >= 500:
		err := retry.Retriable(statusErr)
		if d, ok := retry.ParseRetryAfter(resp.Header.Get(retry.HeaderRetryAfter), now); ok {
			return retry.WithDelay(err, d)
		}
		return err

	default:
		return retry.Permanent(statusErr)
	}
}

// transportError classifies a failure to get an answer at all. Every such
// failure is retriable; a timeout says so in its message.
func transportError(channel string, timeout time.Duration, err error) error {
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return retry.Retriable(fmt.Errorf("%s: request timed out after %s: %w", channel, timeout, err))
	}
	return retry.Retriable(fmt.Errorf("%s: request failed: %w", channel, err))
}

func truncate(body []byte) string {
	if len(body) <= maxBodyInError {
		return string(body)
	}
	cut := maxBodyInError
	for cut > 0 && !utf8.RuneStart(body[cut]) {
		cut--
	}
	return string(body[:cut]) + "…"
}

// Package retry classifies failures of outbound calls and decides when, and
// whether, to try again.
//
// Every error that an adapter returns, for a whole request or for one item,
// wraps exactly one class: ErrRetriable, ErrPermanent, or a *DeferredError.
// Callers branch with errors.Is and errors.As.
package retry

import (
	"errors"
	"fmt"
	"time"
)

// ErrRetriable marks a failure that may succeed when tried again later:
// a timeout, a 5xx answer, a lost connection, a 429 without a usable delay.
var ErrRetriable = errors.New("retriable failure")

// ErrPermanent marks a failure that trying again cannot fix: a rejected
// value, an unknown item, bad credentials. The item goes to the dead-letter
// queue with the error as its reason.
var ErrPermanent = errors.New("permanent failure")

// DeferredError marks a call that was not made or not accepted yet because
// of a limit with a known end: an open circuit breaker, a rate limit, a
// vendor rule such as Ozon's one update of a product-warehouse pair per 30 s.
// A deferral spends no retry budget.
type DeferredError struct {
	// Until is the earliest time the call may be tried again.
	Until time.Time
	Err   error
}

func (e *DeferredError) Error() string {
	return fmt.Sprintf("deferred until %s: %v", e.Until.UTC().Format(time.RFC3339Nano), e.Err)
}

func (e *DeferredError) Unwrap() error { return e.Err }

// Class is the retry class of an error.
type Class int

const (
	// ClassNone is the class of a nil error.
	ClassNone Class = iota
	ClassRetriable
	ClassPermanent
	ClassDeferred
)

func (c Class) String() string {
	switch c {
	case ClassNone:
		return "none"
	case ClassRetriable:
		return "retriable"
	case ClassPermanent:
		return "permanent"
	case ClassDeferred:
		return "deferred"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Classify returns the class of err. An error that wraps no class is
// treated as retriable, so an unforeseen failure is tried again and
// dead-lettered only when the attempts run out.
func Classify(err error) Class {
	var d *DeferredError
	switch {
	case err == nil:
		return ClassNone
	case errors.As(err, &d):
		return ClassDeferred
	case errors.Is(err, ErrPermanent):
		return ClassPermanent
	default:
		return ClassRetriable
	}
}

// Permanent wraps err as a permanent failure.
func Permanent(err error) error { return fmt.Errorf("%w: %w", ErrPermanent, err) }

// Retriable wraps err as a retriable failure.
func Retriable(err error) error { return fmt.Errorf("%w: %w", ErrRetriable, err) }

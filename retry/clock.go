package retry

import (
	"context"
	"sync"
	"time"
)

// Clock is the time source of retries, rate limiters and simulators.
// Tests inject a ManualClock so that no test waits on real time.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx ends, and returns ctx.Err() in the
	// second case.
	Sleep(ctx context.Context, d time.Duration) error
}

// SystemClock returns the wall clock.
func SystemClock() Clock { return systemClock{} }

type systemClock struct{}

func (systemClock) Now() time.Time { return time.Now() }

func (systemClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ManualClock is a Clock that moves only when told to: Sleep advances it
// by the requested duration at once, and Advance moves it forward. It is
// safe for concurrent use.
type ManualClock struct {
	mu     sync.Mutex
	now    time.Time
	slept  time.Duration
	sleeps int
}

// NewManualClock returns a ManualClock that starts at start.
func NewManualClock(start time.Time) *ManualClock { return &ManualClock{now: start} }

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep advances the clock by d without waiting, unless ctx has ended.
func (c *ManualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept += d
	c.sleeps++
	return nil
}

// Advance moves the clock forward by d.
func (c *ManualClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Slept returns the total duration and the number of Sleep calls so far.
func (c *ManualClock) Slept() (time.Duration, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept, c.sleeps
}

// ScaledClock is a Clock that runs factor times faster than the wall
// clock: a minute of its time passes in a minute/factor of real time. A
// demo uses it to show time-based vendor rules, such as Ozon's 30 s rule
// per product-warehouse pair, without waiting for them in full.
type ScaledClock struct {
	start  time.Time
	factor float64
}

// NewScaledClock returns a ScaledClock that reads the wall time now and
// then runs factor times faster. A factor of 1 or less is treated as 1.
func NewScaledClock(factor float64) *ScaledClock {
	if factor < 1 {
		factor = 1
	}
	return &ScaledClock{start: time.Now(), factor: factor}
}

// Now returns the scaled time.
func (c *ScaledClock) Now() time.Time {
	elapsed := time.Since(c.start)
	return c.start.Add(time.Duration(float64(elapsed) * c.factor))
}

// Sleep waits d/factor of real time.
func (c *ScaledClock) Sleep(ctx context.Context, d time.Duration) error {
	return systemClock{}.Sleep(ctx, time.Duration(float64(d)/c.factor))
}

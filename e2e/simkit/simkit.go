// Package simkit contains the server lifecycle that the in-process vendor
// simulators under e2e share. It provides a loopback-only HTTP server with a
// clean Close, a helper that runs a simulator for the length of a test, and
// counters that inject failures and delays into the next requests.
package simkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

const (
	// readHeaderTimeout bounds how long a connection may take to send its
	// request headers.
	readHeaderTimeout = 10 * time.Second
	// shutdownTimeout bounds how long Close waits for requests in flight.
	shutdownTimeout = 5 * time.Second
)

// RequireLoopback returns an error unless addr is a host:port whose host is
// "localhost" or a loopback IP address, so that a simulator never listens
// on a network other hosts can reach.
func RequireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("invalid address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("address %q is not on loopback; use 127.0.0.1 or [::1]", addr)
	}
	return nil
}

// Server is an HTTP server on a loopback listener. Listen creates it, Serve
// starts serving, and Close stops it.
type Server struct {
	// URL is the base URL of the server, such as http://127.0.0.1:41234.
	URL string

	listener net.Listener
	http     *http.Server

	mu          sync.Mutex
	serveErr    error
	serveClosed chan struct{} // nil until Serve, closed when serving ends
}

// Listen checks that addr is on loopback and listens on it. Port 0 picks a
// free port, which URL then shows.
func Listen(addr string) (*Server, error) {
	if err := RequireLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", addr, err)
	}
	return &Server{URL: "http://" + ln.Addr().String(), listener: ln}, nil
}

// Serve starts serving h in a new goroutine until Close. Call it at most
// once, and not concurrently with Close.
func (s *Server) Serve(h http.Handler) {
	s.http = &http.Server{Handler: h, ReadHeaderTimeout: readHeaderTimeout}
	s.serveClosed = make(chan struct{})
	go func() {
		defer close(s.serveClosed)
		if err := s.http.Serve(s.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.mu.Lock()
			s.serveErr = err
			s.mu.Unlock()
		}
	}()
}

// Close stops the server, waiting up to 5 s for requests in flight, and
// returns the shutdown error joined with the error that ended serving, if
// any. Without a prior Serve it only closes the listener.
func (s *Server) Close() error {
	if s.serveClosed == nil {
		return s.listener.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := s.http.Shutdown(ctx)
	<-s.serveClosed
	s.mu.Lock()
	defer s.mu.Unlock()
	return errors.Join(err, s.serveErr)
}

// StartTest calls start with a free loopback port and closes the result
// when t ends. It fails t at once if start fails, and reports an error from
// Close as a test error. name, such as "ozon simulator", appears in both
// messages.
func StartTest[S interface{ Close() error }](t testing.TB, name string, start func(addr string) (S, error)) S {
	t.Helper()
	s, err := start("127.0.0.1:0")
	if err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close %s: %v", name, err)
		}
	})
	return s
}

// Faults is the failures and delays a test has asked a simulator to inject
// into its next requests. The zero value injects nothing, and its methods
// are safe for concurrent use. They take only Faults' own lock, so a
// simulator may call them while it holds its own.
type Faults struct {
	mu        sync.Mutex
	failNext  int
	delayNext time.Duration
}

// FailNext sets the number of next requests that fail, replacing any
// earlier count.
func (f *Faults) FailNext(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.failNext = n
}

// DelayNext sets the delay of the next request, replacing any earlier one.
func (f *Faults) DelayNext(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.delayNext = d
}

// TakeFailure reports whether the current request is to fail, and counts
// it against FailNext when it is.
func (f *Faults) TakeFailure() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext <= 0 {
		return false
	}
	f.failNext--
	return true
}

// TakeDelay returns the delay set by DelayNext and resets it to 0, so only
// one request waits.
func (f *Faults) TakeDelay() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	d := f.delayNext
	f.delayNext = 0
	return d
}

// Take does TakeFailure and TakeDelay in one step under one lock, so that no
// concurrent request can take the failure or the delay in between.
func (f *Faults) Take() (fail bool, delay time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failNext > 0 {
		f.failNext--
		fail = true
	}
	delay = f.delayNext
	f.delayNext = 0
	return fail, delay
}

// Wait waits d of real time and returns true, or returns false as soon as
// ctx is done, which for a request means the client went away. It returns
// true at once when d is 0 or less.
func Wait(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// SetOf returns the set of items, or nil when items is nil, so that a nil
// set can mean "accept all".
func SetOf[T comparable](items []T) map[T]bool {
	if items == nil {
		return nil
	}
	set := make(map[T]bool, len(items))
	for _, item := range items {
		set[item] = true
	}
	return set
}

package simkit

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"
)

func TestRequireLoopback(t *testing.T) {
	cases := []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true},
		{"127.0.0.2:8080", true},
		{"[::1]:0", true},
		{"localhost:0", true},
		{"0.0.0.0:0", false},
		{":0", false},
		{"192.0.2.1:80", false},
		{"example.com:80", false},
		{"127.0.0.1", false},
	}
	for _, c := range cases {
		err := RequireLoopback(c.addr)
		if c.ok && err != nil {
			t.Errorf("RequireLoopback(%q) = %v, want nil", c.addr, err)
		}
		if !c.ok && err == nil {
			t.Errorf("RequireLoopback(%q) = nil, want an error", c.addr)
		}
	}
}

func TestListenRejectsNonLoopback(t *testing.T) {
	s, err := Listen("0.0.0.0:0")
	if err == nil {
		s.Close()
		t.Fatal("Listen(0.0.0.0:0) succeeded, want an error")
	}
}

func TestServerServesUntilClose(t *testing.T) {
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))

	resp, err := http.Get(s.URL)
	if err != nil {
		t.Fatalf("GET %s: %v", s.URL, err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ok" {
		t.Errorf("body = %q, want %q", body, "ok")
	}

	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := http.Get(s.URL); err == nil {
		t.Error("GET after Close succeeded, want a connection error")
	}
}

func TestCloseWithoutServe(t *testing.T) {
	s, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func TestFaultsCountDown(t *testing.T) {
	var f Faults
	if fail, delay := f.Take(); fail || delay != 0 {
		t.Fatalf("zero Faults: Take = %v, %v, want false, 0", fail, delay)
	}

	f.FailNext(2)
	f.DelayNext(time.Second)
	if fail, delay := f.Take(); !fail || delay != time.Second {
		t.Errorf("first Take = %v, %v, want true, 1s", fail, delay)
	}
	if fail, delay := f.Take(); !fail || delay != 0 {
		t.Errorf("second Take = %v, %v, want true, 0", fail, delay)
	}
	if f.TakeFailure() {
		t.Error("third TakeFailure = true, want false")
	}

	f.FailNext(1)
	f.FailNext(0)
	if f.TakeFailure() {
		t.Error("TakeFailure after FailNext(0) = true, want false")
	}
	f.DelayNext(time.Minute)
	if d := f.TakeDelay(); d != time.Minute {
		t.Errorf("TakeDelay = %v, want 1m", d)
	}
	if d := f.TakeDelay(); d != 0 {
		t.Errorf("second TakeDelay = %v, want 0", d)
	}
}

func TestWaitStopsOnCancel(t *testing.T) {
	if !Wait(context.Background(), 0) {
		t.Error("Wait with no delay = false, want true")
	}
	if !Wait(context.Background(), time.Millisecond) {
		t.Error("Wait for 1ms = false, want true")
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	start := time.Now()
	if Wait(ctx, time.Minute) {
		t.Error("Wait with a canceled context = true, want false")
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("Wait returned after %v, want at once", elapsed)
	}
}

func TestSetOfKeepsNil(t *testing.T) {
	if set := SetOf[string](nil); set != nil {
		t.Errorf("SetOf(nil) = %v, want nil", set)
	}

	empty := SetOf([]int64{})
	if empty == nil {
		t.Error("SetOf(empty slice) = nil, want an empty set")
	}
	if len(empty) != 0 {
		t.Errorf("SetOf(empty slice) has %d items, want 0", len(empty))
	}

	set := SetOf([]string{"a", "b", "a"})
	if len(set) != 2 {
		t.Errorf("SetOf(a, b, a) has %d items, want 2", len(set))
	}
	if !set["a"] || !set["b"] {
		t.Errorf("SetOf(a, b, a) = %v, want a and b", set)
	}
	if set["c"] {
		t.Error("SetOf(a, b, a) contains c")
	}
}

func TestStockLogRecords(t *testing.T) {
	var l StockLog[string]
	at := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	l.Request("hub-a")
	l.Set("A", 5, "hub-a", at)
	l.Set("A", 7, "hub-b", at.Add(time.Second))
	if v, ok := l.Get("A"); !ok || v != 7 {
		t.Errorf("Get(A) = %d, %v; want 7", v, ok)
	}
	if _, ok := l.Get("B"); ok {
		t.Errorf("Get(B) found a value, want none")
	}
	h := l.History("A")
	if len(h) != 2 || h[0].Value != 5 || h[1].Agent != "hub-b" {
		t.Errorf("History(A) = %+v, want 5 by hub-a then 7 by hub-b", h)
	}
	if s := l.Snapshot(); len(s) != 1 || s["A"] != 7 {
		t.Errorf("Snapshot = %v, want A=7", s)
	}
	if a := l.Agents(); len(a) != 1 || a[0] != "hub-a" {
		t.Errorf("Agents = %v, want [hub-a]", a)
	}
}

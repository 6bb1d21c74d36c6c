package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"obmenhub/hub/ledger"
	"obmenhub/hub/model"
)

// RunReservations runs the reservation cases. newDatabase creates an empty
// database and returns a function that opens another store on it; the
// suite closes every store it opens. The concurrent cases open two stores
// on one database, as hub instances that share it do.
func RunReservations(t *testing.T, newDatabase func(t *testing.T) (open func(t *testing.T) ledger.Store)) {
	single := []struct {
		name string
		fn   func(t *testing.T, s ledger.Store)
	}{
		{"reserve and read back", testReserveReadBack},
		{"insufficient stock reserves nothing", testReserveInsufficient},
		{"repeated reserve is idempotent", testReserveIdempotent},
		{"release frees stock", testRelease},
		{"commit keeps stock held once", testCommit},
		{"expire ends due reservations", testExpire},
		{"invalid reservation rejected", testReserveInvalid},
		{"concurrent repeats reserve once", testConcurrentRepeats},
	}
	for _, tt := range single {
		t.Run(tt.name, func(t *testing.T) {
			s := newDatabase(t)(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}

	shared := []struct {
		name string
		fn   func(t *testing.T, a, b ledger.Store)
	}{
		{"last unit from one store", func(t *testing.T, a, _ ledger.Store) { testLastUnit(t, a, a) }},
		{"last unit from two stores", testLastUnit},
		{"multi-line reserves from two stores", testConcurrentMultiLine},
	}
	for _, tt := range shared {
		t.Run(tt.name, func(t *testing.T) {
			open := newDatabase(t)
			a := open(t)
			t.Cleanup(func() { a.Close() })
			b := open(t)
			t.Cleanup(func() { b.Close() })
			tt.fn(t, a, b)
		})
	}
}

// stockFile applies one offers file that sets the stock of each SKU on
// warehouse w1, as "sku", "quantity" pairs.
func stockFile(t *testing.T, s ledger.Store, generated time.Time, pairs ...string) {
	t.Helper()
	var offers []*model.Offer
	for i := 0; i+1 < len(pairs); i += 2 {
		offers = append(offers, offer(pairs[i], "w1", pairs[i+1]))
	}
	apply(t, s, model.Document{File: "stock.xml", Generated: generated, ChangesOnly: true}, offers...)
}

func lines(pairs ...any) []ledger.ReservationLine {
	var out []ledger.ReservationLine
	for i := 0; i+1 < len(pairs); i += 2 {
		out = append(out, ledger.ReservationLine{SKU: pairs[i].(string), Qty: int64(pairs[i+1].(int))})
	}
	return out
}

func reserve(t *testing.T, s ledger.Store, channel, orderID string, now time.Time, ls ...ledger.ReservationLine) *ledger.Reservation {
	t.Helper()
	r, err := s.Reserve(context.Background(), ledger.Reservation{Channel: channel, OrderID: orderID, Lines: ls}, now)
	if err != nil {
		t.Fatalf("Reserve %s/%s: %v", channel, orderID, err)
	}
	return r
}

// wantReserved checks Reserved for the given SKUs; want lists only the
// SKUs that have reserved stock.
func wantReserved(t *testing.T, s ledger.Store, skus []string, want map[string]int64) {
	t.Helper()
	got, err := s.Reserved(context.Background(), skus)
	if err != nil {
		t.Fatalf("Reserved: %v", err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Reserved(%v) = %v, want %v", skus, got, want)
	}
}

func formatLines(ls []ledger.ReservationLine) string {
	out := ""
	for _, l := range ls {
		out += l.SKU + ":" + strconv.FormatInt(l.Qty, 10) + " "
	}
	return out
}

func testReserveReadBack(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	apply(t, s, model.Document{File: "stock.xml", Generated: base, ChangesOnly: true},
		offer("A", "w1", "3", "w2", "2"), offer("B", "w1", "2.5"), offer("C", "w1", "-3", "w2", "2"))
	now := base.Add(time.Minute)
	expires := now.Add(15 * time.Minute)

	r, err := s.Reserve(ctx, ledger.Reservation{Channel: "web", OrderID: "1001", Lines: lines("B", 2, "A", 5, "C", 2), ExpiresAt: expires}, now)
	if err != nil {
		t.Fatalf("Reserve: %v", err)
	}
	if r.Status != ledger.ReservationActive {
		t.Errorf("status = %q, want active", r.Status)
	}
	if got := formatLines(r.Lines); got != "A:5 B:2 C:2 " {
		t.Errorf("lines = %q, want A:5 B:2 C:2 in SKU order", got)
	}
	if !r.CreatedAt.Equal(now) || !r.UpdatedAt.Equal(now) {
		t.Errorf("created, updated = %v, %v; want both %v", r.CreatedAt, r.UpdatedAt, now)
	}
	if !r.ExpiresAt.Equal(expires) {
		t.Errorf("expires at = %v, want %v", r.ExpiresAt, expires)
	}
	wantReserved(t, s, []string{"A", "B", "C", "D"}, map[string]int64{"A": 5, "B": 2, "C": 2})

	of, err := s.ReservationsOf(ctx, "B")
	if err != nil {
		t.Fatalf("ReservationsOf: %v", err)
	}
	if len(of) != 1 {
		t.Fatalf("ReservationsOf(B) = %+v, want one reservation", of)
	}
	got := of[0]
	if got.Channel != "web" || got.OrderID != "1001" || got.Status != ledger.ReservationActive {
		t.Errorf("reservation of B = %+v, want active web/1001", got)
	}
	if formatLines(got.Lines) != "A:5 B:2 C:2 " {
		t.Errorf("lines read back = %q, want A:5 B:2 C:2", formatLines(got.Lines))
	}
	if !got.CreatedAt.Equal(now) || !got.ExpiresAt.Equal(expires) {
		t.Errorf("times read back = created %v, expires %v; want %v, %v", got.CreatedAt, got.ExpiresAt, now, expires)
	}
	none, err := s.ReservationsOf(ctx, "D")
	if err != nil {
		t.Fatalf("ReservationsOf: %v", err)
	}
	if len(none) != 0 {
		t.Errorf("ReservationsOf(D) = %+v, want none", none)
	}
}

func testReserveInsufficient(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	stockFile(t, s, base, "A", "5", "B", "1")
	now := base.Add(time.Minute)

	_, err := s.Reserve(ctx, ledger.Reservation{Channel: "web", OrderID: "1", Lines: lines("A", 3, "B", 2, "unknown", 1)}, now)
	var short *ledger.InsufficientError
	if !errors.As(err, &short) {
		t.Fatalf("Reserve error = %v, want *InsufficientError", err)
	}
	want := []ledger.Shortage{{SKU: "B", Requested: 2, Available: 1}, {SKU: "unknown", Requested: 1, Available: 0}}
	if fmt.Sprint(short.Shortages) != fmt.Sprint(want) {
		t.Errorf("shortages = %+v, want %+v", short.Shortages, want)
	}
	wantReserved(t, s, []string{"A", "B", "unknown"}, map[string]int64{})
	if _, err := s.Release(ctx, "web", "1", now); !errors.Is(err, ledger.ErrReservationNotFound) {
		t.Errorf("Release of the rejected order: error %v, want ErrReservationNotFound", err)
	}

	// The order id of a rejected reservation is free for a retry.
	reserve(t, s, "web", "1", now, lines("A", 3)...)
	_, err = s.Reserve(ctx, ledger.Reservation{Channel: "ozon", OrderID: "2", Lines: lines("A", 3)}, now)
	if !errors.As(err, &short) {
		t.Fatalf("second Reserve error = %v, want *InsufficientError", err)
	}
	if len(short.Shortages) != 1 || short.Shortages[0].Available != 2 {
		t.Errorf("shortages = %+v, want A with 2 available", short.Shortages)
	}
	wantReserved(t, s, []string{"A"}, map[string]int64{"A": 3})
}

func testReserveIdempotent(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	stockFile(t, s, base, "A", "5")
	first := base.Add(time.Minute)
	reserve(t, s, "web", "7", first, lines("A", 2)...)

	again, err := s.Reserve(ctx, ledger.Reservation{Channel: "web", OrderID: "7", Lines: lines("A", 3)}, first.Add(time.Second))
	if err != nil {
		t.Fatalf("repeated Reserve: %v", err)
	}
	if formatLines(again.Lines) != "A:2 " || !again.CreatedAt.Equal(first) {
		t.Errorf("repeat = lines %q created %v, want the stored A:2 created %v", formatLines(again.Lines), again.CreatedAt, first)
	}
	wantReserved(t, s, []string{"A"}, map[string]int64{"A": 2})

	// Another channel may use the same order id.
	reserve(t, s, "ozon", "7", first, lines("A", 1)...)
	wantReserved(t, s, []string{"A"}, map[string]int64{"A": 3})

	if _, err := s.Release(ctx, "web", "7", first.Add(time.Minute)); err != nil {
		t.Fatalf("Release: %v", err)
	}
	closed, err := s.Reserve(ctx, ledger.Reservation{Channel: "web", OrderID: "7", Lines: lines("A", 2)}, first.Add(2*time.Minute))
	if err != nil {
		t.Fatalf("Reserve after Release: %v", err)
	}
	if closed.Status != ledger.ReservationReleased {
		t.Errorf("Reserve after Release returned status %q, want the stored released reservation", closed.Status)
	}
	wantReserved(t, s, []string{"A"}, map[string]int64{"A": 1})
}

func testRelease(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	stockFile(t, s, base, "A", "5")
	now := base.Add(time.Minute)
	reserve(t, s, "web", "1", now, lines("A", 5)...)
	var short *ledger.InsufficientError
	if _, err := s.Reserve(ctx, ledger.Reservation{Channel: "web", OrderID: "2", Lines: lines("A", 1)}, now); !errors.As(err, &short) {
		t.Fatalf("Reserve of sold-out A: error %v, want *InsufficientError", err)
	}

	released := now.Add(time.Minute)
	r, err := s.Release(ctx, "web", "1", released)
	if err != nil {
		t.Fatalf("Release: %v", err)
	}
	if r.Status != ledger.ReservationReleased || !r.UpdatedAt.Equal(released) || formatLines(r.Lines) != "A:5 " {
		t.Errorf("released = %+v, want status released at %v with line A:5", r, released)
	}
	wantReserved(t, s, []string{"A"}, map[string]int64{})

	again, err := s.Release(ctx, "web", "1", released.Add(time.Minute))
	if err != nil {
		t.Fatalf("second Release: %v", err)
	}
	if !again.UpdatedAt.Equal(released) {
		t.Errorf("second Release changed updated_at to %v, want %v", again.UpdatedAt, released)
	}
	if _, err := s.Commit(ctx, "web", "1", released); !errors.Is(err, ledger.ErrReservationClosed) {
		t.Errorf("Commit after Release: error %v, want ErrReservationClosed", err)
	}
	if _, err := s.Release(ctx, "web", "missing", released); !errors.Is(err, ledger.ErrReservationNotFound) {
		t.Errorf("Release of unknown order: error %v, want ErrReservationNotFound", err)
	}
	reserve(t, s, "web", "2", released, lines("A", 5)...)
}

func testCommit(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	stockFile(t, s, base, "A", "5")
	now := base.Add(time.Minute)
	reserve(t, s, "ozon", "1", now, lines("A", 2)...)

	committed := now.Add(time.Minute)
	r, err := s.Commit(ctx, "ozon", "1", committed)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	if r.Status != ledger.ReservationCommitted || !r.UpdatedAt.Equal(committed) {
		t.Errorf("committed = %+v, want status committed at %v", r, committed)
	}
	wantReserved(t, s, []string{"A"}, map[string]int64{})
	if _, err := s.Commit(ctx, "ozon", "1", committed.Add(time.Second)); err != nil {
		t.Errorf("second Commit: %v", err)
	}
	if _, err := s.Release(ctx, "ozon", "1", committed); !errors.Is(err, ledger.ErrReservationClosed) {
		t.Errorf("Release after Commit: error %v, want ErrReservationClosed", err)
	}
	if _, err := s.Commit(ctx, "ozon", "missing", committed); !errors.Is(err, ledger.ErrReservationNotFound) {
		t.Errorf("Commit of unknown order: error %v, want ErrReservationNotFound", err)
	}

	// 1C's next file reflects the order: 3 left, and the committed
	// reservation no longer counts against them.
	stockFile(t, s, base.Add(time.Hour), "A", "3")
	var short *ledger.InsufficientError
	if _, err := s.Reserve(ctx, ledger.Reservation{Channel: "web", OrderID: "2", Lines: lines("A", 4)}, committed); !errors.As(err, &short) {
		t.Fatalf("Reserve of 4 from 3: error %v, want *InsufficientError", err)
	}
	if short.Shortages[0].Available != 3 {
		t.Errorf("available = %d, want 3", short.Shortages[0].Available)
	}
	reserve(t, s, "web", "2", committed, lines("A", 3)...)
}

func testExpire(t *testing.T, s ledger.Store) {
	ctx := context.Background()
	stockFile(t, s, base, "A", "10", "B", "10")
	now := base.Add(time.Minute)
	for _, r := range []ledger.Reservation{
		{Channel: "web", OrderID: "cart-1", Lines: lines("A", 1, "B", 2), ExpiresAt: now.Add(15 * time.Minute)},
		{Channel: "ozon", OrderID: "order-1", Lines: lines("A", 3)},
		{Channel: "web", OrderID: "cart-2", Lines: lines("A", 4), ExpiresAt: now.Add(30 * time.Minute)},
	} {
		if _, err := s.Reserve(ctx, r, now); err != nil {
			t.Fatalf("Reserve %s: %v", r.OrderID, err)
		}
	}

	at := now.Add(20 * time.Minute)
	expired, err := s.Expire(ctx, at)
	if err != nil {
		t.Fatalf("Expire: %v", err)
	}
	if len(expired) != 1 {
		t.Fatalf("expired = %+v, want only cart-1", expired)
	}
	e := expired[0]
	if e.OrderID != "cart-1" || e.Status != ledger.ReservationExpired || !e.UpdatedAt.Equal(at) || formatLines(e.Lines) != "A:1 B:2 " {
		t.Errorf("expired = %+v, want cart-1 expired at %v with lines A:1 B:2", e, at)
	}
	wantReserved(t, s, []string{"A", "B"}, map[string]int64{"A": 7})

	again, err := s.Expire(ctx, at)
	if err != nil {
		t.Fatalf("second Expire: %v", err)
	}
	if len(again) != 0 {
		t.Errorf("second Expire = %+v, want nothing", again)
	}
	if _, err := s.Release(ctx, "web", "cart-1", at); !errors.Is(err, ledger.ErrReservationClosed) {
		t.Errorf("Release of expired cart: error %v, want ErrReservationClosed", err)
	}

	// ExpiresAt equal to now is not before now.
	boundary, err := s.Expire(ctx, now.Add(30*time.Minute))
	if err != nil {
		t.Fatalf("Expire: %v", err)
	}
	if len(boundary) != 0 {
		t.Errorf("Expire at cart-2's ExpiresAt = %+v, want nothing", boundary)
	}
	late, err := s.Expire(ctx, now.Add(30*time.Minute+time.Nanosecond))
	if err != nil {
		t.Fatalf("Expire: %v", err)
	}
	if len(late) != 1 || late[0].OrderID != "cart-2" {
		t.Errorf("Expire after cart-2's ExpiresAt = %+v, want cart-2", late)
	}
	wantReserved(t, s, []string{"A", "B"}, map[string]int64{"A": 3})
}

func testReserveInvalid(t *testing.T, s ledger.Store) {
	stockFile(t, s, base, "A", "5")
	tests := []struct {
		name string
		r    ledger.Reservation
	}{
		{"empty channel", ledger.Reservation{OrderID: "1", Lines: lines("A", 1)}},
		{"empty order id", ledger.Reservation{Channel: "web", Lines: lines("A", 1)}},
		{"no lines", ledger.Reservation{Channel: "web", OrderID: "1"}},
		{"empty SKU", ledger.Reservation{Channel: "web", OrderID: "1", Lines: lines("", 1)}},
		{"zero quantity", ledger.Reservation{Channel: "web", OrderID: "1", Lines: lines("A", 0)}},
		{"negative quantity", ledger.Reservation{Channel: "web", OrderID: "1", Lines: lines("A", -1)}},
		{"repeated SKU", ledger.Reservation{Channel: "web", OrderID: "1", Lines: lines("A", 1, "A", 1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Reserve(context.Background(), tt.r, base)
			if err == nil {
				t.Fatal("Reserve succeeded, want an error")
			}
			var short *ledger.InsufficientError
			if errors.As(err, &short) {
				t.Errorf("error %v is *InsufficientError, want an invalid input error", err)
			}
		})
	}
	wantReserved(t, s, []string{"A", ""}, map[string]int64{})
}

// testConcurrentRepeats sends one order many times at once, as a client
// that retries does. It must be reserved once.
func testConcurrentRepeats(t *testing.T, s ledger.Store) {
	stockFile(t, s, base, "A", "100")
	const calls = 20
	errs := make(chan error, calls)
	var wg sync.WaitGroup
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.Reserve(context.Background(), ledger.Reservation{Channel: "web", OrderID: "1", Lines: lines("A", 3)},
				base.Add(time.Duration(i)*time.Second))
			if err == nil && formatLines(r.Lines) != "A:3 " {
				err = fmt.Errorf("lines %q, want A:3", formatLines(r.Lines))
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Reserve: %v", err)
		}
	}
	wantReserved(t, s, []string{"A"}, map[string]int64{"A": 3})
}

// testLastUnit sends 100 reservations for the last unit of a SKU at once,
// from 4 channels with their own order ids, half through each store.
// Exactly one may succeed.
func testLastUnit(t *testing.T, a, b ledger.Store) {
	stockFile(t, a, base, "A", "1")
	const calls = 100
	channels := []string{"web", "ozon", "wb", "insales"}
	stores := []ledger.Store{a, b}

	var wg sync.WaitGroup
	var mu sync.Mutex
	var won []string
	var other []error
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := ledger.Reservation{Channel: channels[i%len(channels)], OrderID: "order-" + strconv.Itoa(i), Lines: lines("A", 1)}
			_, err := stores[i%2].Reserve(context.Background(), r, base)
			mu.Lock()
			defer mu.Unlock()
			var short *ledger.InsufficientError
			switch {
			case err == nil:
				won = append(won, r.Channel+"/"+r.OrderID)
			case errors.As(err, &short):
				if len(short.Shortages) != 1 || short.Shortages[0].Available != 0 {
					other = append(other, fmt.Errorf("shortages %+v, want A with 0 available", short.Shortages))
				}
			default:
				other = append(other, err)
			}
		}()
	}
	wg.Wait()

	for _, err := range other {
		t.Errorf("Reserve: %v", err)
	}
	if len(won) != 1 {
		t.Errorf("successful reservations = %v, want exactly one", won)
	}
	wantReserved(t, b, []string{"A"}, map[string]int64{"A": 1})
}

// testConcurrentMultiLine sends 100 two-line reservations at once, each
// listing the two SKUs in a random order, through two stores. With 50 of
// each SKU, exactly 50 succeed, and no call fails for another reason such
// as a deadlock.
func testConcurrentMultiLine(t *testing.T, a, b ledger.Store) {
	stockFile(t, a, base, "A", "50", "B", "50")
	const calls = 100
	stores := []ledger.Store{a, b}

	var wg sync.WaitGroup
	var mu sync.Mutex
	succeeded := 0
	var other []error
	for i := range calls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ls := lines("A", 1, "B", 1)
			if rand.IntN(2) == 0 {
				ls[0], ls[1] = ls[1], ls[0]
			}
			_, err := stores[i%2].Reserve(context.Background(), ledger.Reservation{Channel: "web", OrderID: strconv.Itoa(i), Lines: ls}, base)
			mu.Lock()
			defer mu.Unlock()
			var short *ledger.InsufficientError
			switch {
			case err == nil:
				succeeded++
			case !errors.As(err, &short):
				other = append(other, err)
			}
		}()
	}
	wg.Wait()

	for _, err := range other {
		t.Errorf("Reserve: %v", err)
	}
	if succeeded != 50 {
		t.Errorf("successful reservations = %d, want 50", succeeded)
	}
	wantReserved(t, b, []string{"A", "B"}, map[string]int64{"A": 50, "B": 50})
}

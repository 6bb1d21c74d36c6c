package ledger_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"obmenhub/hub/ledger"
	"obmenhub/hub/ledger/storetest"
	"obmenhub/hub/model"
)

func TestSQLiteReservations(t *testing.T) {
	storetest.RunReservations(t, func(t *testing.T) func(t *testing.T) ledger.Store {
		path := filepath.Join(t.TempDir(), "ledger.db")
		return func(t *testing.T) ledger.Store { return openSQLite(t, path) }
	})
}

func TestPostgresReservations(t *testing.T) {
	storetest.RunReservations(t, func(t *testing.T) func(t *testing.T) ledger.Store {
		dsn := newPostgresDatabase(t)
		return func(t *testing.T) ledger.Store { return openPostgres(t, dsn) }
	})
}

// TestPostgresReserveDuringFile checks that Reserve does not wait for a
// transaction that holds the row lock of the SKU's offer, as a file import
// does until it commits.
func TestPostgresReserveDuringFile(t *testing.T) {
	dsn := newPostgresDatabase(t)
	a := openPostgres(t, dsn)
	defer a.Close()
	b := openPostgres(t, dsn)
	defer b.Close()
	ctx := context.Background()

	file, err := a.BeginFile(ctx, fileDoc("stock.xml"), time.Now())
	if err != nil {
		t.Fatalf("BeginFile: %v", err)
	}
	if err := file.Offer(&model.Offer{SKU: "A", ProductID: "A", Quantity: ptr(model.MustDecimal("5"))}); err != nil {
		t.Fatalf("Offer: %v", err)
	}
	if _, err := file.Commit(ctx); err != nil {
		t.Fatalf("Commit: %v", err)
	}

	importTx, err := a.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("begin: %v", err)
	}
	defer importTx.Rollback()
	if _, err := importTx.ExecContext(ctx, `UPDATE offers SET levels = levels WHERE sku = 'A'`); err != nil {
		t.Fatalf("lock offer row: %v", err)
	}

	reserveCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r, err := b.Reserve(reserveCtx, ledger.Reservation{Channel: "web", OrderID: "1",
		Lines: []ledger.ReservationLine{{SKU: "A", Qty: 5}}}, time.Now())
	if err != nil {
		t.Fatalf("Reserve while the offer row is locked: %v", err)
	}
	if r.Status != ledger.ReservationActive {
		t.Errorf("status = %q, want active", r.Status)
	}
}

func ptr[T any](v T) *T { return &v }

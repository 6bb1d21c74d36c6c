package ledger_test

import (
	"context"
	"path/filepath"
	"testing"

	"obmenhub/hub/ledger"
	"obmenhub/hub/ledger/storetest"
)

func openSQLite(t *testing.T, path string) ledger.Store {
	t.Helper()
	s, err := ledger.OpenSQLite(context.Background(), ledger.SQLiteConfig{Path: path})
	if err != nil {
		t.Fatalf("OpenSQLite: %v", err)
	}
	return s
}

func TestSQLiteStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ledger.Store {
		return openSQLite(t, filepath.Join(t.TempDir(), "ledger.db"))
	})
}

func TestSQLiteSharedStore(t *testing.T) {
	storetest.RunShared(t, func(t *testing.T) func(t *testing.T) ledger.Store {
		path := filepath.Join(t.TempDir(), "ledger.db")
		return func(t *testing.T) ledger.Store { return openSQLite(t, path) }
	})
}

package ledger_test

import (
	"context"
	"path/filepath"
	"testing"

	"obmenhub/hub/ledger"
	"obmenhub/hub/ledger/storetest"
)

func TestSQLiteStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) ledger.Store {
		s, err := ledger.OpenSQLite(context.Background(), ledger.SQLiteConfig{Path: filepath.Join(t.TempDir(), "ledger.db")})
		if err != nil {
			t.Fatalf("OpenSQLite: %v", err)
		}
		return s
	})
}

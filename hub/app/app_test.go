package app

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"obmenhub/hub/config"
)

func TestShutdownWithoutChannels(t *testing.T) {
	t.Setenv("APP_TEST_PASSWORD", "x")
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(`
listen: 127.0.0.1:0
store: {path: `+filepath.Join(dir, "hub.db")+`}
exchange: {username: 1c, password_env: APP_TEST_PASSWORD, dir: `+filepath.Join(dir, "x")+`}
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	a, err := New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		done <- a.Shutdown(ctx)
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Shutdown of a hub without channels did not return")
	}
}

func TestMissingSecret(t *testing.T) {
	t.Setenv("APP_TEST_PASSWORD", "")
	dir := t.TempDir()
	cfg, err := config.Parse([]byte(`
store: {path: `+filepath.Join(dir, "hub.db")+`}
exchange: {username: 1c, password_env: APP_TEST_PASSWORD}
`), "test.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err == nil || !strings.Contains(err.Error(), "APP_TEST_PASSWORD") {
		t.Errorf("New error = %v, want one naming APP_TEST_PASSWORD", err)
	}
}

package e2e

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	amqp "github.com/rabbitmq/amqp091-go"
)

// The production services that the fault tests use. CI starts them; a
// developer machine without them skips those tests with a message.
const (
	postgresAdminDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	rabbitURL        = "amqp://guest:guest@127.0.0.1:5672/"
)

// backend is one store and bus pair that a process test runs against.
type backend struct {
	name string
	// yaml is the store and bus part of the hub config.
	yaml string
	env  []string
}

func reachable(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func randomSuffix() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// requireProduction skips the test unless PostgreSQL and RabbitMQ answer.
// In CI (CI=true) it fails instead, so that a missing service is never
// mistaken for a pass.
func requireProduction(t *testing.T) {
	t.Helper()
	for _, addr := range []string{"127.0.0.1:5432", "127.0.0.1:5672"} {
		if !reachable(addr) {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s does not answer; .ci/run starts PostgreSQL and RabbitMQ", addr)
			}
			t.Skipf("%s does not answer; start PostgreSQL and RabbitMQ to run this test", addr)
		}
	}
}

// newPostgresDB creates an empty database for one test, drops it at
// cleanup, and returns its DSN.
func newPostgresDB(t testing.TB) string {
	t.Helper()
	admin, err := sql.Open("pgx", postgresAdminDSN)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	name := "obmenhub_e2e_" + randomSuffix()
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", postgresAdminDSN)
		if err != nil {
			return
		}
		defer admin.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	return strings.Replace(postgresAdminDSN, "/postgres?", "/"+name+"?", 1)
}

// embeddedBackend is the in-process bus with a SQLite ledger in dir.
func embeddedBackend(dir string) backend {
	return backend{
		name: "embedded",
		yaml: fmt.Sprintf("store: {driver: sqlite, path: %q}\nbus: {driver: memory}\n", filepath.Join(dir, "hub.db")),
	}
}

// productionBackend is RabbitMQ with a PostgreSQL ledger, on a new
// database and a new exchange and queue prefix.
func productionBackend(t *testing.T) backend {
	t.Helper()
	requireProduction(t)
	dsn := newPostgresDB(t)
	prefix := "obmenhub-e2e-" + randomSuffix()
	t.Cleanup(func() { deleteRabbitObjects(prefix) })
	return backend{
		name: "rabbitmq+postgres",
		yaml: fmt.Sprintf("store: {driver: postgres, dsn_env: E2E_PG_DSN}\nbus: {driver: amqp, url_env: E2E_AMQP_URL, prefix: %s}\n", prefix),
		env:  []string{"E2E_PG_DSN=" + dsn, "E2E_AMQP_URL=" + rabbitURL},
	}
}

// backends returns the embedded backend and, when the services answer,
// the production one.
func backends(t *testing.T, dir string) []backend {
	out := []backend{embeddedBackend(dir)}
	if reachable("127.0.0.1:5432") && reachable("127.0.0.1:5672") {
		out = append(out, productionBackend(t))
	} else if os.Getenv("CI") != "" {
		t.Fatalf("PostgreSQL or RabbitMQ does not answer in CI")
	}
	return out
}

// deleteRabbitObjects deletes the queues and exchanges whose names start
// with prefix. It lists them with rabbitmqctl, which runs on this machine
// beside the broker.
func deleteRabbitObjects(prefix string) {
	conn, err := amqp.Dial(rabbitURL)
	if err != nil {
		return
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return
	}
	defer ch.Close()
	for _, kind := range []string{"list_queues", "list_exchanges"} {
		out, err := exec.Command("rabbitmqctl", kind, "-q", "--no-table-headers", "name").Output()
		if err != nil {
			continue
		}
		for _, name := range strings.Fields(string(out)) {
			if !strings.HasPrefix(name, prefix) {
				continue
			}
			if kind == "list_queues" {
				ch.QueueDelete(name, false, false, false)
			} else {
				ch.ExchangeDelete(name, false, false)
			}
		}
	}
}

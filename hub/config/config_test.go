package config

import (
	"strings"
	"testing"
)

func TestShippedConfigsLoad(t *testing.T) {
	for _, path := range []string{"../../configs/hub.example.yaml", "../../configs/demo.yaml"} {
		t.Run(path, func(t *testing.T) {
			c, err := Load(path)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if len(c.Channels) < 2 {
				t.Errorf("channels = %d, want at least 2", len(c.Channels))
			}
		})
	}
}

func TestInvalidConfig(t *testing.T) {
	base := "exchange: {username: 1c, password_env: PW}\n"
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", base + "listn: x\n", "listn"},
		{"no username", "exchange: {password_env: PW}\n", "exchange.username"},
		{"bad kind", base + "channels: [{name: a, kind: avito, base_url: http://x, warehouse_id: 1}]\n", `kind "avito"`},
		{"duplicate name", base + "channels: [{name: a, kind: wildberries, token_env: T, base_url: http://x, warehouse_id: 1}, {name: a, kind: wildberries, token_env: T, base_url: http://x, warehouse_id: 1}]\n", "duplicate"},
		{"ozon without key", base + "channels: [{name: a, kind: ozon, base_url: http://x, warehouse_id: 1}]\n", "api_key_env"},
		{"bad base url", base + "channels: [{name: a, kind: wildberries, token_env: T, base_url: ftp://x, warehouse_id: 1}]\n", "base_url"},
		{"bad timezone", base + "timezone: Mars/Olympus\n", "Mars/Olympus"},
		{"slow progress", "exchange: {username: 1c, password_env: PW, progress_after: 1m}\n", "exchange.progress_after"},
		{"upload below chunk", "exchange: {username: 1c, password_env: PW, file_limit: 2000, max_upload: 1000}\n", "exchange.max_upload"},
		{"channel in two virtual warehouses", base + "channels: [{name: a, kind: wildberries, token_env: T, base_url: http://x, warehouse_id: 1}]\nvirtual_warehouses: [{name: m, bindings: [{channel: a, rule: all}]}, {name: n, bindings: [{channel: a, rule: all}]}]\n", "bound in virtual warehouse"},
		{"fixed without quantity", base + "channels: [{name: a, kind: wildberries, token_env: T, base_url: http://x, warehouse_id: 1}]\nvirtual_warehouses: [{name: m, bindings: [{channel: a, rule: fixed}]}]\n", "positive quantity"},
		{"postgres without dsn", base + "store: {driver: postgres}\n", "store.dsn_env"},
		{"amqp without url", base + "bus: {driver: amqp}\n", "bus.url_env"},
		{"unknown store", base + "store: {driver: mysql}\n", `store.driver "mysql"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "test.yaml")
			if err == nil {
				t.Fatalf("Parse accepted invalid config")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func TestSecret(t *testing.T) {
	t.Setenv("OBMENHUB_TEST_SECRET", "")
	if _, err := Secret("exchange.password_env", "OBMENHUB_TEST_SECRET"); err == nil || !strings.Contains(err.Error(), "OBMENHUB_TEST_SECRET") {
		t.Errorf("Secret(unset) error = %v, want one naming the variable", err)
	}
	t.Setenv("OBMENHUB_TEST_SECRET", "s3cret")
	if v, err := Secret("k", "OBMENHUB_TEST_SECRET"); err != nil || v != "s3cret" {
		t.Errorf("Secret = %q, %v", v, err)
	}
}

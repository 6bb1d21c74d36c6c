package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"obmenhub/e2e/testdata"
)

// Expected numbers were computed from the XML with grep and awk, not with
// hubctl: sums of КоличествоНаСкладе per ИдСклада, and of Количество.
func TestInspectSummary(t *testing.T) {
	offers := testdata.Path(t, "commerceml", "dobromyslov__offers0_1.xml")
	rests := testdata.Path(t, "commerceml", "gillbeits__rests___1af6e7b8-a026-4690-9752-1c9d64cb914d.xml")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"inspect", "--summary", offers, rests}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr.String())
	}
	want := `{
  "products": 0,
  "offers": 1022,
  "prices": 44,
  "deleted": 0,
  "stock_total": 4739,
  "stock_by_warehouse": {
    "5d1caeb1-44b2-11e4-a628-003048c64779": 1924,
    "6abdb0b5-18fd-11e7-80c2-0cc47ab29cd1": 11,
    "d2a52d49-19c9-11e7-80c2-0cc47ab29cd1": 41,
    "dd306af1-19c9-11e7-80c2-0cc47ab29cd1": 2763
  },
  "schema_versions": [
    "2.07",
    "2.09"
  ]
}
`
	if stdout.String() != want {
		t.Errorf("summary:\n%s\nwant:\n%s", stdout.String(), want)
	}
}

func TestInspectSummaryDeleted(t *testing.T) {
	// 6 offers with <ПометкаУдаления>true</ПометкаУдаления> and 1 <Товар Статус="Удален">.
	var stdout, stderr bytes.Buffer
	code := run([]string{"inspect", "--summary",
		testdata.Path(t, "commerceml", "irpsv-bxm6goods__offers.xml"),
		testdata.Path(t, "commerceml", "dobromyslov__import0_1.xml"),
	}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr.String())
	}
	var s summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Deleted != 7 || s.Products != 36 || s.Offers != 86 {
		t.Errorf("deleted/products/offers = %d/%d/%d, want 7/36/86", s.Deleted, s.Products, s.Offers)
	}
}

func TestInspectRejectedFile(t *testing.T) {
	orders := testdata.Path(t, "commerceml", "irpsv-offdoc__orders.xml")
	var stdout, stderr bytes.Buffer
	code := run([]string{"inspect", "--summary", orders}, &stdout, &stderr)
	if code == 0 {
		t.Fatal("exit 0 for an orders file")
	}
	if !strings.Contains(stderr.String(), orders) || !strings.Contains(stderr.String(), "документ заказов") {
		t.Errorf("stderr %q does not name the file and reason", stderr.String())
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout = %q, want no summary", stdout.String())
	}
}

func TestInspectRecords(t *testing.T) {
	file := testdata.Path(t, "commerceml", "irpsv-offdoc__offers.xml")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"inspect", file}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want document + 2 offers", len(lines))
	}
	var first struct {
		Type   string
		File   string
		Record struct{ Kind string }
	}
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
		t.Fatal(err)
	}
	if first.Type != "document" || first.File != file || first.Record.Kind != "offers" {
		t.Errorf("first line = %s", lines[0])
	}
	if !strings.HasPrefix(lines[1], `{"type":"offer"`) || !strings.Contains(lines[1], `"value":4,"currency":"USD"`) {
		t.Errorf("second line = %s", lines[1])
	}
}

func TestGenOffersRoundTrip(t *testing.T) {
	out := filepath.Join(t.TempDir(), "gen.xml")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"gen-offers", "--offers", "10", "--warehouses", "3", "-o", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("gen-offers exit %d: %s", code, stderr.String())
	}
	if _, err := os.Stat(out); err != nil {
		t.Fatal(err)
	}
	stdout.Reset()
	if code := run([]string{"inspect", "--summary", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("inspect exit %d: %s", code, stderr.String())
	}
	var s summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Offers != 10 || s.Prices != 20 || len(s.StockByWarehouse) != 3 {
		t.Errorf("summary = %s", stdout.String())
	}
}

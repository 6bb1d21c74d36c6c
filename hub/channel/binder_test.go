package channel

import (
	"testing"

	"obmenhub/adapters"
	"obmenhub/hub/ledger"
)

func TestCatalogBinding(t *testing.T) {
	entries := []adapters.CatalogEntry{
		{ExternalID: "1001", PriceID: "77", Article: "KET-17", Barcodes: []string{"4600000000017"}},
		{ExternalID: "1002", PriceID: "78", Article: "MUG-300", Barcodes: []string{"4600000000300"}},
		{ExternalID: "1003", PriceID: "78", Article: "MUG-300", Barcodes: []string{"4600000000301"}},
	}
	tests := []struct {
		name       string
		match      string
		usePriceID bool
		st         ledger.SKUStock
		want       string
	}{
		{"article", "article", false, ledger.SKUStock{Article: "KET-17"}, "1001"},
		{"article for prices", "article", true, ledger.SKUStock{Article: "KET-17"}, "77"},
		{"shared article binds none", "article", false, ledger.SKUStock{Article: "MUG-300"}, ""},
		{"barcode", "barcode", false, ledger.SKUStock{Barcode: "4600000000301"}, "1003"},
		{"unknown barcode", "barcode", false, ledger.SKUStock{Barcode: "999"}, ""},
		{"no article", "article", false, ledger.SKUStock{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBinder(BindingConfig{By: BindCatalog, Match: tt.match})
			if err != nil {
				t.Fatal(err)
			}
			if b.Loaded() {
				t.Errorf("catalogue binder loaded before any catalogue")
			}
			amb := b.LoadCatalog(entries, tt.usePriceID)
			if tt.match == "article" && !tt.usePriceID && (len(amb) != 1 || amb[0] != "MUG-300") {
				t.Errorf("ambiguous = %v, want [MUG-300]", amb)
			}
			if got := b.Resolve(&tt.st); got != tt.want {
				t.Errorf("Resolve = %q, want %q", got, tt.want)
			}
		})
	}
	if _, err := NewBinder(BindingConfig{By: BindCatalog, Match: "name"}); err == nil {
		t.Errorf("NewBinder accepted match name")
	}
}

package commerceml

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"obmenhub/mapping/commerceml/cmlgen"
)

// BenchmarkParse parses a generated offers package with 5 warehouses.
// CML_BENCH_OFFERS sets the number of offers (default 2000, about 3 MB);
// bench.sh runs the full-size comparison with xmllint.
func BenchmarkParse(b *testing.B) {
	offers := 2000
	if s := os.Getenv("CML_BENCH_OFFERS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("CML_BENCH_OFFERS=%q: %v", s, err)
		}
		offers = n
	}
	path := filepath.Join(b.TempDir(), "offers.xml")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := cmlgen.GenerateOffers(f, offers, 5); err != nil {
		b.Fatal(err)
	}
	f.Close()
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}

	b.SetBytes(st.Size())
	b.ReportAllocs()
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Parse(f, "offers.xml", Options{}, discard{}); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

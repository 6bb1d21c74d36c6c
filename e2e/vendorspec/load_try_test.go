package vendorspec

import ("testing";"time")

func TestLoadTry(t *testing.T) {
	for _, v := range []Vendor{Ozon, Wildberries} {
		start := time.Now()
		_, err := Load(v)
		t.Logf("%s: %v in %s", v, err, time.Since(start))
	}
}

package commerceml

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"obmenhub/e2e/testdata"
	"obmenhub/hub/model"
)

type discard struct{}

func (discard) Document(*model.Document) error { return nil }
func (discard) Product(*model.Product) error   { return nil }
func (discard) Offer(*model.Offer) error       { return nil }

// FuzzParse checks that no input makes Parse panic, and that every
// rejection of input is a *model.InputError.
func FuzzParse(f *testing.F) {
	f.Add([]byte(offersHead + `<Предложение><Ид>a#b</Ид><Количество>1</Количество><Склад ИдСклада="w" КоличествоНаСкладе="2"/></Предложение>` + offersTail))
	f.Add([]byte(`<?xml version="1.0" encoding="windows-1251"?><КоммерческаяИнформация/>`))
	f.Add([]byte("<a><b></a>"))
	// Seed with the shared real files when they are present.
	if dir, err := testdata.Dir(); err == nil {
		names, _ := filepath.Glob(filepath.Join(dir, "commerceml", "*.xml"))
		for _, name := range names {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(b)
			}
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := Parse(bytes.NewReader(data), "fuzz.xml", Options{}, discard{})
		if err == nil {
			return
		}
		if _, ok := err.(*model.InputError); !ok {
			t.Fatalf("error %v is %T, want *model.InputError", err, err)
		}
	})
}

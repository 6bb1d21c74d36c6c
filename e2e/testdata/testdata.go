// Package testdata locates the shared real-world inputs (CommerceML
// packages, 1C OData responses, vendor API specs) that tests read.
//
// The files live outside the repository, in ../shared/testdata relative to
// the module root. OBMENHUB_TESTDATA overrides that location.
package testdata

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Dir returns the shared testdata directory, or an error that says where
// it looked.
func Dir() (string, error) {
	if d := os.Getenv("OBMENHUB_TESTDATA"); d != "" {
		return d, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("locate testdata: %w", err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			td := filepath.Join(filepath.Dir(d), "shared", "testdata")
			if _, err := os.Stat(td); err != nil {
				return "", fmt.Errorf("shared testdata not found at %s (set OBMENHUB_TESTDATA): %w", td, err)
			}
			return td, nil
		}
		if filepath.Dir(d) == d {
			return "", errors.New("locate testdata: no go.mod above " + wd + " (set OBMENHUB_TESTDATA)")
		}
	}
}

// TB is the part of testing.TB that Path needs.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Path returns the path of a file under the shared testdata directory,
// for example Path(t, "commerceml", "irpsv-offdoc__offers.xml"), and fails
// the test when the directory is missing.
func Path(t TB, elem ...string) string {
	t.Helper()
	d, err := Dir()
	if err != nil {
		t.Fatalf("%v", err)
	}
	return filepath.Join(append([]string{d}, elem...)...)
}

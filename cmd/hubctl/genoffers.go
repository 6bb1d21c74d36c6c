package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"obmenhub/mapping/commerceml/cmlgen"
)

func init() {
	commands["gen-offers"] = command{
		summary: "write a synthetic CommerceML 2.07 offers package for benchmarks",
		run:     runGenOffers,
	}
}

func runGenOffers(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("gen-offers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	offers := fs.Int("offers", 1000, "number of Предложение elements")
	warehouses := fs.Int("warehouses", 5, "number of warehouses, each with one stock entry per offer")
	output := fs.String("o", "-", "output file; - writes to standard output")
	if err := fs.Parse(args); err != nil {
		return errExit
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *offers < 0 || *warehouses < 0 {
		return errors.New("--offers and --warehouses must not be negative")
	}
	if *output == "-" {
		return cmlgen.GenerateOffers(stdout, *offers, *warehouses)
	}
	f, err := os.Create(*output)
	if err != nil {
		return err
	}
	if err := cmlgen.GenerateOffers(f, *offers, *warehouses); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

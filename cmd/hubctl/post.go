package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"obmenhub/hub/exchange/client"
)

func init() {
	commands["post"] = command{
		summary: "send 1C exchange files to a hub as 1C does (checkauth, init, file, import)",
		run:     runPost,
	}
}

func runPost(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("post", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("url", "http://127.0.0.1:8080/1c/exchange", "exchange endpoint of the hub")
	user := fs.String("user", "1c", "login of the exchange")
	passwordEnv := fs.String("password-env", "OBMENHUB_EXCHANGE_PASSWORD", "environment variable that holds the password")
	zipped := fs.Bool("zip", false, "pack the files into one zip archive when the hub allows it")
	timeout := fs.Duration("timeout", 30*time.Minute, "limit for the whole exchange")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: hubctl post [options] FILE...\n\nSends the files in the order given and imports each one.\n\nOptions:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errExit
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errExit
	}
	// The hub stores uploads by base name, so two files with one name
	// would be appended into one.
	seen := map[string]string{}
	for _, p := range fs.Args() {
		base := filepath.Base(p)
		if prev, ok := seen[base]; ok {
			return fmt.Errorf("%s and %s have the same file name %s; the hub would join them, so send them in separate runs", prev, p, base)
		}
		seen[base] = p
	}
	password := os.Getenv(*passwordEnv)
	if password == "" {
		return fmt.Errorf("environment variable %s is empty; export the exchange password there", *passwordEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	c := &client.Client{URL: *endpoint, User: *user, Password: password}
	if err := c.PostFiles(ctx, *zipped, fs.Args()...); err != nil {
		var f *client.FailureError
		if errors.As(err, &f) {
			fmt.Fprintf(stderr, "hub answered failure to %s:\n%s\n", f.Mode, f.Message)
			return errExit
		}
		return err
	}
	fmt.Fprintf(stdout, "success: %d file(s) imported\n", fs.NArg())
	return nil
}

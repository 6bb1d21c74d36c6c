package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

func init() {
	commands["skus"] = command{
		summary: "list a channel's unbound (or bound) SKUs from a running hub",
		run:     runSKUs,
	}
}

func runSKUs(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("skus", flag.ContinueOnError)
	fs.SetOutput(stderr)
	hub := fs.String("hub", "http://127.0.0.1:8080", "base URL of the hub's API")
	name := fs.String("channel", "", "channel name from the hub's config (required)")
	bound := fs.Bool("bound", false, "list bound SKUs with their channel ids instead of unbound ones")
	limit := fs.Int("limit", 1000, "most SKUs to list, 1 to 10000")
	if err := fs.Parse(args); err != nil {
		return errExit
	}
	if *name == "" {
		return fmt.Errorf("--channel is required; name a channel from the hub's config")
	}
	u := fmt.Sprintf("%s/api/v1/channels/%s/skus?bound=%t&limit=%d", *hub, url.PathEscape(*name), *bound, *limit)
	resp, err := (&http.Client{Timeout: time.Minute}).Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Error   string `json:"error"`
		Bound   int    `json:"bound"`
		Unbound int    `json:"unbound"`
		SKUs    []struct {
			SKU        string `json:"sku"`
			ExternalID string `json:"external_id"`
		} `json:"skus"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("read response of %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("hub returned HTTP %d: %s", resp.StatusCode, body.Error)
	}
	fmt.Fprintf(stdout, "channel %s: %d bound, %d unbound\n", *name, body.Bound, body.Unbound)
	for _, s := range body.SKUs {
		if *bound {
			fmt.Fprintf(stdout, "%s\t%s\n", s.SKU, s.ExternalID)
		} else {
			fmt.Fprintln(stdout, s.SKU)
		}
	}
	return nil
}

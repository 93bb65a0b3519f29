package main

import (
	"fmt"
	"net/http"

	"github.com/healthsync/healthsync/connectors/httpclient"
	"time"
)

// cmdHealthcheck probes /healthz; the container image has no shell or curl.
func cmdHealthcheck(e *env) error {
	fs := newFlags(e, "healthcheck", "[--url URL]")
	url := fs.String("url", "http://127.0.0.1:8080/healthz", "health endpoint to probe")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}

	req, err := http.NewRequestWithContext(e.ctx, "GET", *url, nil)
	if err != nil {
		return usagef("url %q: %v", *url, err)
	}
	resp, err := httpclient.New(httpclient.Options{Name: "healthcheck", Timeout: 3 * time.Second, RetryMax: -1}).Do(req)
	if err != nil {
		return fmt.Errorf("probing %s: %w", *url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probing %s: HTTP %d", *url, resp.StatusCode)
	}
	return nil
}

package main

import (
	"fmt"
	"net/http"
	"time"
)

// cmdHealthcheck probes /healthz; the container image has no shell or curl.
func cmdHealthcheck(e *env) error {
	fs := newFlags(e, "healthcheck", "[--url URL]")
	url := fs.String("url", "http://127.0.0.1:8080/healthz", "health endpoint to probe")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	c := &http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(*url)
	if err != nil {
		return fmt.Errorf("probing %s: %w", *url, err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("probing %s: HTTP %d", *url, resp.StatusCode)
	}
	return nil
}

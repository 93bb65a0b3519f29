package main

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/healthsync/healthsync/connectors/httpclient"
)

// cmdHealthcheck probes /healthz; the container image has no shell or curl.
// Without --url it probes the address `run` listens on: $HEALTHSYNC_LISTEN
// (the image sets it), else the default 127.0.0.1:8080.
func cmdHealthcheck(e *env) error {
	fs := newFlags(e, "healthcheck", "[--url URL]")
	url := fs.String("url", "", "health endpoint to probe (default http://$HEALTHSYNC_LISTEN/healthz, wildcard hosts on loopback)")
	if err := parseFlags(fs, e.args); err != nil {
		return err
	}
	if *url == "" {
		*url = healthURL(os.Getenv("HEALTHSYNC_LISTEN"))
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

// healthURL is /healthz on listen (host:port), a wildcard or empty host
// reached on loopback; an empty listen is the default 127.0.0.1:8080.
func healthURL(listen string) string {
	if listen == "" {
		listen = "127.0.0.1:8080"
	}
	return "http://" + loopback(listen) + "/healthz"
}

// loopback replaces a wildcard host (":8080", "0.0.0.0:8080", "[::]:8080")
// with 127.0.0.1; other addresses are returned as they are.
func loopback(listen string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return listen
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

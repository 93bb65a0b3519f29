package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/sync/store"
)

// remote is a running daemon's API, which the read commands use when the
// daemon holds the store's lock: the address and token come from the same
// configuration file the daemon runs with.
type remote struct {
	base   string // http://host:port
	token  config.Secret
	client *httpclient.Client
}

// newRemote builds the client for cfg's daemon, at $HEALTHSYNC_LISTEN when
// set (as `run` listens there) or server.listen. A wildcard listen address
// (":8080", "0.0.0.0:8080", "[::]:8080") is reached on loopback.
func newRemote(cfg *config.Config) (*remote, error) {
	if cfg.Server.APIToken.IsZero() {
		return nil, errors.New("server.api_token is not set, so the running daemon serves no API to ask instead")
	}
	listen := cfg.Server.Listen
	if env := os.Getenv("HEALTHSYNC_LISTEN"); env != "" {
		listen = env
	}
	if _, _, err := net.SplitHostPort(listen); err != nil {
		return nil, fmt.Errorf("listen address %q: %w", listen, err)
	}
	return &remote{base: "http://" + loopback(listen), token: cfg.Server.APIToken,
		client: httpclient.New(httpclient.Options{Name: "daemon", Timeout: 2 * time.Minute, RetryMax: -1,
			Secrets: []string{cfg.Server.APIToken.Reveal()}})}, nil
}

// openOrRemote opens the app the config names or, when a running daemon
// holds the store, returns a client for that daemon's API (and a note on
// stderr). Exactly one of the results is non-nil on success.
func openOrRemote(e *env, path, logFormat string) (*app, *remote, error) {
	cfg, err := loadConfig(path)
	if err != nil {
		return nil, nil, err
	}
	a, err := openAppConfig(cfg, logFormat, e.stderr, nil)
	if err == nil {
		return a, nil, nil
	}
	if !errors.Is(err, store.ErrInUse) {
		return nil, nil, err
	}
	r, rerr := newRemote(cfg)
	if rerr != nil {
		return nil, nil, fmt.Errorf("%w; %w", err, rerr)
	}
	fmt.Fprintf(e.stderr, "healthsync: %s is held by the running daemon; asking it at %s\n", cfg.Store.Path, r.base)
	return nil, r, nil
}

// do sends one request and returns the answer's body; a non-2xx answer is an
// error carrying the daemon's message.
func (r *remote) do(ctx context.Context, method, path string, q url.Values) ([]byte, error) {
	u := r.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, nil)
	if err != nil {
		return nil, fmt.Errorf("asking the daemon: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+r.token.Reveal())
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, r.unreachable(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the daemon's answer to %s: %w", path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		msg := strings.TrimSpace(string(body))
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			msg = e.Error
		}
		err := fmt.Errorf("the daemon answered %s %s with HTTP %d: %s", method, path, resp.StatusCode, msg)
		if resp.StatusCode == http.StatusBadRequest || resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusConflict {
			return nil, usageError{err}
		}
		return nil, err
	}
	return body, nil
}

// getJSON decodes the answer to GET path into v.
func (r *remote) getJSON(ctx context.Context, path string, q url.Values, v any) error {
	body, err := r.do(ctx, http.MethodGet, path, q)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("decoding the daemon's answer to %s: %w", path, err)
	}
	return nil
}

// unreachable explains a failed call: when nothing listens, the store's
// lock is held by another command (a long sync or apply), not a daemon.
func (r *remote) unreachable(err error) error {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("the store is in use by another healthsync process and no daemon answers at %s (a sync or apply still running? try again when it ends): %w", r.base, err)
	}
	return fmt.Errorf("asking the daemon at %s: %w", r.base, err)
}

package httpclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
)

// ErrUnknownOutcome means a request that creates something may or may not
// have been carried out: it timed out, its connection dropped after it was
// sent, or the server answered 5xx. Such a request is never repeated
// blindly; the caller reads back (by a dedupe marker or an external ID)
// what exists before creating again.
var ErrUnknownOutcome = errors.New("outcome unknown: the request may have been carried out")

type creatingKey struct{}

// Creating marks the requests sent with ctx as creating (a POST that makes
// new records): after an unknown outcome they are not retried, and Do
// returns an error wrapping ErrUnknownOutcome. A 429, or a connection that
// could not be opened, is still retried: nothing was done.
func Creating(ctx context.Context) context.Context {
	return context.WithValue(ctx, creatingKey{}, true)
}

// IsCreating reports whether ctx marks its requests as creating.
func IsCreating(ctx context.Context) bool {
	v, _ := ctx.Value(creatingKey{}).(bool)
	return v
}

// unknownOutcome decides for a creating request whether the outcome of an
// attempt is unknown, and then returns the error that stops retrying.
func (c *Client) unknownOutcome(resp *http.Response, err error) error {
	switch {
	case err != nil:
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return nil // never connected: nothing was sent
		}
		return fmt.Errorf("%s: %w: %s", c.name, ErrUnknownOutcome, c.Redact(err.Error()))
	case resp.StatusCode >= 500:
		return fmt.Errorf("%s: %w: HTTP %d", c.name, ErrUnknownOutcome, resp.StatusCode)
	}
	return nil
}

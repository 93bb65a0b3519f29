package zendesk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// ErrNotFound means the ticket does not exist or was deleted.
var ErrNotFound = errors.New("zendesk ticket not found")

// FetchTicket re-reads one ticket and its metric set for the webhook path
// ("Show Ticket" GET /api/v2/tickets/{id}, "Show Ticket Metrics" GET
// /api/v2/tickets/{id}/metrics), on the account budget, not the export
// one. A ticket that is gone wraps ErrNotFound; the caller then removes it
// and re-scores the organization the event named.
func (c *Client) FetchTicket(ctx context.Context, id int64) (Ticket, error) {
	p := "/api/v2/tickets/" + strconv.FormatInt(id, 10)
	var tw struct {
		Ticket wireTicket `json:"ticket"`
	}
	if _, err := c.get(ctx, c.api, p+".json", nil, &tw); err != nil {
		if isStatus(err, http.StatusNotFound) {
			return Ticket{}, fmt.Errorf("zendesk: reading ticket %d: %w", id, ErrNotFound)
		}
		return Ticket{}, fmt.Errorf("zendesk: reading ticket %d: %w", id, err)
	}
	var mw struct {
		Metric wireMetric `json:"ticket_metric"`
	}
	if _, err := c.get(ctx, c.api, p+"/metrics.json", nil, &mw); err != nil {
		if isStatus(err, http.StatusNotFound) {
			return Ticket{}, fmt.Errorf("zendesk: reading ticket %d metrics: %w", id, ErrNotFound)
		}
		return Ticket{}, fmt.Errorf("zendesk: reading ticket %d metrics: %w", id, err)
	}
	return mapTicket(tw.Ticket, &mw.Metric), nil
}

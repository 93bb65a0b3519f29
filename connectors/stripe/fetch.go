package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/healthsync/healthsync/connectors/record"
)

// ErrUnknownObject is returned by Fetch for an object type it cannot read.
var ErrUnknownObject = errors.New("unknown stripe object type")

// Fetch re-reads one object with the pinned version: objectType is
// "customer", "subscription" or "invoice" (a Stripe object name, as in
// record.Event.ObjectType). A deleted customer, or an object Stripe no
// longer has, comes back in Batch.Deleted; a canceled subscription is a
// subscription with status canceled.
func (c *Client) Fetch(ctx context.Context, objectType, id string) (*record.Batch, error) {
	return c.fetch(ctx, c.newLookups(), objectType, id)
}

func (c *Client) fetch(ctx context.Context, lk *lookups, objectType, id string) (*record.Batch, error) {
	path := url.PathEscape(id)
	gone := func(stream string, err error) (*record.Batch, error) {
		if isMissing(err) {
			return &record.Batch{Stream: stream, Deleted: []record.Ref{{System: record.Stripe, ID: id, Modified: c.observe("")}}}, nil
		}
		return nil, fmt.Errorf("reading %s %s: %w", objectType, id, err)
	}
	switch objectType {
	case "customer":
		var a apiCustomer
		obs, err := c.get(ctx, "/v1/customers/"+path, nil, &a)
		if err != nil {
			return gone(StreamCustomers, err)
		}
		if a.Deleted {
			return &record.Batch{Stream: StreamCustomers, Deleted: []record.Ref{{System: record.Stripe, ID: id, Modified: obs}}}, nil
		}
		return &record.Batch{Stream: StreamCustomers, Customers: []record.Customer{a.record(obs)}}, nil
	case "subscription":
		var a apiSubscription
		obs, err := c.get(ctx, "/v1/subscriptions/"+path, url.Values{"expand[]": c.subExpand("")}, &a)
		if err != nil {
			return gone(StreamSubscriptions, err)
		}
		s, err := c.completeSubscription(ctx, lk, a, obs)
		if err != nil {
			return nil, err
		}
		return &record.Batch{Stream: StreamSubscriptions, Subscriptions: []record.Subscription{s}}, nil
	case "invoice":
		var a apiInvoice
		obs, err := c.get(ctx, "/v1/invoices/"+path, nil, &a)
		if err != nil {
			return gone(StreamInvoices, err)
		}
		in, err := c.completeInvoice(ctx, lk, a, obs)
		if err != nil {
			return nil, err
		}
		return &record.Batch{Stream: StreamInvoices, Invoices: []record.Invoice{in}}, nil
	}
	return nil, fmt.Errorf("fetching %s %s: %w", objectType, id, ErrUnknownObject)
}

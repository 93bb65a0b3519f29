package chargebee

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/healthsync/healthsync/connectors/record"
)

// Fetch re-reads one object named by a webhook event: objectType
// "subscription", "customer", "invoice" or "transaction" (a transaction is
// answered with the invoices it pays, whose payment state it changes). An
// object Chargebee no longer has (404 resource_not_found) comes back in
// Batch.Deleted. The batch has the object's stream and no cursor.
func (c *Client) Fetch(ctx context.Context, objectType, id string) (*record.Batch, error) {
	switch objectType {
	case "subscription":
		b := &record.Batch{Stream: StreamSubscriptions}
		var w wireSubscription
		found, err := c.retrieve(ctx, "subscriptions", "subscription", id, &w)
		if err != nil || !found {
			return deletedOr(b, id, err)
		}
		if err := c.ensureCatalog(ctx, []wireSubscription{w}, nil); err != nil {
			return nil, fmt.Errorf("chargebee fetch subscription %s: %w", id, err)
		}
		b.Subscriptions = append(b.Subscriptions, mapSubscription(w, c))
		return b, nil
	case "customer":
		b := &record.Batch{Stream: StreamCustomers}
		var raw json.RawMessage
		found, err := c.retrieve(ctx, "customers", "customer", id, &raw)
		if err != nil || !found {
			return deletedOr(b, id, err)
		}
		var w wireCustomer
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, fmt.Errorf("chargebee fetch customer %s: decoding: %w", id, err)
		}
		b.Customers = append(b.Customers, mapCustomer(w, raw))
		return b, nil
	case "invoice":
		b := &record.Batch{Stream: StreamInvoices}
		if err := c.fetchInvoice(ctx, id, b); err != nil {
			return nil, err
		}
		return b, nil
	case "transaction":
		var t wireTransaction
		found, err := c.retrieve(ctx, "transactions", "transaction", id, &t)
		if err != nil {
			return nil, err
		}
		b := &record.Batch{Stream: StreamInvoices}
		if !found {
			return b, nil
		}
		for _, li := range t.LinkedInvoices {
			if err := c.fetchInvoice(ctx, li.InvoiceID, b); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
	return nil, fmt.Errorf("chargebee fetch: unsupported object type %q", objectType)
}

func (c *Client) fetchInvoice(ctx context.Context, id string, b *record.Batch) error {
	var w wireInvoice
	found, err := c.retrieve(ctx, "invoices", "invoice", id, &w)
	if err != nil {
		return err
	}
	if !found {
		b.Deleted = append(b.Deleted, record.Ref{System: record.Chargebee, ID: id})
		return nil
	}
	if err := c.ensureCatalog(ctx, nil, []wireInvoice{w}); err != nil {
		return fmt.Errorf("chargebee fetch invoice %s: %w", id, err)
	}
	b.Invoices = append(b.Invoices, mapInvoice(w, c))
	return nil
}

// retrieve GETs /api/v2/{coll}/{id} and decodes body[key] into out; false
// without error on 404.
func (c *Client) retrieve(ctx context.Context, coll, key, id string, out any) (bool, error) {
	if id == "" {
		return false, fmt.Errorf("chargebee fetch %s: empty id", key)
	}
	var body map[string]json.RawMessage
	err := c.get(ctx, coll+"/"+url.PathEscape(id), nil, &body)
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("chargebee fetch %s %s: %w", key, id, err)
	}
	if err := decodeEntry(body, key, out); err != nil {
		return false, fmt.Errorf("chargebee fetch %s %s: %w", key, id, err)
	}
	return true, nil
}

func deletedOr(b *record.Batch, id string, err error) (*record.Batch, error) {
	if err != nil {
		return nil, err
	}
	b.Deleted = append(b.Deleted, record.Ref{System: record.Chargebee, ID: id})
	return b, nil
}

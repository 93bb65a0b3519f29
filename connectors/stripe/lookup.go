package stripe

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// maxExpandDepth is Stripe's limit on an expansion path ("Expanding
// Responses", https://docs.stripe.com/api/expanding_objects: "Expansions
// have a maximum depth of four levels"). Every dot-separated segment counts,
// the "data" of a list included: data.items.data.discounts is the deepest
// a subscription list accepts, data.items.data.price.tiers (five) gets 400
// "You cannot expand more than 4 levels of a property".
const maxExpandDepth = 4

// expansions returns prefix+path for each path within maxExpandDepth; what
// would be deeper is left to lookups.
func expansions(prefix string, paths ...string) []string {
	var out []string
	for _, p := range paths {
		if e := prefix + p; strings.Count(e, ".")+1 <= maxExpandDepth {
			out = append(out, e)
		}
	}
	return out
}

// lookups reads and caches, by ID, the prices and coupons a run needs but
// cannot expand within the depth limit: tiered prices of listed
// subscriptions (tiers is includable only by expansion), the prices of
// basil invoice lines (pricing.price_details.price is an ID, and the line
// has no interval of its own) and clover coupons of item discounts
// (source.coupon is no longer expanded by default). Prices and coupons are
// immutable in the fields read here ("Update a price": amounts, tiers and
// recurring cannot change; "Update a coupon": only metadata and name), so
// one read per ID per run is enough. A lookups belongs to one Pull or Fetch
// and is used by its goroutine only.
type lookups struct {
	c       *Client
	prices  map[string]*apiPrice
	coupons map[string]*apiCoupon
}

func (c *Client) newLookups() *lookups {
	return &lookups{c: c, prices: map[string]*apiPrice{}, coupons: map[string]*apiCoupon{}}
}

// price returns a price with its tiers (GET /v1/prices/{id}?expand[]=tiers).
func (l *lookups) price(ctx context.Context, id string) (*apiPrice, error) {
	if p, ok := l.prices[id]; ok {
		return p, nil
	}
	var p apiPrice
	if _, err := l.c.get(ctx, "/v1/prices/"+url.PathEscape(id), url.Values{"expand[]": {"tiers"}}, &p); err != nil {
		return nil, fmt.Errorf("reading price %s: %w", id, err)
	}
	l.prices[id] = &p
	return &p, nil
}

// coupon returns a coupon (GET /v1/coupons/{id}).
func (l *lookups) coupon(ctx context.Context, id string) (*apiCoupon, error) {
	if c, ok := l.coupons[id]; ok {
		return c, nil
	}
	var c apiCoupon
	if _, err := l.c.get(ctx, "/v1/coupons/"+url.PathEscape(id), nil, &c); err != nil {
		return nil, fmt.Errorf("reading coupon %s: %w", id, err)
	}
	l.coupons[id] = &c
	return &c, nil
}

// completePrice replaces a tiered price that came without its tiers by the
// full price.
func (l *lookups) completePrice(ctx context.Context, p **apiPrice) error {
	if *p == nil || (*p).BillingScheme != "tiered" || len((*p).Tiers) > 0 {
		return nil
	}
	full, err := l.price(ctx, (*p).ID)
	if err != nil {
		return err
	}
	*p = full
	return nil
}

// completeDiscounts gives every discount its coupon: clover's
// source.coupon may be a bare ID.
func (l *lookups) completeDiscounts(ctx context.Context, ds []discountRef) error {
	for i := range ds {
		d := ds[i].D
		if d == nil || d.Coupon != nil {
			continue
		}
		id := d.sourceCouponID()
		if id == "" {
			continue
		}
		c, err := l.coupon(ctx, id)
		if err != nil {
			return err
		}
		d.Coupon = c
	}
	return nil
}

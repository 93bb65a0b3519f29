package chargebee

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
)

// The product catalog (item prices: period, pricing model, tiers; coupons:
// discount terms) is cached on the Client, shared by pulls and webhook
// fetches. A pull lists it when older than Options.CatalogTTL; ids missing
// from the cache are retrieved one by one before a page is mapped, and a
// 404 is remembered so a deleted price is not asked for again.

// refreshCatalog lists item prices and coupons when the cache is stale.
func (c *Client) refreshCatalog(ctx context.Context) error {
	c.catMu.Lock()
	fresh := c.prices != nil && c.now().Sub(c.catAt) < c.ttl
	c.catMu.Unlock()
	if fresh {
		return nil
	}
	prices := map[string]itemPrice{}
	for entry, err := range c.listAll(ctx, "item_prices", nil) {
		if err != nil {
			return fmt.Errorf("listing item prices: %w", err)
		}
		var ip itemPrice
		if err := decodeEntry(entry, "item_price", &ip); err != nil {
			return err
		}
		prices[ip.ID] = ip
	}
	coupons := map[string]coupon{}
	for entry, err := range c.listAll(ctx, "coupons", nil) {
		if err != nil {
			return fmt.Errorf("listing coupons: %w", err)
		}
		var cp coupon
		if err := decodeEntry(entry, "coupon", &cp); err != nil {
			return err
		}
		coupons[cp.ID] = cp
	}
	c.catMu.Lock()
	c.prices, c.coupons, c.catAt = prices, coupons, c.now()
	c.catMu.Unlock()
	return nil
}

// ensureCatalog retrieves the item prices and coupons the subscriptions
// and invoices refer to that the cache lacks.
func (c *Client) ensureCatalog(ctx context.Context, subs []wireSubscription, invs []wireInvoice) error {
	var priceIDs, couponIDs []string
	c.catMu.Lock()
	if c.prices == nil {
		c.prices, c.coupons = map[string]itemPrice{}, map[string]coupon{}
	}
	seen := map[string]bool{}
	addPrice := func(id string) {
		if _, ok := c.prices[id]; !ok && id != "" && !seen["p"+id] {
			seen["p"+id] = true
			priceIDs = append(priceIDs, id)
		}
	}
	for _, s := range subs {
		for _, it := range s.SubscriptionItems {
			addPrice(it.ItemPriceID)
		}
		if len(s.Discounts) == 0 {
			for _, cp := range s.Coupons {
				if _, ok := c.coupons[cp.CouponID]; !ok && !seen["c"+cp.CouponID] {
					seen["c"+cp.CouponID] = true
					couponIDs = append(couponIDs, cp.CouponID)
				}
			}
		}
	}
	for _, in := range invs {
		for _, l := range in.LineItems {
			if l.EntityType == "plan_item_price" || l.EntityType == "addon_item_price" {
				addPrice(l.EntityID)
			}
		}
	}
	c.catMu.Unlock()

	for _, id := range priceIDs {
		var body map[string]json.RawMessage
		var ip itemPrice
		err := c.get(ctx, "item_prices/"+url.PathEscape(id), nil, &body)
		switch {
		case isNotFound(err):
			ip = itemPrice{ID: id}
		case err != nil:
			return fmt.Errorf("retrieving item price %s: %w", id, err)
		default:
			if err := decodeEntry(body, "item_price", &ip); err != nil {
				return err
			}
		}
		c.catMu.Lock()
		c.prices[id] = ip
		c.catMu.Unlock()
	}
	for _, id := range couponIDs {
		var body map[string]json.RawMessage
		var cp coupon
		err := c.get(ctx, "coupons/"+url.PathEscape(id), nil, &body)
		switch {
		case isNotFound(err):
			cp = coupon{ID: id}
		case err != nil:
			return fmt.Errorf("retrieving coupon %s: %w", id, err)
		default:
			if err := decodeEntry(body, "coupon", &cp); err != nil {
				return err
			}
		}
		c.catMu.Lock()
		c.coupons[id] = cp
		c.catMu.Unlock()
	}
	return nil
}

func (c *Client) itemPrice(id string) (itemPrice, bool) {
	c.catMu.Lock()
	defer c.catMu.Unlock()
	ip, ok := c.prices[id]
	return ip, ok && ip.PricingModel != ""
}

func (c *Client) coupon(id string) (coupon, bool) {
	c.catMu.Lock()
	defer c.catMu.Unlock()
	cp, ok := c.coupons[id]
	return cp, ok && cp.DiscountType != ""
}

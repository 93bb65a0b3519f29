package config

import (
	"fmt"
	"net/netip"
)

// MinOutboundFetchesPerMinute is the least webhook.max_fetches_per_minute of
// a Salesforce connector: one Outbound Message holds up to 100 notifications
// (SOAP API Developer Guide, Outbound Messaging, "Understanding
// Notifications") and is acknowledged whole, so a smaller budget could
// never accept a full message.
const MinOutboundFetchesPerMinute = 100

// DefaultOutboundFetchesPerMinute is webhook.max_fetches_per_minute's default.
const DefaultOutboundFetchesPerMinute = 100

// checkOutbound validates a Salesforce connector's Outbound Message guards:
// the path token's length, basic credentials given together, the allow list's
// entries and the fetch budget.
func (c Connector) checkOutbound(k *checker, p string) {
	w := c.Webhook
	k.token(p+".webhook.path_token", w.PathToken)
	if (w.Username == "") != w.Password.IsZero() {
		k.add(p+".webhook", "username and password go together (basic credentials in the Outbound Message URL)")
	}
	for i, s := range w.AllowedIPs {
		if _, err := netip.ParsePrefix(s); err == nil {
			continue
		}
		if _, err := netip.ParseAddr(s); err != nil {
			k.add(fmt.Sprintf("%s.webhook.allowed_ips[%d]", p, i), "must be an IP address or CIDR prefix, not %q", s)
		}
	}
	if w.MaxFetchesPerMinute < MinOutboundFetchesPerMinute {
		k.add(p+".webhook.max_fetches_per_minute", "must be at least %d (an Outbound Message holds up to 100 notifications and is accepted whole), not %d",
			MinOutboundFetchesPerMinute, w.MaxFetchesPerMinute)
	}
}

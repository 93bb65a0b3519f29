package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"
)

var (
	sfVersionRe     = regexp.MustCompile(`^[1-9][0-9]\.0$`)
	stripeVersionRe = regexp.MustCompile(`^20[0-9]{2}-[01][0-9]-[0-3][0-9](\.[a-z]+)?$`)
	sfOrgIDRe       = regexp.MustCompile(`^00D[A-Za-z0-9]{12}([A-Za-z0-9]{3})?$`)
	cbSiteRe        = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)
)

// sfGenericLoginHosts are Salesforce's shared login hosts (production and
// sandbox), as opposed to an org's My Domain.
var sfGenericLoginHosts = map[string]bool{"login.salesforce.com": true, "test.salesforce.com": true}

// urlHost is the lower-case host name of a URL without its port, or "".
func urlHost(v string) string {
	u, err := url.Parse(v)
	if err != nil {
		return ""
	}
	return strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
}

// validate checks one defaulted connector; p is its key path.
func (c Connector) validate(k *checker, p string) {
	if c.Name == "" {
		k.add(p+".name", "is required")
	} else if !connNameRe.MatchString(c.Name) {
		k.add(p+".name", "must be lower-case letters, digits, _ or - and start with a letter, not %q", c.Name)
	}
	if c.Kind == "" {
		k.add(p+".kind", "is required (%s)", strings.Join(Kinds(), ", "))
		return
	}
	k.oneOf(p+".kind", c.Kind, Kinds()...)
	k.schedule(p+".schedule", c.Schedule)
	if c.FullResync < Duration(time.Minute) {
		k.add(p+".full_resync", "must be at least 1m, not %s", c.FullResync)
	}
	c.checkRate(k, p+".rate_limit", c.RateLimit)
	c.checkRate(k, p+".search_rate_limit", c.SearchRateLimit)
	k.positive(p+".http.timeout", c.HTTP.Timeout)
	if c.HTTP.RetryMax < -1 || c.HTTP.RetryMax > 20 {
		k.add(p+".http.retry_max", "must be between -1 (no retries) and 20, not %d", c.HTTP.RetryMax)
	}
	k.positive(p+".http.retry_wait_min", c.HTTP.RetryWaitMin)
	k.positive(p+".http.retry_wait_max", c.HTTP.RetryWaitMax)
	if c.HTTP.RetryWaitMax < c.HTTP.RetryWaitMin {
		k.add(p+".http.retry_wait_max", "must not be below retry_wait_min (%s)", c.HTTP.RetryWaitMin)
	}
	if c.Webhook.Tolerance < 0 {
		k.add(p+".webhook.tolerance", "must not be negative")
	}

	c.forbid(k, p, "sql", c.SQL != nil && c.Kind != KindSQL)
	c.forbid(k, p, "segment", c.Segment != nil && c.Kind != KindSegment)
	if kind, ok := lookupKind(c.Kind); ok && kind.Validate != nil {
		kind.Validate(c, p, &Problems{k})
	}
	if c.Kind != KindSalesforce {
		// The Outbound Message guards are Salesforce's (config/outbound.go).
		forbid := func(path string, set bool) { c.forbid(k, p, path, set) }
		forbid("webhook.path_token", !c.Webhook.PathToken.IsZero())
		forbid("webhook.allowed_ips", len(c.Webhook.AllowedIPs) > 0)
		forbid("webhook.max_fetches_per_minute", c.Webhook.MaxFetchesPerMinute != 0)
	}
}

// forbid reports a setting that does not apply to the connector's kind.
func (c Connector) forbid(k *checker, p, path string, set bool) {
	if set {
		k.add(p+"."+path, "does not apply to %s connectors", c.Kind)
	}
}

// need reports a setting the connector's kind requires.
func (c Connector) need(k *checker, p, path string, missing bool, hint string) {
	if missing {
		k.add(p+"."+path, "is required for %s%s", c.Kind, hint)
	}
}

// checkSalesforce checks a salesforce connector.
func checkSalesforce(c Connector, p string, v *Problems) {
	k, a, w := v.k, c.Auth, c.Webhook
	forbid := func(path string, set bool) { c.forbid(k, p, path, set) }
	need := func(path string, missing bool, hint string) { c.need(k, p, path, missing, hint) }
	if c.LoginURL == "" && a.Flow == FlowClientCredentials {
		k.add(p+".login_url", "is required with flow client_credentials: your My Domain URL, https://YOURDOMAIN.my.salesforce.com (Salesforce refuses the flow on login.salesforce.com)")
	} else {
		k.url(p+".login_url", c.LoginURL, true)
	}
	if c.BaseURL != "" {
		k.add(p+".base_url", "does not apply to salesforce (the instance URL comes from the token response); set login_url")
	}
	if !sfVersionRe.MatchString(c.APIVersion) {
		k.add(p+".api_version", "must be a Salesforce API version such as %q, not %q", DefaultSalesforceAPIVersion, c.APIVersion)
	}
	forbid("site", c.Site != "")
	if c.OrganizationID != "" && !sfOrgIDRe.MatchString(c.OrganizationID) {
		k.add(p+".organization_id", "must be a 15 or 18 character org ID starting with 00D, not %q", c.OrganizationID)
	}
	k.oneOf(p+".auth.flow", a.Flow, sfFlows...)
	need("auth.client_id", a.ClientID == "", "")
	switch a.Flow {
	case FlowClientCredentials:
		need("auth.client_secret", a.ClientSecret.IsZero(), " with flow client_credentials")
		forbid("auth.refresh_token", !a.RefreshToken.IsZero())
		// Salesforce Help, "OAuth 2.0 Client Credentials Flow for
		// Server-to-Server Integration": the flow works only on the
		// org's My Domain; the generic hosts answer "invalid_grant:
		// request not supported on this domain".
		if h := urlHost(c.LoginURL); sfGenericLoginHosts[h] {
			k.add(p+".login_url", "Salesforce refuses flow client_credentials on %s (invalid_grant: request not supported on this domain); use your My Domain URL, https://YOURDOMAIN.my.salesforce.com", h)
		}
	case FlowRefreshToken:
		need("auth.client_secret", a.ClientSecret.IsZero(), " with flow refresh_token")
		need("auth.refresh_token", a.RefreshToken.IsZero(), " with flow refresh_token")
	case FlowJWTBearer:
		need("auth.username", a.Username == "", " with flow jwt_bearer")
		if a.PrivateKey.IsZero() == (a.PrivateKeyFile == "") {
			k.add(p+".auth", "flow jwt_bearer needs exactly one of private_key and private_key_file")
		}
		forbid("auth.refresh_token", !a.RefreshToken.IsZero())
	}
	if a.Flow != FlowJWTBearer {
		forbid("auth.username", a.Username != "")
		forbid("auth.private_key", !a.PrivateKey.IsZero())
		forbid("auth.private_key_file", a.PrivateKeyFile != "")
	}
	forbid("auth.access_token", !a.AccessToken.IsZero())
	forbid("auth.api_key", !a.APIKey.IsZero())
	forbid("webhook.secrets", len(w.Secrets) > 0)
	forbid("webhook.client_secret", !w.ClientSecret.IsZero())
	forbid("webhook.tolerance", w.Tolerance != 0)
	c.checkOutbound(k, p)
	forbid("search_rate_limit", c.SearchRateLimit != (RateLimit{}))
	k.fraction(p+".max_api_share", c.MaxAPIShare, false)
	c.checkObjects(k, p, sfNameRe, sfPathRe)
}

// checkHubSpot checks a hubspot connector.
func checkHubSpot(c Connector, p string, v *Problems) {
	k, a, w := v.k, c.Auth, c.Webhook
	forbid := func(path string, set bool) { c.forbid(k, p, path, set) }
	need := func(path string, missing bool, hint string) { c.need(k, p, path, missing, hint) }
	k.url(p+".base_url", c.BaseURL, true)
	forbid("login_url", c.LoginURL != "")
	forbid("api_version", c.APIVersion != "")
	forbid("site", c.Site != "")
	forbid("organization_id", c.OrganizationID != "")
	forbid("auth.flow", a.Flow != "")
	oauth := a.ClientID != "" || !a.ClientSecret.IsZero() || !a.RefreshToken.IsZero()
	switch {
	case !a.AccessToken.IsZero() && oauth:
		k.add(p+".auth", "give either access_token (private app) or client_id, client_secret and refresh_token (OAuth), not both")
	case a.AccessToken.IsZero() && !oauth:
		k.add(p+".auth", "access_token (private app) or client_id, client_secret and refresh_token (OAuth) is required")
	case oauth:
		need("auth.client_id", a.ClientID == "", " OAuth")
		need("auth.client_secret", a.ClientSecret.IsZero(), " OAuth")
		need("auth.refresh_token", a.RefreshToken.IsZero(), " OAuth")
	}
	forbid("auth.username", a.Username != "")
	forbid("auth.private_key", !a.PrivateKey.IsZero())
	forbid("auth.private_key_file", a.PrivateKeyFile != "")
	forbid("auth.api_key", !a.APIKey.IsZero())
	forbid("webhook.secrets", len(w.Secrets) > 0)
	forbid("webhook.username", w.Username != "")
	forbid("webhook.password", !w.Password.IsZero())
	forbid("max_api_share", c.MaxAPIShare != 0)
	c.checkObjects(k, p, hsObjectRe, hsNameRe)
}

// checkStripe checks a stripe connector.
func checkStripe(c Connector, p string, v *Problems) {
	k, a, w := v.k, c.Auth, c.Webhook
	forbid := func(path string, set bool) { c.forbid(k, p, path, set) }
	k.url(p+".base_url", c.BaseURL, true)
	if !stripeVersionRe.MatchString(c.APIVersion) {
		k.add(p+".api_version", "must be a Stripe API version such as %q, not %q", DefaultStripeAPIVersion, c.APIVersion)
	}
	forbid("site", c.Site != "")
	if strings.HasPrefix(a.APIKey.Reveal(), "pk_") {
		k.add(p+".auth.api_key", "is a publishable key (pk_...); use a secret (sk_) or restricted (rk_) key")
	}
	for i, s := range w.Secrets {
		if s.IsZero() {
			k.add(fmt.Sprintf("%s.webhook.secrets[%d]", p, i), "must not be empty")
		}
	}
	forbid("webhook.username", w.Username != "")
	forbid("webhook.password", !w.Password.IsZero())
	c.checkAPIKeyOnly(k, p)
}

// checkChargebee checks a chargebee connector.
func checkChargebee(c Connector, p string, v *Problems) {
	k, w := v.k, c.Webhook
	forbid := func(path string, set bool) { c.forbid(k, p, path, set) }
	switch {
	case c.Site == "" && c.BaseURL == "":
		k.add(p+".site", "is required (the name in {site}.chargebee.com), or set base_url")
	case c.Site != "" && !cbSiteRe.MatchString(c.Site):
		k.add(p+".site", "must be the site name only, as in {site}.chargebee.com, not %q", c.Site)
	}
	if c.BaseURL != "" {
		k.url(p+".base_url", c.BaseURL, true)
	}
	forbid("api_version", c.APIVersion != "")
	forbid("webhook.secrets", len(w.Secrets) > 0)
	if (w.Username == "") != w.Password.IsZero() {
		k.add(p+".webhook", "username and password go together (Basic authentication)")
	}
	forbid("webhook.tolerance", w.Tolerance != 0)
	c.checkAPIKeyOnly(k, p)
}

// checkAPIKeyOnly checks the settings of a kind authenticated by an API key
// alone: the key is required and every other credential, CRM object and
// Salesforce setting is rejected.
func (c Connector) checkAPIKeyOnly(k *checker, p string) {
	a, w := c.Auth, c.Webhook
	forbid := func(path string, set bool) { c.forbid(k, p, path, set) }
	c.need(k, p, "auth.api_key", a.APIKey.IsZero(), "")
	forbid("login_url", c.LoginURL != "")
	forbid("organization_id", c.OrganizationID != "")
	forbid("auth.flow", a.Flow != "")
	forbid("auth.client_id", a.ClientID != "")
	forbid("auth.client_secret", !a.ClientSecret.IsZero())
	forbid("auth.username", a.Username != "")
	forbid("auth.private_key", !a.PrivateKey.IsZero())
	forbid("auth.private_key_file", a.PrivateKeyFile != "")
	forbid("auth.refresh_token", !a.RefreshToken.IsZero())
	forbid("auth.access_token", !a.AccessToken.IsZero())
	forbid("webhook.client_secret", !w.ClientSecret.IsZero())
	forbid("search_rate_limit", c.SearchRateLimit != (RateLimit{}))
	forbid("max_api_share", c.MaxAPIShare != 0)
	forbid("objects", len(c.Objects) > 0)
}

func (c Connector) checkRate(k *checker, p string, r RateLimit) {
	if r == (RateLimit{}) {
		return
	}
	if r.Requests <= 0 {
		k.add(p+".requests", "must be positive, not %d", r.Requests)
	}
	if r.Per <= 0 {
		k.add(p+".per", "must be a positive duration, not %s", r.Per)
	}
	if r.Burst < 0 {
		k.add(p+".burst", "must not be negative")
	}
}

func (c Connector) checkObjects(k *checker, p string, objRe, fieldRe *regexp.Regexp) {
	seen := map[string]bool{}
	for i, o := range c.Objects {
		op := fmt.Sprintf("%s.objects[%d]", p, i)
		switch {
		case !objRe.MatchString(o.Name):
			k.add(op+".name", "invalid object name %q", o.Name)
		case seen[o.Name]:
			k.add(op+".name", "duplicate object %q", o.Name)
		}
		seen[o.Name] = true
		for j, f := range o.Fields {
			if !fieldRe.MatchString(f) {
				k.add(fmt.Sprintf("%s.fields[%d]", op, j), "invalid field name %q", f)
			}
		}
	}
}

package engine

import (
	"net/url"
	"sort"
	"strings"

	"github.com/healthsync/healthsync/connectors/record"
)

// Match rule kinds, tried in the configured order.
const (
	// RuleBillingMetadata: the billing customer names its CRM account in
	// metadata (e.g. metadata.salesforce_account_id = "001...").
	RuleBillingMetadata = "billing_metadata"
	// RuleCRMField: the CRM account names its billing customer in a field
	// (e.g. Stripe_Customer_Id__c = "cus_...").
	RuleCRMField = "crm_field"
	// RuleEmailDomain: the customer's email domain equals the account's
	// website or domain, and exactly one account has it.
	RuleEmailDomain = "email_domain"
)

// MatchRule is one identity rule.
type MatchRule struct {
	Kind string
	// Key is the metadata key for RuleBillingMetadata.
	Key string
	// Field is the CRM field for RuleCRMField.
	Field string
	// System limits the rule to one CRM system; empty infers it from Key
	// ("salesforce_..." or "hubspot_...") or applies to every CRM.
	System string
	// Connector limits the rule to one CRM or billing connector by name.
	Connector string
}

// Link ties a billing customer to a CRM account.
type Link struct {
	Account  string `json:"account"`  // record key "salesforce/001..."
	Customer string `json:"customer"` // record key "stripe/cus_..."
	Rule     string `json:"rule"`
}

// Conflict is a customer more than one account claims; it is reported and
// left unlinked, never guessed.
type Conflict struct {
	Customer string   `json:"customer"`
	Accounts []string `json:"accounts"`
	Rule     string   `json:"rule"`
}

// MatchResult is the outcome of matching for one CRM system.
type MatchResult struct {
	Links     []Link
	Conflicts []Conflict
	Unmatched []string // customer keys with no account
}

// Match links billing customers to the accounts of one CRM system. The first
// rule, in order, that claims a customer decides, unless a later explicit rule
// (metadata or CRM field) claims another account: then it is a conflict.
func Match(system string, accounts []record.Account, customers []record.Customer, rules []MatchRule, ignoreDomains []string) MatchResult {
	byID := map[string]*record.Account{}
	byID15 := map[string][]*record.Account{}
	byField := map[string]map[string][]string{} // field -> value -> account keys
	byDomain := map[string][]string{}
	ignore := map[string]bool{}
	for _, d := range ignoreDomains {
		ignore[strings.ToLower(d)] = true
	}
	for i := range accounts {
		a := &accounts[i]
		if a.Deleted {
			continue
		}
		byID[a.ID] = a
		if len(a.ID) == 18 {
			byID15[a.ID[:15]] = append(byID15[a.ID[:15]], a)
		}
		for _, r := range rules {
			if r.Kind != RuleCRMField {
				continue
			}
			if v, ok := a.Fields[r.Field].(string); ok && strings.TrimSpace(v) != "" {
				if byField[r.Field] == nil {
					byField[r.Field] = map[string][]string{}
				}
				v = strings.TrimSpace(v)
				byField[r.Field][v] = append(byField[r.Field][v], a.Key())
			}
		}
		for _, d := range accountDomains(*a) {
			if !ignore[d] {
				byDomain[d] = appendUnique(byDomain[d], a.Key())
			}
		}
	}
	lookupID := func(id string) string {
		id = strings.TrimSpace(id)
		if a, ok := byID[id]; ok {
			return a.Key()
		}
		// Salesforce 15-character IDs are case-sensitive prefixes of the
		// 18-character form.
		if len(id) == 15 {
			if as := byID15[id]; len(as) == 1 {
				return as[0].Key()
			}
		}
		return ""
	}

	var res MatchResult
	for _, c := range customers {
		if c.Deleted {
			continue
		}
		var decided, decidedRule string
		var conflict *Conflict
		for _, r := range rules {
			if !ruleApplies(r, system) {
				continue
			}
			var claims []string
			switch r.Kind {
			case RuleBillingMetadata:
				if id := c.Metadata[r.Key]; id != "" {
					if k := lookupID(id); k != "" {
						claims = []string{k}
					}
				}
			case RuleCRMField:
				claims = byField[r.Field][c.ID]
			case RuleEmailDomain:
				if decided != "" {
					continue // weak evidence never overrides or contradicts explicit IDs
				}
				if d := emailDomain(c.Email); d != "" && !ignore[d] {
					claims = byDomain[d]
				}
			}
			claims = uniqueSorted(claims)
			switch {
			case len(claims) == 0:
				continue
			case len(claims) > 1:
				conflict = &Conflict{Customer: c.Key(), Accounts: claims, Rule: r.Kind}
			case decided == "":
				decided, decidedRule = claims[0], r.Kind
				continue
			case claims[0] != decided:
				conflict = &Conflict{Customer: c.Key(), Accounts: uniqueSorted([]string{decided, claims[0]}), Rule: decidedRule + "+" + r.Kind}
			default:
				continue
			}
			break
		}
		switch {
		case conflict != nil:
			res.Conflicts = append(res.Conflicts, *conflict)
		case decided != "":
			res.Links = append(res.Links, Link{Account: decided, Customer: c.Key(), Rule: decidedRule})
		default:
			res.Unmatched = append(res.Unmatched, c.Key())
		}
	}
	return res
}

func ruleApplies(r MatchRule, system string) bool {
	return r.System == "" || r.System == system
}

// metadataSystem is the CRM system a billing-metadata rule's key names by
// one of the CRM's declared MetadataPrefixes ("salesforce_account_id"
// names Salesforce), or "" for a key that names none (it applies to every
// CRM).
func metadataSystem(key string, connectors []*Connector) string {
	for _, c := range connectors {
		if !c.IsCRM() {
			continue
		}
		for _, p := range c.Caps.MetadataPrefixes {
			if strings.HasPrefix(key, p) {
				return c.Caps.System
			}
		}
	}
	return ""
}

// Domain returns the registrable-looking host of a website or domain value:
// lower case, without scheme, "www.", port or path. "https://www.Acme.co.jp/x"
// gives "acme.co.jp".
func Domain(s string) string {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "" {
		return ""
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return ""
	}
	h := strings.TrimPrefix(u.Hostname(), "www.")
	if !strings.Contains(h, ".") {
		return ""
	}
	return h
}

func accountDomains(a record.Account) []string {
	var out []string
	for _, s := range []string{a.Domain, a.Website} {
		if d := Domain(s); d != "" {
			out = appendUnique(out, d)
		}
	}
	return out
}

func emailDomain(email string) string {
	at := strings.LastIndexByte(email, '@')
	if at < 0 {
		return ""
	}
	return Domain(email[at+1:])
}

func appendUnique(s []string, v string) []string {
	for _, x := range s {
		if x == v {
			return s
		}
	}
	return append(s, v)
}

func uniqueSorted(s []string) []string {
	if len(s) < 2 {
		return s
	}
	out := append([]string(nil), s...)
	sort.Strings(out)
	j := 0
	for i := range out {
		if i == 0 || out[i] != out[j-1] {
			out[j] = out[i]
			j++
		}
	}
	return out[:j]
}

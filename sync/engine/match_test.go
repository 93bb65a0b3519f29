package engine

import (
	"reflect"
	"testing"

	"github.com/healthsync/healthsync/connectors/record"
)

func acct(id, website string, fields map[string]any) record.Account {
	return record.Account{Ref: record.Ref{System: record.Salesforce, ID: id}, Name: id, Website: website, Fields: fields}
}

func cust(id, email string, md map[string]string) record.Customer {
	return record.Customer{Ref: record.Ref{System: record.Stripe, ID: id}, Email: email, Metadata: md}
}

var defaultRules = []MatchRule{
	{Kind: RuleBillingMetadata, Key: "salesforce_account_id"},
	{Kind: RuleCRMField, Field: "Stripe_Customer_Id__c"},
	{Kind: RuleEmailDomain},
}

func TestMatch(t *testing.T) {
	accounts := []record.Account{
		acct("001000000000001AAA", "https://www.acme.co.jp/about", nil),
		acct("001000000000002AAA", "globex.com", map[string]any{"Stripe_Customer_Id__c": "cus_G"}),
		acct("001000000000003AAA", "initech.io", map[string]any{"Stripe_Customer_Id__c": "cus_DUP"}),
		acct("001000000000004AAA", "initech.io", map[string]any{"Stripe_Customer_Id__c": "cus_DUP"}),
		acct("001000000000005AAA", "umbrella.com", nil),
	}
	tests := []struct {
		name     string
		customer record.Customer
		want     MatchResult
	}{
		{"metadata 18-char id", cust("cus_A", "x@other.com", map[string]string{"salesforce_account_id": "001000000000001AAA"}),
			MatchResult{Links: []Link{{"salesforce/001000000000001AAA", "stripe/cus_A", RuleBillingMetadata}}}},
		{"metadata 15-char id", cust("cus_A15", "", map[string]string{"salesforce_account_id": "001000000000005"}),
			MatchResult{Links: []Link{{"salesforce/001000000000005AAA", "stripe/cus_A15", RuleBillingMetadata}}}},
		{"crm field", cust("cus_G", "", nil),
			MatchResult{Links: []Link{{"salesforce/001000000000002AAA", "stripe/cus_G", RuleCRMField}}}},
		{"email domain", cust("cus_U", "billing@Umbrella.com", nil),
			MatchResult{Links: []Link{{"salesforce/001000000000005AAA", "stripe/cus_U", RuleEmailDomain}}}},
		{"two accounts claim by field", cust("cus_DUP", "", nil),
			MatchResult{Conflicts: []Conflict{{"stripe/cus_DUP", []string{"salesforce/001000000000003AAA", "salesforce/001000000000004AAA"}, RuleCRMField}}}},
		{"metadata and field disagree", cust("cus_G", "", map[string]string{"salesforce_account_id": "001000000000001AAA"}),
			MatchResult{Conflicts: []Conflict{{"stripe/cus_G", []string{"salesforce/001000000000001AAA", "salesforce/001000000000002AAA"}, "billing_metadata+crm_field"}}}},
		{"ambiguous domain is a conflict", cust("cus_I", "a@initech.io", nil),
			MatchResult{Conflicts: []Conflict{{"stripe/cus_I", []string{"salesforce/001000000000003AAA", "salesforce/001000000000004AAA"}, RuleEmailDomain}}}},
		{"free mail ignored", cust("cus_F", "someone@gmail.com", nil),
			MatchResult{Unmatched: []string{"stripe/cus_F"}}},
		{"unknown metadata id falls through to domain", cust("cus_X", "a@globex.com", map[string]string{"salesforce_account_id": "001999999999999AAA"}),
			MatchResult{Links: []Link{{"salesforce/001000000000002AAA", "stripe/cus_X", RuleEmailDomain}}}},
		{"hubspot metadata does not apply to salesforce", cust("cus_H", "", map[string]string{"hubspot_company_id": "001000000000001AAA"}),
			MatchResult{Unmatched: []string{"stripe/cus_H"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Match(record.Salesforce, accounts, []record.Customer{tt.customer}, defaultRules, []string{"gmail.com"})
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Match =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestDomain(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.Acme.co.jp/about": "acme.co.jp",
		"acme.com":                     "acme.com",
		"http://acme.com:8080":         "acme.com",
		"localhost":                    "",
		"":                             "",
	} {
		if got := Domain(in); got != want {
			t.Errorf("Domain(%q) = %q, want %q", in, got, want)
		}
	}
}

package demoworld

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

// planned counts what the plan holds for one billing system.
func planned(w *World, system string) (customers, subs, invoices int) {
	for _, c := range w.customers {
		if c.System != system {
			continue
		}
		customers++
		for _, s := range c.Subs {
			subs++
			invoices += len(s.Invoices)
		}
	}
	return
}

func plannedDeals(w *World, crm string) (accounts, deals int) {
	for _, a := range w.accounts {
		if a.CRM == crm {
			accounts++
			deals += len(a.Deals)
		}
	}
	return
}

// countStripe pages a Stripe list endpoint with starting_after.
func countStripe(t *testing.T, f *fakes, path string) int {
	n, after := 0, ""
	for {
		u := f.st.URL + path + "&limit=100"
		if after != "" {
			u += "&starting_after=" + after
		}
		var page struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
			HasMore bool `json:"has_more"`
		}
		getJSON(t, u, stAuth, &page)
		n += len(page.Data)
		if !page.HasMore || len(page.Data) == 0 {
			return n
		}
		after = page.Data[len(page.Data)-1].ID
	}
}

// countChargebee pages a Chargebee list endpoint with next_offset.
func countChargebee(t *testing.T, f *fakes, resource string) int {
	n, offset := 0, ""
	for {
		u := f.cb.URL + "/api/v2/" + resource + "?limit=100"
		if offset != "" {
			u += "&offset=" + url.QueryEscape(offset)
		}
		var page struct {
			List       []map[string]any `json:"list"`
			NextOffset string           `json:"next_offset"`
		}
		getJSON(t, u, cbAuth, &page)
		n += len(page.List)
		if page.NextOffset == "" {
			return n
		}
		offset = page.NextOffset
	}
}

// countHubSpot pages a HubSpot CRM v3 object list with after.
func countHubSpot(t *testing.T, f *fakes, object string) int {
	n, after := 0, ""
	for {
		u := f.hs.URL + "/crm/v3/objects/" + object + "?limit=100"
		if after != "" {
			u += "&after=" + after
		}
		var page struct {
			Results []map[string]any `json:"results"`
			Paging  *struct {
				Next struct {
					After string `json:"after"`
				} `json:"next"`
			} `json:"paging"`
		}
		getJSON(t, u, hsAuth, &page)
		n += len(page.Results)
		if page.Paging == nil || page.Paging.Next.After == "" {
			return n
		}
		after = page.Paging.Next.After
	}
}

// countSOQL runs a SOQL query and follows nextRecordsUrl.
func countSOQL(t *testing.T, f *fakes, auth func(*http.Request), soql string) int {
	n := 0
	u := f.sf.URL + "/services/data/v62.0/query?q=" + url.QueryEscape(soql)
	for {
		var page struct {
			TotalSize      int              `json:"totalSize"`
			Done           bool             `json:"done"`
			Records        []map[string]any `json:"records"`
			NextRecordsURL string           `json:"nextRecordsUrl"`
		}
		getJSON(t, u, auth, &page)
		n += len(page.Records)
		if page.Done || page.NextRecordsURL == "" {
			return n
		}
		u = f.sf.URL + page.NextRecordsURL
	}
}

func TestFakesServeThePlannedCounts(t *testing.T) {
	w := Generate(Options{Accounts: 240, Seed: 11, Now: testNow})
	f := load(t, w)
	sfAuth := sfToken(t, f)
	sfAccounts, sfDeals := plannedDeals(w, sysSalesforce)
	hsAccounts, hsDeals := plannedDeals(w, sysHubSpot)
	stCus, stSubs, stInv := planned(w, sysStripe)
	cbCus, cbSubs, cbInv := planned(w, sysChargebee)
	sum := w.Summary()
	if sum.SalesforceAccounts != sfAccounts || sum.HubSpotCompanies != hsAccounts || sum.StripeCustomers != stCus ||
		sum.ChargebeeCustomers != cbCus || sum.Subscriptions != stSubs+cbSubs || sum.Invoices != stInv+cbInv {
		t.Errorf("summary %+v disagrees with the plan", sum)
	}
	tests := []struct {
		name      string
		got, want int
	}{
		{"salesforce accounts", countSOQL(t, f, sfAuth, "SELECT Id, Name, Website, Stripe_Customer_Id__c FROM Account"), sfAccounts},
		{"salesforce opportunities", countSOQL(t, f, sfAuth, "SELECT Id, AccountId, StageName, Amount FROM Opportunity"), sfDeals},
		{"salesforce open upsell/renewal", countSOQL(t, f, sfAuth, "SELECT Id FROM Opportunity WHERE IsClosed = false AND (Type = 'Upsell' OR Type = 'Renewal')"), openDeals(w, sysSalesforce)},
		{"hubspot companies", countHubSpot(t, f, "companies"), hsAccounts},
		{"hubspot deals", countHubSpot(t, f, "deals"), hsDeals},
		{"stripe customers", countStripe(t, f, "/v1/customers?"), stCus},
		{"stripe subscriptions", countStripe(t, f, "/v1/subscriptions?status=all"), stSubs},
		{"stripe invoices", countStripe(t, f, "/v1/invoices?"), stInv},
		{"chargebee customers", countChargebee(t, f, "customers"), cbCus},
		{"chargebee subscriptions", countChargebee(t, f, "subscriptions"), cbSubs},
		{"chargebee invoices", countChargebee(t, f, "invoices"), cbInv},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.want == 0 || tc.got != tc.want {
				t.Errorf("got %d, want %d (> 0)", tc.got, tc.want)
			}
		})
	}
	if fields := f.sf.Fields("Account"); !hasField(fields, "Health_Score__c") || !hasField(fields, StripeCustomerField) {
		t.Error("Account lacks the healthsync fields or Stripe_Customer_Id__c")
	}
	if got := f.st.Now(); !got.Equal(testNow) {
		t.Errorf("stripe clock %v, want %v", got, testNow)
	}
}

func openDeals(w *World, crm string) int {
	n := 0
	for _, a := range w.accounts {
		for _, d := range a.Deals {
			if a.CRM == crm && !d.Closed && (d.Type == "Upsell" || d.Type == "Renewal") {
				n++
			}
		}
	}
	return n
}

func hasField(fs []salesforcetest.Field, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}

func TestScenarioObjectsExist(t *testing.T) {
	w := Generate(Options{Accounts: 40, Seed: 5, Now: testNow})
	f := load(t, w)
	sc := w.Summary().Scenarios
	tests := []struct {
		name, account, customer, sub string
		check                        func(t *testing.T, s stripetest.Subscription)
	}{
		{"failed payment", sc.FailedPaymentAccount, sc.FailedPaymentCustomer, sc.FailedPaymentSubscription, func(t *testing.T, s stripetest.Subscription) {
			in, ok := f.st.Invoice(sc.FailedPaymentInvoice)
			if !ok || in.Status != "open" || in.Attempted || in.Subscription != s.ID || in.Customer != sc.FailedPaymentCustomer {
				t.Errorf("invoice %s: %+v, want open and unattempted on %s", sc.FailedPaymentInvoice, in, s.ID)
			}
		}},
		{"downgrade", sc.DowngradeAccount, sc.DowngradeCustomer, sc.DowngradeSubscription, func(t *testing.T, s stripetest.Subscription) {
			if s.Items[0].Quantity < 2 {
				t.Errorf("quantity %d cannot be halved", s.Items[0].Quantity)
			}
		}},
		{"cancel", sc.CancelAccount, sc.CancelCustomer, sc.CancelSubscription, func(*testing.T, stripetest.Subscription) {}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if f.sf.Get("Account", tc.account) == nil {
				t.Fatalf("no Salesforce account %q", tc.account)
			}
			c, ok := f.st.Customer(tc.customer)
			if !ok || c.Metadata["salesforce_account_id"] != tc.account {
				t.Fatalf("customer %q: metadata %v, want salesforce_account_id %s", tc.customer, c.Metadata, tc.account)
			}
			s, ok := f.st.Subscription(tc.sub)
			if !ok || s.Customer != tc.customer || s.Status != "active" || s.CancelAtPeriodEnd {
				t.Fatalf("subscription %q: %+v, want active on %s", tc.sub, s, tc.customer)
			}
			tc.check(t, s)
		})
	}
	if err := f.st.FailInvoicePayment(sc.FailedPaymentInvoice); err != nil {
		t.Fatal(err)
	}
	if ev := f.st.Events(); ev[len(ev)-1].Type != "invoice.payment_failed" {
		t.Errorf("last event %s, want invoice.payment_failed", ev[len(ev)-1].Type)
	}
}

func TestBillingBeforeCRMFails(t *testing.T) {
	w := Generate(Options{Accounts: 20, Now: testNow})
	st := stripetest.NewServer(stripetest.Options{})
	defer st.Close()
	if err := w.LoadStripe(st); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("LoadStripe before LoadSalesforce: %v, want ErrNotLoaded", err)
	}
	if n := len(w.Signals()); n != 0 {
		t.Errorf("%d signals before the CRMs are loaded, want 0", n)
	}
}

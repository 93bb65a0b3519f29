package demoworld

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/healthsync/healthsync/connectors/hubspot/hubspottest"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
)

// StripeCustomerField is the Salesforce Account field that names a Stripe
// customer; the demo's match rules read it.
const StripeCustomerField = "Stripe_Customer_Id__c"

// ErrNotLoaded is returned when a billing system is loaded before the CRM
// whose IDs its customers' metadata names.
var ErrNotLoaded = errors.New("demoworld: load the CRMs first")

// LoadSalesforce seeds the Salesforce half: the owners as Users, the
// healthsync custom fields (AddHealthsyncFields) and Stripe_Customer_Id__c,
// the accounts and their opportunities. It remembers the IDs the fake
// assigns. Timestamps come from the plan, not the fake's clock.
func (w *World) LoadSalesforce(s *salesforcetest.Server) error {
	s.AddHealthsyncFields()
	s.AddFields("Account", salesforcetest.Field{Name: StripeCustomerField, Label: "Stripe Customer ID",
		Type: salesforcetest.TypeString, Length: 255, Updateable: true, Createable: true, Custom: true, Nillable: true})
	userAt := w.start.AddDate(0, -6, 0)
	for _, o := range w.owners {
		id, err := s.Insert("User", map[string]any{"Name": o.Name, "Username": o.Email, "IsActive": true,
			"CreatedDate": userAt, "LastModifiedDate": userAt, "SystemModstamp": userAt})
		if err != nil {
			return fmt.Errorf("seeding salesforce user: %w", err)
		}
		o.sfID = id
	}
	for _, a := range w.accounts {
		if a.CRM != sysSalesforce {
			continue
		}
		f := map[string]any{
			"Name": a.Name, "Website": "https://www." + a.Domain, "OwnerId": a.Owner.sfID, "Industry": a.Industry,
			"Type": "Customer - Direct", "NumberOfEmployees": a.Employees, "Phone": phone(a),
			"CreatedDate": a.Created, "LastModifiedDate": a.Modified, "SystemModstamp": a.Modified,
		}
		if a.StripeField != "" {
			f[StripeCustomerField] = a.StripeField
		}
		id, err := s.Insert("Account", f)
		if err != nil {
			return fmt.Errorf("seeding salesforce account %s: %w", a.Name, err)
		}
		a.crmID = id
		for _, d := range a.Deals {
			amount := d.Amount
			if d.Currency == "USD" { // the org's currency is JPY
				amount = d.Amount * FX
			}
			mod := d.Created
			if d.Closed {
				mod = d.Close
			}
			_, err := s.Insert("Opportunity", map[string]any{
				"Name": d.Name, "AccountId": id, "StageName": d.Stage, "Type": d.Type, "Amount": amount,
				"CloseDate": d.Close, "OwnerId": a.Owner.sfID, "Probability": d.Probability,
				"CreatedDate": d.Created, "LastModifiedDate": minTime(mod, w.now), "SystemModstamp": minTime(mod, w.now),
			})
			if err != nil {
				return fmt.Errorf("seeding opportunity %s: %w", d.Name, err)
			}
		}
	}
	return nil
}

// LoadHubSpot seeds the HubSpot half: the owners (with their names, under
// the IDs the plan gave them), companies (name, domain, website, industry,
// owner) and deals associated with their company. The healthsync custom
// properties are left to `healthsync setup hubspot`
// (hubspot.DefaultProperties), which the demo runs before its first sync,
// so the demo shows setup creating them.
func (w *World) LoadHubSpot(s *hubspottest.Server) error {
	userAt := w.start.AddDate(0, -6, 0)
	for _, o := range w.owners {
		first, last, _ := strings.Cut(o.Name, " ")
		s.SeedOwner(hubspottest.Owner{ID: o.HubSpotID, Email: o.Email, FirstName: first, LastName: last, CreatedAt: userAt})
	}
	for _, a := range w.accounts {
		if a.CRM != sysHubSpot {
			continue
		}
		id := s.Seed("companies", hubspottest.Object{
			Properties: map[string]string{
				"name": a.Name, "domain": a.Domain, "website": "https://www." + a.Domain,
				"industry": hubspotIndustry[a.Industry], "hubspot_owner_id": a.Owner.HubSpotID,
				"annualrevenue": strconv.Itoa(a.Employees * 20_000_000),
			},
			CreatedAt: a.Created, UpdatedAt: a.Modified,
		})
		a.crmID = id
		for _, d := range a.Deals {
			typ := "existingbusiness"
			if d.Type == "New Business" {
				typ = "newbusiness"
			}
			mod := d.Created
			if d.Closed {
				mod = minTime(d.Close, w.now)
			}
			did := s.Seed("deals", hubspottest.Object{
				Properties: map[string]string{
					"dealname": d.Name, "dealstage": hubspotStage(d.Stage), "pipeline": "default", "dealtype": typ,
					"amount": strconv.FormatFloat(d.Amount, 'f', -1, 64), "deal_currency_code": d.Currency,
					"closedate": d.Close.UTC().Format("2006-01-02T15:04:05.000Z"), "hubspot_owner_id": a.Owner.HubSpotID,
					"hs_is_closed": strconv.FormatBool(d.Closed), "hs_is_closed_won": strconv.FormatBool(d.Won),
				},
				CreatedAt: d.Created, UpdatedAt: mod,
			})
			if !s.Associate("deals", did, "companies", id) {
				return fmt.Errorf("associating deal %s with company %s: not found", did, id)
			}
		}
	}
	return nil
}

func phone(a *account) string {
	if a.Currency == "JPY" {
		return fmt.Sprintf("+81 3-%04d-%04d", 1000+a.idx*37%9000, 1000+a.idx*91%9000)
	}
	return fmt.Sprintf("+1 415-%03d-%04d", 200+a.idx*7%800, 1000+a.idx*53%9000)
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

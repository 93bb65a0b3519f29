package engine

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/healthsync/healthsync/scoring"
	"github.com/healthsync/healthsync/sync/report"
)

// ReportOptions choose what a report covers.
type ReportOptions struct {
	// AsOf is the day for current values (zero: now).
	AsOf time.Time
	// From and To are the months reported (zero: the last 12 complete
	// months before AsOf's month).
	From, To scoring.Month
	// Segment adds a CRM field (or owner, industry) to the segments.
	Segment string
	// Account limits the accounts list to one account key or CRM ID.
	Account string
}

// Report computes the portfolio report from the store (no API call). Bad
// options (a reversed period, an unknown segment) are report.ErrOptions
// errors, found before the store is read.
func (e *Engine) Report(ctx context.Context, o ReportOptions) (*report.Report, *Reconciled, error) {
	asOf := o.AsOf
	if asOf.IsZero() {
		asOf = e.now()
	}
	if _, _, err := report.ResolvePeriod(asOf, e.score.Location, o.From, o.To); err != nil {
		return nil, nil, err
	}
	rec, err := e.reconcileFull(ctx, asOf)
	if err != nil {
		return nil, nil, fmt.Errorf("reconciling: %w", err)
	}
	r, err := e.BuildReport(rec, o)
	if err != nil {
		return nil, nil, err
	}
	return r, rec, nil
}

// BuildReport turns a reconcile into the report (see report.Build).
func (e *Engine) BuildReport(rec *Reconciled, o ReportOptions) (*report.Report, error) {
	in := report.Input{AsOf: rec.AsOf, Currency: e.cfg.Reporting.Currency, From: o.From, To: o.To,
		Settings: e.score, Segment: o.Segment, Account: o.Account}
	for _, s := range rec.Accounts {
		// The connector's OwnerName first; an Owner.Name listed under
		// objects (a store written before connectors filled OwnerName).
		owner := s.Account.OwnerName
		if owner == "" {
			owner, _ = s.Account.Fields["Owner.Name"].(string)
		}
		in.Members = append(in.Members, report.Member{ID: s.Account.Key(),
			CRM:  report.CRMRef{System: s.Account.System, Connector: s.Connector, ID: s.Account.ID},
			Name: s.Account.Name, OwnerID: s.Account.OwnerID, OwnerName: owner, Industry: s.Account.Industry,
			Fields: s.Account.Fields, Result: s.Result})
	}
	cur := e.cfg.Reporting.Currency
	for _, u := range rec.Unmatched {
		in.Unmatched = append(in.Unmatched, report.Unmatched{System: u.Customer.System, ID: u.Customer.ID, Name: u.Customer.Name,
			MRR: math.Round(float64(u.MRR)/math.Pow10(scoring.MinorUnitExponent(cur))*100) / 100})
	}
	for _, c := range rec.Conflicts {
		in.Conflicts = append(in.Conflicts, report.Conflict{Customer: c.Customer, Accounts: c.Accounts, Rule: c.Rule})
	}
	for _, c := range e.conns {
		st := c.stats()
		in.APIUsage = append(in.APIUsage, report.ConnectorUsage{Connector: c.Name(), Calls: st.Calls, Retries: st.Retries,
			Throttled: st.Throttled, Errors: st.Errors})
	}
	r, err := report.Build(in)
	if err != nil {
		return nil, err
	}
	e.attachBacktest(r)
	return r, nil
}

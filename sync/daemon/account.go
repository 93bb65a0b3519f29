package daemon

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/report"
	"github.com/healthsync/healthsync/sync/store"
)

// ErrAmbiguousAccount is returned when an account name matches several
// accounts; the error lists them.
var ErrAmbiguousAccount = errors.New("several accounts match")

// maxCandidates bounds the candidates an ambiguous name lists.
const maxCandidates = 10

// ResolveAccount turns what an operator typed into an account key: a key
// ("salesforce/001...") or CRM ID of a stored account is returned as it is;
// otherwise it is a name, matched without regard to case, first exactly and
// then as a substring. A unique match is returned; several give
// ErrAmbiguousAccount naming the candidates; none gives engine.ErrNoAccount.
func ResolveAccount(eng *engine.Engine, st store.CRMRecords, query string) (string, error) {
	q := strings.TrimSpace(query)
	if q == "" {
		return "", engine.ErrNoAccount
	}
	var crms []*engine.Connector
	for _, c := range eng.Connectors() {
		if c.IsCRM() {
			crms = append(crms, c)
		}
	}
	kind, id, isKey := strings.Cut(q, "/")
	for _, c := range crms {
		if isKey && c.Config.Kind != kind {
			continue
		}
		if !isKey {
			id = q
		}
		if _, ok, err := st.Account(c.Name(), id); err != nil {
			return "", fmt.Errorf("looking up account %q: %w", q, err)
		} else if ok {
			return q, nil // a key or a CRM ID
		}
	}
	type cand struct{ key, name string }
	var exact, partial []cand
	lq := strings.ToLower(q)
	for _, c := range crms {
		accts, err := st.Accounts(c.Name())
		if err != nil {
			return "", fmt.Errorf("looking up account %q: %w", q, err)
		}
		for _, a := range accts {
			if a.Deleted {
				continue
			}
			ln := strings.ToLower(a.Name)
			k := cand{c.Config.Kind + "/" + a.ID, a.Name}
			switch {
			case ln == lq:
				exact = append(exact, k)
			case strings.Contains(ln, lq):
				partial = append(partial, k)
			}
		}
	}
	found := exact
	if len(found) == 0 {
		found = partial
	}
	switch len(found) {
	case 0:
		return "", fmt.Errorf("%w: %q is no account key, CRM ID or name", engine.ErrNoAccount, q)
	case 1:
		return found[0].key, nil
	}
	slices.SortFunc(found, func(a, b cand) int { return strings.Compare(a.key, b.key) })
	var names []string
	for i, c := range found {
		if i == maxCandidates {
			names = append(names, fmt.Sprintf("and %d more", len(found)-maxCandidates))
			break
		}
		names = append(names, fmt.Sprintf("%s (%s)", c.key, c.name))
	}
	return "", fmt.Errorf("%w: %q matches %d accounts: %s", ErrAmbiguousAccount, q, len(found), strings.Join(names, ", "))
}

// Explain resolves query (see ResolveAccount) and explains that account.
func Explain(ctx context.Context, eng *engine.Engine, st store.CRMRecords, query string) (*engine.Explanation, error) {
	key, err := ResolveAccount(eng, st, query)
	if err != nil {
		return nil, err
	}
	ex, err := eng.Explain(ctx, key)
	if errors.Is(err, engine.ErrNoAccount) {
		return nil, fmt.Errorf("%w: %q", engine.ErrNoAccount, query)
	}
	return ex, err
}

// Report builds the report rq asks for. An account that matches nothing is
// engine.ErrNoAccount rather than a report with no accounts.
func Report(ctx context.Context, eng *engine.Engine, st store.CRMRecords, rq ReportQuery) (*report.Report, error) {
	o := rq.Options
	if o.Account != "" {
		key, err := ResolveAccount(eng, st, o.Account)
		if err != nil {
			return nil, err
		}
		o.Account = key
	}
	if rq.AsOfDay != "" {
		// The day is the business's calendar day (reporting.timezone).
		d, err := time.ParseInLocation("2006-01-02", rq.AsOfDay, eng.Location())
		if err != nil {
			return nil, fmt.Errorf("%w: as-of: want YYYY-MM-DD, got %q", ErrReportQuery, rq.AsOfDay)
		}
		o.AsOf = d.AddDate(0, 0, 1).Add(-time.Nanosecond) // the end of that day
	}
	rep, _, err := eng.Report(ctx, o)
	if errors.Is(err, report.ErrOptions) {
		return nil, fmt.Errorf("%w: %w", ErrReportQuery, err)
	}
	if err != nil {
		return nil, err
	}
	if o.Account != "" && len(rep.Accounts) == 0 && len(rep.Churned) == 0 {
		// It exists in the store but is in neither list (deleted in the CRM).
		return nil, fmt.Errorf("%w: %q is not in the report (deleted in the CRM?)", engine.ErrNoAccount, rq.Options.Account)
	}
	return rep, nil
}

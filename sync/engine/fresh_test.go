package engine_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/sync/store"
)

// wholeReads records the store reads that decode every record of a type.
type wholeReads struct {
	store.Store
	callLog
}

func (r *wholeReads) Accounts(c string) ([]record.Account, error) {
	r.add("Accounts " + c)
	return r.Store.Accounts(c)
}

func (r *wholeReads) Deals(c string) ([]record.Deal, error) {
	r.add("Deals " + c)
	return r.Store.Deals(c)
}

func (r *wholeReads) Customers(c string) ([]record.Customer, error) {
	r.add("Customers " + c)
	return r.Store.Customers(c)
}

func (r *wholeReads) Subscriptions(c string) ([]record.Subscription, error) {
	r.add("Subscriptions " + c)
	return r.Store.Subscriptions(c)
}

func (r *wholeReads) Invoices(c string) ([]record.Invoice, error) {
	r.add("Invoices " + c)
	return r.Store.Invoices(c)
}

func (r *wholeReads) Scores() ([]store.ScoreSnapshot, error) {
	r.add("Scores")
	return r.Store.Scores()
}

func (r *wholeReads) AllWritten(c string) (map[store.WriteKey]map[string]store.WrittenValue, error) {
	r.add("AllWritten " + c)
	return r.Store.AllWritten(c)
}

// TestFreshProcessIdleSyncLoadsNothing: a new process whose stored dirty
// state says nothing changed reads no record list, score list or ledger
// in its sync: the record index comes from the stored links. A customer
// whose link changed while the process was down is still matched again.
func TestFreshProcessIdleSyncLoadsNothing(t *testing.T) {
	e := newSFStripe(t)
	log := &wholeReads{}
	e.wrap = func(s store.Store) store.Store { log.Store = s; return log }
	e.st.Close()
	e.connect(t)
	e.sync(t)
	e.now = e.now.Add(time.Minute)
	e.sync(t) // pulls healthsync's own writes back
	restart := func() {
		e.st.Close()
		e.connect(t)
		log.take()
	}

	e.now = e.now.Add(time.Minute)
	restart()
	rep := e.sync(t)
	if got := log.take(); len(got) > 0 {
		t.Errorf("whole reads of a new process's idle sync: %q, want none", got)
	}
	if got, want := rescoredBy(rep), (rescored{[]string{}, "nothing changed"}); !slices.Equal(got.Accounts, want.Accounts) ||
		got.Reason != want.Reason || !rep.Plan.Empty() {
		t.Errorf("idle sync re-scored %+v, plan %+v; want %+v", got, rep.Plan, want)
	}

	// Customer 0 loses its metadata while the process is down: it now
	// matches by e-mail domain alone, and the pull marks a re-match.
	e.now = e.now.Add(time.Minute)
	custs, err := e.st.Customers("billing")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range custs {
		if c.Metadata["salesforce_account_id"] == e.accts[0] {
			if err := e.stripe.UpdateCustomer(c.ID, func(c *stripetest.Customer) { c.Metadata = nil }); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := e.eng.Pull(context.Background(), "billing", false); err != nil {
		t.Fatal(err)
	}
	restart()
	e.sync(t)
	if got := log.take(); !slices.Contains(got, "Customers billing") {
		t.Errorf("whole reads after a changed customer %q, want the customers read to match again", got)
	}
	links, err := e.st.Links()
	if err != nil {
		t.Fatal(err)
	}
	rules := map[string]string{}
	for _, l := range links {
		rules[l.AccountKey] = l.Rule
	}
	if got := rules["salesforce/"+e.accts[0]]; got != "email_domain" {
		t.Errorf("account 0 linked by %q after its customer lost the metadata, want email_domain (links %+v)", got, links)
	}
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/hubspot"
	"github.com/healthsync/healthsync/connectors/hubspot/hubspottest"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// checkStore counts, in the stopped daemon's store, the events left queued,
// the dead letters, and the acknowledged event IDs the store does not know:
// each is enqueued again, and one that is not a duplicate was lost (the
// dedupe window is days, the soak minutes).
func checkStore(path string, acked []string, res *soakResult) error {
	st, err := bolt.Open(path, bolt.Options{})
	if err != nil {
		return fmt.Errorf("opening the soak store: %w", err)
	}
	defer st.Close()
	q, _, err := st.QueueDepth()
	if err != nil {
		return err
	}
	res.Queued = q
	dead, err := st.DeadLetters()
	if err != nil {
		return err
	}
	for _, ev := range dead {
		res.DeadLetters = append(res.DeadLetters, fmt.Sprintf("%s %s after %d attempts: %s", ev.Event.ID, ev.Event.Type, ev.Attempts, ev.LastError))
	}
	if len(acked) == 0 {
		return nil
	}
	again := make([]store.QueuedEvent, len(acked))
	for i, id := range acked {
		again[i] = store.QueuedEvent{Connector: "stripe", Event: record.Event{System: record.Stripe, ID: id, Type: "soak.check", ObjectType: "subscription", ObjectID: "soak"}}
	}
	dups, err := st.Enqueue(again)
	if err != nil {
		return fmt.Errorf("checking acknowledged events: %w", err)
	}
	for _, d := range dups {
		if !d {
			res.Lost++
		}
	}
	slices.Sort(res.DuplicateKeys)
	return nil
}

// soakCompared are the write-back keys compared with the clean sync. The
// trend (a difference from the score history, which a clean store does not
// have) and the update time are left out.
var soakCompared = []string{config.FieldHealthScore, config.FieldBand, config.FieldReasons, config.FieldTouchModel,
	config.FieldPhase, config.FieldMRR, config.FieldARR}

var soakMarker = regexp.MustCompile(`\[healthsync:([^\]\s]+)\]`)

// checkAgainstClean loads the same world's CRMs into a second pair of fakes,
// runs one full sync with a new store into them against the soak's billing
// fakes (no faults), and compares every account's written fields; it also
// counts the soak CRMs' healthsync tasks per marker.
func checkAgainstClean(ctx context.Context, o soakOptions, stack *demoStack, res *soakResult) error {
	sf2 := salesforcetest.NewServer(salesforcetest.Options{ClientID: demoSFClientID, ClientSecret: demoSFClientSecret, OrgID: demoSFOrgID})
	defer sf2.Close()
	hs2 := hubspottest.NewServer(hubspottest.Options{AccessToken: demoHSToken, TenSecondlyLimit: 1000})
	defer hs2.Close()
	if err := stack.world.LoadSalesforce(sf2); err != nil {
		return err
	}
	if err := stack.world.LoadHubSpot(hs2); err != nil {
		return err
	}
	addr, err := freeAddr()
	if err != nil {
		return err
	}
	cfgPath := filepath.Join(o.Dir, "clean.yaml")
	if err := writeSoakConfig(cfgPath, filepath.Join(o.Dir, "clean.db"), addr, sf2.URL, hs2.URL, stack.st.URL, stack.cb.URL); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return err
	}
	for _, cc := range cfg.Connectors {
		if cc.Kind == config.KindHubSpot {
			c, err := hubspot.New(cc, hubspot.Options{})
			if err == nil {
				_, err = c.Setup(ctx, hubspot.DefaultProperties())
			}
			if err != nil {
				return fmt.Errorf("clean hubspot setup: %w", err)
			}
		}
	}
	var out bytes.Buffer
	if code := run(ctx, []string{"sync", "--config", cfgPath, "--full"}, &out, &out); code != 0 {
		return fmt.Errorf("the clean full sync failed (exit %d):\n%s", code, out.String())
	}

	sfMap, hsMap := cfg.WriteBack.Mapping(config.KindSalesforce), cfg.WriteBack.Mapping(config.KindHubSpot)
	for _, a := range stack.sf.All("Account") {
		id := fmt.Sprint(a["Id"])
		b := sf2.Get("Account", id)
		if b == nil || b["Name"] != a["Name"] {
			res.Mismatches = append(res.Mismatches, fmt.Sprintf("salesforce %s %v: not the same account in the clean CRM", id, a["Name"]))
			continue
		}
		res.Compared++
		for _, k := range soakCompared {
			f := sfMap.Fields[k]
			if got, want := fmt.Sprint(a[f]), fmt.Sprint(b[f]); got != want {
				res.Mismatches = append(res.Mismatches, fmt.Sprintf("salesforce %s %v %s: %s, clean sync %s", id, a["Name"], f, got, want))
			}
		}
	}
	for _, a := range stack.hs.Objects("companies") {
		b, ok := hs2.Get("companies", a.ID)
		if !ok || b.Properties["name"] != a.Properties["name"] {
			res.Mismatches = append(res.Mismatches, fmt.Sprintf("hubspot %s %s: not the same company in the clean CRM", a.ID, a.Properties["name"]))
			continue
		}
		res.Compared++
		for _, k := range soakCompared {
			f := hsMap.Fields[k]
			if got, want := a.Properties[f], b.Properties[f]; got != want {
				res.Mismatches = append(res.Mismatches, fmt.Sprintf("hubspot %s %s %s: %q, clean sync %q", a.ID, a.Properties["name"], f, got, want))
			}
		}
	}
	slices.Sort(res.Mismatches)

	markers := map[string]int{}
	for _, t := range stack.sf.All("Task") {
		for _, m := range soakMarker.FindAllStringSubmatch(fmt.Sprint(t["Description"]), -1) {
			markers["salesforce/"+m[1]]++
		}
	}
	for _, t := range stack.hs.Objects("tasks") {
		for _, m := range soakMarker.FindAllStringSubmatch(t.Properties["hs_task_body"], -1) {
			markers["hubspot/"+m[1]]++
		}
	}
	for k, n := range markers { // order does not matter: sorted below
		res.Tasks += n
		if n > 1 {
			res.Duplicates += n - 1
			res.DuplicateKeys = append(res.DuplicateKeys, fmt.Sprintf("%s x%d", k, n))
		}
	}
	slices.Sort(res.DuplicateKeys)
	return nil
}

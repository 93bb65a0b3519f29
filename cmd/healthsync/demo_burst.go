package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
)

// demoBurstEvents is how many subscription changes the burst step sends;
// demoBurstSenders how many requests it keeps in flight.
const (
	demoBurstEvents  = 300
	demoBurstSenders = 32
)

// burstFigures is what the burst step measured.
type burstFigures struct {
	Subscriptions int // distinct subscriptions changed
	Sent, Acked   int // events posted, answered 2xx
	Drained       int // acknowledged events that left the queue processed (not dead-lettered)
	Accounts      int // Salesforce accounts whose MRR__c changed
	SFWrites      int64
	StripeCalls   int64
	Pulls         int // incremental Stripe pulls the burst ran
	SendTime      time.Duration
	DrainTime     time.Duration
}

// demoBurst sends a burst of signed Stripe customer.subscription.updated
// events (issue 14: a seat true-up on every active Stripe subscription,
// round-robin until demoBurstEvents changes) to the running receiver and
// prints how they drained: the webhook workers batch them (one re-score
// and one CRM write call per batch of up to webhooks.batch_size), and when
// more than webhooks.pull_threshold Stripe events are queued they run one
// incremental pull (Stripe's events list, 100 changes a call) instead of
// fetching each subscription.
func demoBurst(ctx context.Context, w io.Writer, a *app, stack *demoStack, base string, hc *httpclient.Client) error {
	sf, st := stack.sf, stack.st
	subs := activeStripeSubscriptions(st)
	if len(subs) == 0 {
		fmt.Fprintf(w, "\n5. a burst: no active Stripe subscription in this world\n")
		return nil
	}
	mrrBefore := map[any]any{}
	for _, r := range sf.All("Account") {
		mrrBefore[r["Id"]] = r["MRR__c"]
	}
	nEvents := st.EventCount()
	changed := map[string]bool{}
	for i := range demoBurstEvents {
		id := subs[i%len(subs)]
		changed[id] = true
		if err := st.UpdateSubscription(id, func(s *stripetest.Subscription) { s.Items[0].Quantity++ }); err != nil {
			return fmt.Errorf("burst: %w", err)
		}
	}
	var bodies [][]byte
	for _, ev := range st.EventsFrom(nEvents) {
		body, _ := st.EventJSON(ev.ID)
		bodies = append(bodies, body)
	}
	_, deadBefore, err := a.st.QueueDepth()
	if err != nil {
		return fmt.Errorf("burst: %w", err)
	}
	sfBefore, stBefore := sf.Counts()["composite"], st.Total()
	f := burstFigures{Subscriptions: len(changed), Sent: len(bodies)}

	start := time.Now()
	acked, err := postStripeEvents(ctx, hc, base+"/webhooks/stripe", bodies)
	if err != nil {
		return fmt.Errorf("burst: %w", err)
	}
	f.Acked, f.SendTime = acked, time.Since(start)
	if err := waitQueue(ctx, a, 60*time.Second); err != nil {
		return fmt.Errorf("burst: %w", err)
	}
	f.DrainTime = time.Since(start)
	if err := waitNotified(ctx, a, 30*time.Second); err != nil {
		return fmt.Errorf("burst: %w", err)
	}
	_, deadAfter, err := a.st.QueueDepth()
	if err != nil {
		return fmt.Errorf("burst: %w", err)
	}
	f.Drained = f.Acked - (deadAfter - deadBefore)
	f.SFWrites, f.StripeCalls = sf.Counts()["composite"]-sfBefore, st.Total()-stBefore
	for _, r := range sf.All("Account") {
		if fmt.Sprint(r["MRR__c"]) != fmt.Sprint(mrrBefore[r["Id"]]) {
			f.Accounts++
		}
	}
	runs, err := a.st.Runs(100)
	if err != nil {
		return fmt.Errorf("burst: %w", err)
	}
	for _, r := range runs {
		if r.Connector == "stripe" && r.Kind == "pull" && !r.Start.Before(start) {
			f.Pulls++
		}
	}
	printBurst(w, f, a.cfg.Webhooks.BatchSize, a.cfg.Webhooks.PullThreshold)
	return nil
}

// printBurst prints the burst step. The first two lines are the same in
// every run of one seed; the last one (calls, pulls) follows how the
// events met the workers' batches, so it may differ between runs.
func printBurst(w io.Writer, f burstFigures, batchSize, threshold int) {
	fmt.Fprintf(w, "\n5. a burst: %d signed Stripe customer.subscription.updated events (seat true-ups on %d subscriptions), %d senders\n",
		f.Sent, f.Subscriptions, demoBurstSenders)
	fmt.Fprintf(w, "   sent %d (%d acknowledged) in %s; drained %d in %s; Salesforce accounts with a new MRR__c: %d\n",
		f.Sent, f.Acked, f.SendTime.Round(time.Millisecond), f.Drained, f.DrainTime.Round(time.Millisecond), f.Accounts)
	pull := "no (every subscription fetched)"
	if f.Pulls > 0 {
		pull = fmt.Sprintf("yes (incremental Stripe pulls: %d; more than pull_threshold %d events were queued)", f.Pulls, threshold)
	}
	fmt.Fprintf(w, "   burst calls: Salesforce write calls %d (batches of up to %d), Stripe calls %d; became a pull: %s\n",
		f.SFWrites, batchSize, f.StripeCalls, pull)
}

// activeStripeSubscriptions lists the IDs of the Stripe fake's active
// subscriptions with at least one item, in creation order.
func activeStripeSubscriptions(st *stripetest.Server) []string {
	var ids []string
	for _, id := range st.SubscriptionIDs() {
		if s, ok := st.Subscription(id); ok && s.Status == "active" && len(s.Items) > 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// postStripeEvents posts each body, signed as Stripe signs it, with
// demoBurstSenders requests in flight, and returns how many were answered
// 2xx.
func postStripeEvents(ctx context.Context, hc *httpclient.Client, url string, bodies [][]byte) (int, error) {
	next := make(chan []byte)
	var mu sync.Mutex
	acked := 0
	var firstErr error
	var wg sync.WaitGroup
	for range demoBurstSenders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for body := range next {
				req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Stripe-Signature", stripetest.SignPayload(body, demoStripeWHSecret, time.Now()))
				resp, err := hc.Do(req)
				mu.Lock()
				switch {
				case err != nil:
					if firstErr == nil {
						firstErr = err
					}
				case resp.StatusCode/100 == 2:
					acked++
				}
				mu.Unlock()
				if err == nil {
					resp.Body.Close()
				}
			}
		}()
	}
	for _, b := range bodies {
		next <- b
	}
	close(next)
	wg.Wait()
	if firstErr != nil {
		return acked, fmt.Errorf("posting events: %w", firstErr)
	}
	return acked, nil
}

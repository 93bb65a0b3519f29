package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"text/tabwriter"
	"time"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/connectors/zendesk"
	"github.com/healthsync/healthsync/connectors/zendesk/zendesktest"
)

// demoSignalsSources shows the signals sources' webhooks (issue 17): a
// Segment batch of logins by ten users for the lowest-scored account
// (linked by its website domain), and a Zendesk webhook for an urgent
// ticket opened for an account matched by external_id; each is timed to
// the CRM like the billing webhooks above.
func demoSignalsSources(ctx context.Context, w io.Writer, a *app, stack *demoStack, base string, hc *httpclient.Client) error {
	sf := stack.sf
	fmt.Fprintf(w, "\n3b. signals sources: Segment calls and a Zendesk ticket, webhooks until the CRM shows the change\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "source\taccount\tHTTP\tHealth_Score__c before\tafter\tevent to CRM")
	// send posts the signed bodies one after another and times the first
	// change of the account in the CRM from the first.
	send := func(name, acct, path string, bodies [][]byte, sign func(*http.Request, []byte)) error {
		before := sf.Get("Account", acct)
		sent := time.Now()
		var resp *http.Response
		for _, body := range bodies {
			req, _ := http.NewRequestWithContext(ctx, "POST", base+path, bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			sign(req, body)
			var err error
			if resp, err = hc.Do(req); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			resp.Body.Close()
		}
		took := "not seen within 10s"
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
			if now := sf.Get("Account", acct); fmt.Sprint(now["Health_Score__c"]) != fmt.Sprint(before["Health_Score__c"]) ||
				fmt.Sprint(now["Healthsync_Updated_At__c"]) != fmt.Sprint(before["Healthsync_Updated_At__c"]) {
				took = time.Since(sent).Round(time.Millisecond).String()
				break
			}
		}
		if err := waitNotified(ctx, a, 30*time.Second); err != nil {
			return err
		}
		after := sf.Get("Account", acct)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%v\t%v\t%s\n", name, after["Name"], resp.StatusCode, show(before["Health_Score__c"]), show(after["Health_Score__c"]), took)
		return nil
	}

	// Segment: the lowest-scored account with a website logs in.
	var low map[string]any
	for _, r := range sf.All("Account") {
		s, ok := r["Health_Score__c"].(float64)
		if ok && r["Website"] != nil && (low == nil || s < low["Health_Score__c"].(float64)) {
			low = r
		}
	}
	if low != nil {
		now := time.Now().UTC()
		calls := fmt.Sprintf(`{"type":"group","messageId":"demo-g","userId":"demo-u0","groupId":"demo-group","traits":{"name":%q,"website":%q},"timestamp":%q}`,
			low["Name"], low["Website"], now.Add(-time.Hour).Format(time.RFC3339))
		for i := range 30 {
			calls += fmt.Sprintf(`,{"type":"track","messageId":"demo-t%d","userId":"demo-u%d","event":"Logged In","properties":{},"context":{"groupId":"demo-group"},"timestamp":%q}`,
				i, i%10, now.Add(-time.Duration(i)*time.Minute).Format(time.RFC3339))
		}
		body := []byte(`{"batch":[` + calls + `]}`)
		if err := send("Segment group + 30 Logged In (10 users)", low["Id"].(string), "/webhooks/segment", [][]byte{body},
			func(r *http.Request, b []byte) { r.Header.Set("X-Signature", segmentSignature(demoSegmentSecret, b)) }); err != nil {
			return err
		}
	}

	// Zendesk: three urgent tickets for the highest-scored account whose
	// organization names it by external_id (one moves the score by less
	// than write_back.min_score_change), a webhook each.
	org, acct, err := demoZendeskOrg(ctx, stack)
	if err != nil {
		return err
	}
	if org != 0 {
		now := time.Now().UTC()
		var bodies [][]byte
		for id := int64(990000001); id <= 990000003; id++ {
			stack.zd.PutTicket(zendesktest.Ticket{ID: id, OrganizationID: org, Subject: "Everything is down", Status: "open", Priority: "urgent",
				CreatedAt: now.Add(-2 * time.Minute), UpdatedAt: now.Add(-2 * time.Minute), GeneratedTimestamp: now.Add(-2 * time.Minute)})
			bodies = append(bodies, []byte(fmt.Sprintf(`{"type":"zen:event-type:ticket.created","account_id":1,"id":"demo-zd-%d","time":%q,"zendesk_event_version":"2022-11-06",`+
				`"subject":"zen:ticket:%d","detail":{"id":"%d","organization_id":"%d","priority":"URGENT","status":"OPEN"},"event":{}}`,
				id, now.Format(time.RFC3339), id, id, org)))
		}
		if err := send("Zendesk 3 x ticket.created (urgent)", acct, "/webhooks/zendesk", bodies,
			func(r *http.Request, b []byte) { zendesktest.SignRequest(r, demoZDSecret, b, now) }); err != nil {
			return err
		}
	}
	return tw.Flush()
}

// demoZendeskOrg finds, through the export API, the organization whose
// external_id is the highest-scored Salesforce account below 95 (room for
// the ticket to show).
func demoZendeskOrg(ctx context.Context, stack *demoStack) (org int64, acct string, err error) {
	c, err := zendesk.New(zendesk.Config{Name: "demo", BaseURL: stack.zd.URL, Email: demoZDEmail, APIToken: config.NewSecret(demoZDToken),
		ExportRateLimit: config.RateLimit{Requests: 1000, Per: config.Duration(time.Second)}}, zendesk.Options{})
	if err != nil {
		return 0, "", err
	}
	best := -1.0
	for b, err := range c.Pull(ctx, record.PullRequest{Full: true, Now: time.Now()}) {
		if err != nil {
			return 0, "", fmt.Errorf("reading the demo help desk: %w", err)
		}
		for _, o := range b.Organizations {
			if o.ExternalID == "" {
				continue
			}
			// Below 100: a perfect score may be a frozen inactive account.
			if s, ok := stack.sf.Get("Account", o.ExternalID)["Health_Score__c"].(float64); ok && s > best && s < 95 {
				best, org, acct = s, o.ID, o.ExternalID
			}
		}
	}
	return org, acct, nil
}

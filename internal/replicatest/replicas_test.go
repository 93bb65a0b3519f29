package replicatest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/healthsync/healthsync/connectors/salesforce/salesforcetest"
	"github.com/healthsync/healthsync/connectors/stripe/stripetest"
	"github.com/healthsync/healthsync/internal/pgtest"
	"github.com/healthsync/healthsync/sync/store/postgres"
)

const (
	replicas  = 3
	accounts  = 12
	changes   = 8 // per account
	lease     = 5 * time.Second
	whSecret  = "whsec_replicatest_signing"
	stripeKey = "sk_test_replicatest"
	apiToken  = "replicatest-api-token"
	// takeover bounds the failover: a killed replica's claims expire
	// after the lease, the survivors' workers poll for due events at
	// least every second, and each event is a Stripe read and a
	// Salesforce write.
	takeover = lease + 10*time.Second
)

const replicaConfig = `
store: {driver: postgres, dsn: ${HEALTHSYNC_DATABASE_URL}, schema: %[1]s, lease: 5s, max_conns: 8}
server: {listen: "127.0.0.1:0", shutdown_timeout: 5s, api_token: ${RT_API_TOKEN}}
log: {level: warn, format: json}
reporting: {currency: JPY}
connectors:
  - name: sf
    kind: salesforce
    login_url: %[2]s
    auth: {flow: client_credentials, client_id: rep-client, client_secret: ${RT_SF_SECRET}}
    schedule: "%[4]s"
  - name: billing
    kind: stripe
    base_url: %[3]s
    auth: {api_key: ${RT_STRIPE_KEY}}
    webhook: {secrets: ["${RT_STRIPE_WHSEC}"]}
    schedule: "%[4]s"
matching:
  rules:
    - {kind: billing_metadata, key: salesforce_account_id}
write_back: {max_band_change_share: 1}
`

// world is the fakes and the accounts the test changes.
type world struct {
	sf     *salesforcetest.Server
	stripe *stripetest.Server
	accts  []string // Salesforce account IDs
	subs   []string // Stripe subscription IDs, by account
	cus    []string // Stripe customer IDs, by account

	// mu guards mrrs, the MRR__c values the CRM received for each
	// account, in write order (a Salesforce validation rule sees every
	// write as the record would be after it).
	mu   sync.Mutex
	mrrs map[string][]float64
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{mrrs: map[string][]float64{}}
	w.sf = salesforcetest.NewServer(salesforcetest.Options{ClientID: "rep-client", ClientSecret: "rep-secret-31337"})
	t.Cleanup(w.sf.Close)
	w.sf.AddHealthsyncFields()
	w.stripe = stripetest.NewServer(stripetest.Options{APIKey: stripeKey})
	t.Cleanup(w.stripe.Close)
	// Each event is a Stripe read: some latency keeps events in flight
	// when the replica holding them is killed.
	w.stripe.SetLatency(40 * time.Millisecond)
	price := w.stripe.AddPrice(stripetest.Price{Currency: "jpy", UnitAmount: 10000, Interval: "month"})
	for i := range accounts {
		id, err := w.sf.Insert("Account", map[string]any{"Name": fmt.Sprintf("Replica Account %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		c := w.stripe.AddCustomer(stripetest.Customer{Name: fmt.Sprintf("Customer %d", i), Email: fmt.Sprintf("billing@acct%d.example.com", i),
			Metadata: map[string]string{"salesforce_account_id": id}})
		sub, err := w.stripe.AddSubscription(stripetest.Subscription{Customer: c.ID, Items: []stripetest.SubscriptionItem{{Price: price.ID, Quantity: 1}},
			StartDate: time.Now().AddDate(0, -3, 0)})
		if err != nil {
			t.Fatal(err)
		}
		w.accts, w.subs, w.cus = append(w.accts, id), append(w.subs, sub.ID), append(w.cus, c.ID)
	}
	w.sf.AddValidationRule("Account", "", "never", func(rec map[string]any) bool {
		if v, ok := rec["MRR__c"].(float64); ok {
			w.mu.Lock()
			id := salesforcetest.To18(fmt.Sprint(rec["Id"]))
			w.mrrs[id] = append(w.mrrs[id], v)
			w.mu.Unlock()
		}
		return false
	})
	return w
}

// crmMRR is the account's MRR__c in the CRM now (0 when unset).
func (w *world) crmMRR(i int) float64 {
	v, _ := w.sf.Get("Account", w.accts[i])["MRR__c"].(float64)
	return v
}

// replica is one `healthsync run` process.
type replica struct {
	cmd    *exec.Cmd
	addr   string
	stderr *bytes.Buffer
	done   chan struct{}
}

// freeAddr is a loopback address nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// build compiles the healthsync binary into dir.
func build(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "healthsync")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/healthsync")
	cmd.Dir = filepath.Join("..", "..")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building healthsync: %v\n%s", err, out)
	}
	return bin
}

// waitFor waits until cond holds, polling; it fails after limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > limit {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Since(start)
}

// setUp builds healthsync, starts the fakes and writes the replicas'
// configuration (both connectors pulling on schedule) for the database
// schema; then it runs the first pull, match, score and write-back, as an
// operator runs `healthsync sync` once before starting the replicas. It
// returns the world, the binary, the configuration file and the
// replicas' environment.
func setUp(t *testing.T, url, schema, schedule string) (w *world, bin, cfgPath string, env []string) {
	t.Helper()
	dir := t.TempDir()
	bin = build(t, dir)
	w = newWorld(t)
	cfgPath = filepath.Join(dir, "replica.yaml")
	if err := os.WriteFile(cfgPath, fmt.Appendf(nil, replicaConfig, schema, w.sf.URL, w.stripe.URL, schedule), 0o600); err != nil {
		t.Fatal(err)
	}
	env = append(os.Environ(), "HEALTHSYNC_DATABASE_URL="+url, "RT_SF_SECRET=rep-secret-31337",
		"RT_STRIPE_KEY="+stripeKey, "RT_STRIPE_WHSEC="+whSecret, "RT_API_TOKEN="+apiToken)
	first := exec.Command(bin, "sync", "--config", cfgPath)
	first.Env = env
	if out, err := first.CombinedOutput(); err != nil {
		t.Fatalf("first sync: %v\n%s", err, out)
	}
	return w, bin, cfgPath, env
}

// startReplicas starts the replicas (`healthsync run`, each on a free
// loopback port) and waits until each is ready; they are stopped with
// SIGTERM when the test ends.
func startReplicas(t *testing.T, bin, cfgPath string, env []string) []*replica {
	t.Helper()
	reps := make([]*replica, replicas)
	for i := range reps {
		r := &replica{addr: freeAddr(t), stderr: &bytes.Buffer{}, done: make(chan struct{})}
		r.cmd = exec.Command(bin, "run", "--config", cfgPath, "--listen", r.addr)
		r.cmd.Env, r.cmd.Stderr = env, r.stderr
		if err := r.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { r.cmd.Wait(); close(r.done) }()
		t.Cleanup(func() {
			r.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-r.done:
			case <-time.After(10 * time.Second):
				r.cmd.Process.Kill()
				<-r.done
			}
			if t.Failed() {
				t.Logf("replica %s stderr:\n%s", r.addr, r.stderr.String())
			}
		})
		reps[i] = r
	}
	client := &http.Client{Timeout: 10 * time.Second}
	for _, r := range reps {
		waitFor(t, 30*time.Second, "replica "+r.addr+" ready", func() bool {
			resp, err := client.Get("http://" + r.addr + "/readyz")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	return reps
}

// kill stops r with SIGKILL and waits for the process to end.
func (r *replica) kill(t *testing.T) {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-r.done
}

// TestReplicasShareTheQueue is issue 16's multi-replica test. Three `healthsync
// run` processes share one PostgreSQL database in front of the Salesforce and
// Stripe fakes. For each of 12 accounts the test makes 8 subscription
// changes in Stripe, one after another, and posts each change's signed event
// to a replica (round robin; a redelivery of every fourth event to another
// replica), waiting for the acknowledgement before the next change of that
// account. A third of the way in, replica 0 is killed with SIGKILL while it
// holds claimed events; its webhooks then go to the survivors, as a load
// balancer's readiness check would route them. Then:
//   - every acknowledged change reaches the CRM: each account's MRR__c ends
//     at its last change's value, and the changes acknowledged before the kill
//     are in the CRM within the stated takeover time (lease + 10s);
//   - per-account order is kept: the MRR values the CRM receives for an
//     account never go back to an older change's;
//   - in the store: every acknowledged event ID is remembered once, the
//     queue is empty and nothing was dead-lettered.
//
// The schedule half of the test is TestReplicasRunSchedulesOnce.
func TestReplicasShareTheQueue(t *testing.T) {
	if testing.Short() {
		t.Skip("builds healthsync and runs three replicas")
	}
	url, schema := pgtest.Schema(t)
	w, bin, cfgPath, env := setUp(t, url, schema, "@every 1h")
	unit := w.crmMRR(0)
	for i := range accounts {
		if w.crmMRR(i) != unit || unit <= 0 {
			t.Fatalf("after the first sync account %d has MRR__c %v, want %v (> 0)", i, w.crmMRR(i), unit)
		}
	}

	reps := startReplicas(t, bin, cfgPath, env)
	client := &http.Client{Timeout: 10 * time.Second}

	// post delivers one signed event, starting at replica first and going
	// on to the next live one when a replica does not answer (a load
	// balancer's retry); it returns the replica that acknowledged it.
	var killed sync.Map // replica index -> true
	post := func(body []byte, first int) (int, error) {
		var last error
		for k := range replicas * 2 {
			i := (first + k) % replicas
			if _, dead := killed.Load(i); dead {
				continue
			}
			req, _ := http.NewRequest("POST", "http://"+reps[i].addr+"/webhooks/billing", bytes.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Stripe-Signature", stripetest.SignPayload(body, whSecret, time.Now()))
			resp, err := client.Do(req)
			if err != nil {
				last = err
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return i, nil
			}
			last = fmt.Errorf("replica %d answered %d", i, resp.StatusCode)
		}
		return -1, last
	}

	var (
		mu       sync.Mutex
		acked    = map[string]bool{} // event IDs acknowledged
		lastAck  = make([]int64, accounts)
		ackedBy  = make([]int, replicas)
		total    = accounts * changes
		ackCount int
	)
	killAt := total / 3
	killNow := make(chan struct{})
	var killOnce sync.Once
	var wg sync.WaitGroup
	errs := make(chan error, accounts)
	for a := range accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 1; k <= changes; k++ {
				qty := int64(k + 1)
				if err := w.stripe.UpdateSubscription(w.subs[a], func(s *stripetest.Subscription) { s.Items[0].Quantity = qty }); err != nil {
					errs <- err
					return
				}
				id := fmt.Sprintf("evt_rt_%02d_%02d", a, k)
				body := fmt.Appendf(nil, `{"id":%q,"object":"event","api_version":"2025-03-31.basil","created":%d,"type":"customer.subscription.updated","livemode":false,"pending_webhooks":1,"request":{"id":null,"idempotency_key":null},"data":{"object":{"id":%q,"object":"subscription","customer":%q}}}`,
					id, time.Now().Unix(), w.subs[a], w.cus[a])
				by, err := post(body, a+k)
				if err != nil {
					errs <- fmt.Errorf("event %s not acknowledged: %w", id, err)
					return
				}
				if k%4 == 0 { // a vendor's redelivery, to another replica
					if _, err := post(body, by+1); err != nil {
						errs <- fmt.Errorf("redelivery of %s: %w", id, err)
						return
					}
				}
				mu.Lock()
				acked[id] = true
				lastAck[a] = qty
				ackedBy[by]++
				ackCount++
				if ackCount == killAt {
					killOnce.Do(func() { close(killNow) })
				}
				mu.Unlock()
			}
		}()
	}

	// SIGKILL replica 0 once a third of the events are acknowledged.
	<-killNow
	killed.Store(0, true)
	reps[0].kill(t)
	mu.Lock()
	atKill := append([]int64(nil), lastAck...)
	mu.Unlock()

	// Takeover: everything acknowledged before the kill reaches the CRM.
	failover := waitFor(t, takeover, "changes acknowledged before the kill in the CRM", func() bool {
		for a := range accounts {
			if w.crmMRR(a) < unit*float64(atKill[a]) {
				return false
			}
		}
		return true
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if t.Failed() {
		return
	}
	// The failover bound is checked above, on the changes acknowledged
	// before the kill; draining the rest may take longer on a loaded
	// machine (CI runs every package under -race at once).
	waitFor(t, 4*takeover, "every acknowledged change in the CRM", func() bool {
		for a := range accounts {
			if w.crmMRR(a) != unit*float64(changes+1) {
				return false
			}
		}
		return true
	})
	t.Logf("failover: the changes acknowledged before SIGKILL were in the CRM %s after it (bound %s); acknowledged by replica: %v",
		failover.Round(time.Millisecond), takeover, ackedBy)

	// Per-account order at the CRM.
	w.mu.Lock()
	for a, id := range w.accts {
		vals := w.mrrs[salesforcetest.To18(id)]
		if len(vals) < 2 || vals[len(vals)-1] != unit*float64(changes+1) {
			t.Errorf("account %d: the CRM received MRR writes %v, want several ending at %v", a, vals, unit*float64(changes+1))
		}
		for j := 1; j < len(vals); j++ {
			if vals[j] < vals[j-1] {
				t.Errorf("account %d: the CRM received MRR %v after %v (writes %v)", a, vals[j], vals[j-1], vals)
				break
			}
		}
	}
	w.mu.Unlock()

	// In the store.
	st, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	waitFor(t, takeover, "queue drained", func() bool {
		q, _, err := st.QueueDepth()
		return err == nil && q == 0
	})
	d, err := st.Export()
	if err != nil {
		t.Fatal(err)
	}
	remembered := map[string]int{}
	for _, dd := range d.Dedupe {
		if dd.Connector == "billing" {
			remembered[dd.EventID]++
		}
	}
	for id := range acked {
		if remembered[id] != 1 {
			t.Errorf("acknowledged event %s remembered %d times in the store, want 1", id, remembered[id])
		}
	}
	if len(acked) != total || len(d.DeadLetters) != 0 || len(d.Queue) != 0 {
		t.Errorf("%d events acknowledged (want %d), %d dead letters, %d queued; want none", len(acked), total, len(d.DeadLetters), len(d.Queue))
	}
}

package replicatest

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/healthsync/healthsync/internal/pgtest"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/store/postgres"
)

const (
	// every is the replicas' pull schedule: short, so the test sees many
	// ticks. robfig/cron's @every ticks on whole seconds counted from each
	// replica's start, so replicas started within a second tick together
	// and, without the job lock, pull at the same time; of three replicas
	// at least two tick on the same even or odd seconds.
	every = 2 * time.Second
	// phase is how long the test watches the replicas before and after
	// the kill.
	phase = 6 * time.Second
	// scheduleTakeover bounds the time from the SIGKILL to the next pull
	// of each connector on a survivor: the killed replica's lock goes with
	// its database session, and the next tick is at most one interval
	// away.
	scheduleTakeover = every + 3*time.Second
)

// TestReplicasRunSchedulesOnce is the schedule half of issue 16's
// multi-replica test. Three `healthsync run` processes share one
// PostgreSQL database, both connectors pulling "@every 2s"; after a while
// replica 0 is killed with SIGKILL, and the survivors go on. Then:
//   - no scheduled pull of a connector ran on two replicas at the same
//     time: the pull runs recorded in the store never overlap (a killed
//     replica's unfinished run counts until the kill);
//   - the fakes' counters agree: the Stripe fake received one first page of
//     customers per recorded billing pull (none for a pull the kill cut
//     short before its first request), so no pull ran that the store does
//     not show;
//   - replicas turned ticks away before the kill
//     (healthsync_schedule_skipped_total on their /metrics), so they did
//     contend for the jobs;
//   - each connector was pulled again by a survivor within the stated
//     takeover time (one interval and 3s) of the kill.
func TestReplicasRunSchedulesOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds healthsync and runs three replicas")
	}
	url, schema := pgtest.Schema(t)
	w, bin, cfgPath, env := setUp(t, url, schema, "@every 2s")
	firstPages := func() int {
		n := 0
		for _, r := range w.stripe.Requests() {
			if r.Method == http.MethodGet && r.Path == "/v1/customers" && r.Query.Get("starting_after") == "" {
				n++
			}
		}
		return n
	}
	before := firstPages()
	started := time.Now()
	reps := startReplicas(t, bin, cfgPath, env)
	time.Sleep(phase)
	// Read before the kill: the replica that won the contended ticks may
	// be the one killed.
	skipped := 0.0
	for _, r := range reps {
		skipped += skippedTotal(t, r.addr)
	}
	killed := time.Now()
	reps[0].kill(t)
	time.Sleep(phase)

	st, err := postgres.Open(context.Background(), url, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.Runs(10000)
	if err != nil {
		t.Fatal(err)
	}
	seen := firstPages() - before
	checked := time.Now()
	pulls := map[string][]store.Run{}
	cut := map[string]int{}     // pulls the kill cut short
	running := map[string]int{} // survivors' pulls unfinished when the runs were read
	for _, r := range runs {
		if (r.Kind == "pull" || r.Kind == "pull_full") && !r.Start.Before(started) {
			if r.End.IsZero() {
				// Unfinished: the killed replica's, cut at the kill, or a
				// survivor's, still running.
				r.End = checked
				if r.Start.Before(killed) {
					r.End = killed
					cut[r.Connector]++
				} else {
					running[r.Connector]++
				}
			}
			pulls[r.Connector] = append(pulls[r.Connector], r)
		}
	}
	for _, conn := range []string{"sf", "billing"} {
		ps := pulls[conn]
		slices.SortFunc(ps, func(a, b store.Run) int { return a.Start.Compare(b.Start) })
		overlaps := 0
		for i := 1; i < len(ps); i++ {
			if ps[i].Start.Before(ps[i-1].End) {
				overlaps++
				t.Errorf("%s: pull %s (%s to %s) overlaps pull %s (%s to %s): two replicas ran the job at once", conn,
					ps[i].ID, ps[i].Start.Format(time.StampMilli), ps[i].End.Format(time.StampMilli),
					ps[i-1].ID, ps[i-1].Start.Format(time.StampMilli), ps[i-1].End.Format(time.StampMilli))
			}
		}
		if min := int(2*phase/every) - 2; len(ps) < min {
			t.Errorf("%s: %d scheduled pulls in %s, want at least %d (one per tick)", conn, len(ps), 2*phase, min)
		}
		i := slices.IndexFunc(ps, func(r store.Run) bool { return r.Start.After(killed) })
		if i < 0 {
			t.Errorf("%s: no pull after the kill", conn)
			continue
		}
		took := ps[i].Start.Sub(killed)
		if took > scheduleTakeover {
			t.Errorf("%s: first pull after the kill %s after it, want within %s", conn, took, scheduleTakeover)
		}
		t.Logf("%s: %d scheduled pulls, %d overlapping; first pull after SIGKILL started %s after it (bound %s)",
			conn, len(ps), overlaps, took.Round(time.Millisecond), scheduleTakeover)
	}
	// A pull is recorded before its first request, so one the kill cut
	// short may have none, nor one a survivor had just started when the
	// runs were read (under -race it may not have sent it yet).
	if n := len(pulls["billing"]); seen > n || seen < n-cut["billing"]-running["billing"] {
		t.Errorf("the Stripe fake received %d first pages of customers, the store recorded %d billing pulls (%d cut short by the kill, %d running)", seen, n, cut["billing"], running["billing"])
	}
	if skipped == 0 {
		t.Error("no replica skipped a tick for the job lock before the kill: the replicas never contended")
	}
}

// skippedTotal sums healthsync_schedule_skipped_total over the jobs on the
// replica at addr's /metrics.
func skippedTotal(t *testing.T, addr string) float64 {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics on %s: %d", addr, resp.StatusCode)
	}
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "healthsync_schedule_skipped_total{") {
			continue
		}
		v, err := strconv.ParseFloat(line[strings.LastIndexByte(line, ' ')+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		sum += v
	}
	if err := sc.Err(); err != nil {
		t.Fatal(fmt.Errorf("reading metrics: %w", err))
	}
	return sum
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/healthsync/healthsync/sync/store"
)

// cluster is a PostgreSQL server a test owns, so it may stop and start it
// without disturbing the shared test database: initdb into a directory of
// its own, pg_ctl on a fixed loopback port (as "nobody" when the test runs
// as root, since PostgreSQL refuses root), fsync on.
type cluster struct {
	t    *testing.T
	bin  string // PostgreSQL's bin directory
	dir  string
	port int
}

// newCluster starts a cluster for t and removes it when t ends. It needs
// PostgreSQL's server binaries, which the shared cluster's presence
// implies: without HEALTHSYNC_TEST_POSTGRES_URL the test is skipped (or
// fails in CI) as every other test of the package.
func newCluster(t *testing.T) *cluster {
	t.Helper()
	testURL(t)
	bins, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	if len(bins) == 0 {
		t.Fatal("no /usr/lib/postgresql/*/bin/initdb: PostgreSQL's server binaries are missing")
	}
	sort.Strings(bins)
	dir, err := os.MkdirTemp("", "hs-pg-outage-")
	if err != nil {
		t.Fatal(err)
	}
	c := &cluster{t: t, bin: filepath.Dir(bins[len(bins)-1]), dir: dir, port: int(closedPort(t))}
	t.Cleanup(func() {
		c.pgctl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"data", "run"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	if os.Getuid() == 0 {
		c.run("chown", "-R", "nobody", dir)
	}
	c.run(c.as(filepath.Join(c.bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres", "--auth=trust",
		"--encoding=UTF8", "--locale=C.UTF-8")...)
	if err := c.start(); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *cluster) url() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable&connect_timeout=2", c.port)
}

// as prefixes a command so it runs as the cluster's owner.
func (c *cluster) as(cmd ...string) []string {
	if os.Getuid() == 0 {
		return append([]string{"runuser", "-u", "nobody", "--"}, cmd...)
	}
	return cmd
}

func (c *cluster) run(cmd ...string) {
	c.t.Helper()
	if out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput(); err != nil {
		c.t.Fatalf("%v: %v\n%s", cmd, err, out)
	}
}

func (c *cluster) pgctl(args ...string) error {
	cmd := c.as(append([]string{filepath.Join(c.bin, "pg_ctl"), "-D", filepath.Join(c.dir, "data"), "-w", "-t", "30"}, args...)...)
	out, err := exec.Command(cmd[0], cmd[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("pg_ctl %v: %v\n%s", args, err, out)
	}
	return nil
}

func (c *cluster) start() error {
	return c.pgctl("start", "-l", filepath.Join(c.dir, "server.log"), "-o",
		"-c listen_addresses=127.0.0.1 -p "+strconv.Itoa(c.port)+" -c unix_socket_directories="+filepath.Join(c.dir, "run")+" -c fsync=on")
}

// recoveryBound is how soon after the server accepts connections again
// enqueues must succeed: pgxpool pings a connection idle for over a
// second before handing it out and replaces the broken ones.
const recoveryBound = 5 * time.Second

// TestDatabaseOutage: a steady enqueue load while the server crashes
// (pg_ctl stop -m immediate) and restarts on the same data directory and
// port. Every enqueue acknowledged (no error) is in the queue afterwards,
// every failure meanwhile is store.ErrUnavailable, and enqueues succeed
// again within recoveryBound of the restart, without reopening the store.
func TestDatabaseOutage(t *testing.T) {
	c := newCluster(t)
	s, err := Open(context.Background(), c.url(), Options{CallTimeout: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	var (
		mu        sync.Mutex
		acked     []string
		failures  []error
		lastAck   time.Time
		stop      = make(chan struct{})
		producing sync.WaitGroup
	)
	producing.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			id := fmt.Sprintf("e%05d", i)
			dup, err := s.Enqueue([]store.QueuedEvent{event(id, "K"+id)})
			mu.Lock()
			switch {
			case err != nil:
				failures = append(failures, err)
			case dup[0]:
				failures = append(failures, fmt.Errorf("%s reported a duplicate", id))
			default:
				acked, lastAck = append(acked, id), time.Now()
			}
			mu.Unlock()
			time.Sleep(2 * time.Millisecond)
		}
	})
	defer func() {
		close(stop)
		producing.Wait()
	}()
	// waitAcks waits until n enqueues were acknowledged after since.
	waitAcks := func(since time.Time, n int, within time.Duration) (first time.Time) {
		t.Helper()
		mu.Lock()
		base := len(acked)
		mu.Unlock()
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			mu.Lock()
			got, at := len(acked)-base, lastAck
			mu.Unlock()
			if got >= 1 && first.IsZero() && at.After(since) {
				first = at
			}
			if got >= n && !first.IsZero() {
				return first
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Fatalf("fewer than %d enqueues acknowledged within %v", n, within)
		return
	}

	waitAcks(time.Now(), 50, 10*time.Second)
	if err := c.pgctl("stop", "-m", "immediate"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	if err := c.start(); err != nil {
		t.Fatal(err)
	}
	restarted := time.Now()
	first := waitAcks(restarted, 50, 3*recoveryBound)
	close(stop)
	producing.Wait()
	stop = make(chan struct{}) // for the deferred close

	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d acknowledged, %d failed during the outage; first acknowledged %v after the server accepted connections",
		len(acked), len(failures), first.Sub(restarted).Round(time.Millisecond))
	if len(failures) == 0 {
		t.Error("no enqueue failed: the outage was not seen")
	}
	for _, err := range failures {
		if !errors.Is(err, store.ErrUnavailable) {
			t.Errorf("failure during the outage: %v, want ErrUnavailable", err)
			break
		}
	}
	if d := first.Sub(restarted); d > recoveryBound {
		t.Errorf("enqueues succeeded again %v after the restart, want within %v", d, recoveryBound)
	}
	claimed, err := s.Claim(len(acked)+len(failures)+10, time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	queued := map[string]bool{}
	for _, e := range claimed {
		queued[e.Event.ID] = true
	}
	var lost []string
	for _, id := range acked {
		if !queued[id] {
			lost = append(lost, id)
		}
	}
	same(t, "acknowledged enqueues lost", lost, []string(nil))
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/sync/notify"
	"github.com/healthsync/healthsync/sync/store"
)

// note is a notification for subscriber "revops", due at t0.
func note(id string) store.Notification {
	return store.Notification{Subscriber: "revops", EventID: id, Type: "health.changed", Payload: []byte(`{"id":"` + id + `"}`),
		Created: t0, Due: t0}
}

func eventIDs(ns []store.Notification) []string {
	out := []string{}
	for _, n := range ns {
		out = append(out, n.EventID)
	}
	return out
}

// TestOutboxDeliveredOnceAcrossReplicas: the notifiers of three replicas
// deliver one outbox together, round after round; the subscriber receives
// every notification exactly once.
func TestOutboxDeliveredOnceAcrossReplicas(t *testing.T) {
	a, more := openTest(t, Options{})
	b, c := more(Options{}), more(Options{})
	const total = 60
	var ns []store.Notification
	for i := range total {
		ns = append(ns, note(fmt.Sprintf("msg_%03d", i)))
	}
	if _, err := a.PutOutbox(ns); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	got := map[string]int{} // webhook-id -> deliveries
	sub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(2 * time.Millisecond) // deliveries overlap across replicas
		mu.Lock()
		got[r.Header.Get("webhook-id")]++
		mu.Unlock()
	}))
	defer sub.Close()
	secret := config.NewSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	cfg := config.Notify{Subscribers: []config.Subscriber{{Name: "revops", URL: sub.URL, Secret: secret}}}
	var wg sync.WaitGroup
	for _, s := range []*Store{a, b, c} {
		n := notify.New(notify.Options{Config: cfg, Outbox: s, Logger: zerolog.Nop(), Now: func() time.Time { return t0 }})
		wg.Go(func() {
			for range 20 {
				n.DeliverDue(context.Background())
			}
		})
	}
	wg.Wait()

	want := map[string]int{}
	for _, n := range ns {
		want[n.EventID] = 1
	}
	same(t, "deliveries by webhook-id", got, want)
	left, err := a.OutboxLen()
	same(t, "outbox left", left, 0)
	if err != nil {
		t.Error(err)
	}
}

// TestOutboxLeaseTakenOver: a replica that read notifications and died
// (its leases no longer renewed) holds them for one Lease; then another
// replica reads them, and the dead one's late retry is refused with
// ErrClaimLost. A replica that closes hands its notifications on at once.
func TestOutboxLeaseTakenOver(t *testing.T) {
	clk := &clock{now: t0}
	opts := Options{Now: clk.Now, Lease: time.Minute}
	a, more := openTest(t, opts)
	b := more(opts)
	ids, err := a.PutOutbox([]store.Notification{note("msg_1"), note("msg_2")})
	if err != nil {
		t.Fatal(err)
	}
	read := func(s *Store, n int) []string {
		t.Helper()
		ns, err := s.DueOutbox(t0, n)
		if err != nil {
			t.Fatal(err)
		}
		return eventIDs(ns)
	}
	same(t, "a reads one", read(a, 1), []string{"msg_1"})
	same(t, "b reads the other", read(b, 10), []string{"msg_2"})
	same(t, "a reads its own again", read(a, 10), []string{"msg_1"})

	// a dies: nothing renews its lease.
	clk.advance(time.Minute - time.Second)
	same(t, "within the lease", read(b, 10), []string{"msg_2"})
	clk.advance(time.Second)
	same(t, "after the lease", read(b, 10), []string{"msg_1", "msg_2"})
	if err := a.OutboxRetry(ids[0], t0.Add(time.Hour), errors.New("503")); !errors.Is(err, ErrClaimLost) {
		t.Errorf("late retry of the dead replica: %v, want ErrClaimLost", err)
	}
	if err := b.OutboxDelivered(ids[0]); err != nil {
		t.Fatal(err)
	}

	// b closes: a replica started since gets msg_2 at once.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	c := more(opts)
	same(t, "after the holder closed", read(c, 10), []string{"msg_2"})
	// A retry clears the lease: due again later, for anyone.
	if err := c.OutboxRetry(ids[1], t0, errors.New("503")); err != nil {
		t.Fatal(err)
	}
	ns, err := a.DueOutbox(t0, 10)
	if err != nil {
		t.Fatal(err)
	}
	retried := note("msg_2")
	retried.ID, retried.Attempts, retried.LastError = ids[1], 1, "503"
	same(t, "retried, read by another replica", ns, []store.Notification{retried})
}

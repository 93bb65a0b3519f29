package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/httpclient"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/store"
)

// Outbox is the store's outbound notification queue.
type Outbox interface {
	PutOutbox(ns []store.Notification) ([]uint64, error)
	DueOutbox(now time.Time, n int) ([]store.Notification, error)
	OutboxDelivered(id uint64) error
	OutboxRetry(id uint64, at time.Time, cause error) error
}

// Options configure a Notifier.
type Options struct {
	Config  config.Notify
	Outbox  Outbox
	Logger  zerolog.Logger
	Now     func() time.Time
	Metrics prometheus.Registerer // nil: not registered
	// Transport overrides the HTTP transport (tests).
	Transport http.RoundTripper
}

// Notifier turns engine notices into signed notifications in the outbox
// (Publish) and delivers them with exponential back-off (Run). A
// notification is removed from the outbox only after a 2xx, so a restart
// loses nothing.
type Notifier struct {
	o         Options
	subs      map[string]config.Subscriber
	hc        *httpclient.Client
	wake      chan struct{}
	delivered *prometheus.CounterVec
	failed    *prometheus.CounterVec
}

var _ engine.Publisher = (*Notifier)(nil)

// New builds a Notifier.
func New(o Options) *Notifier {
	if o.Now == nil {
		o.Now = time.Now
	}
	n := &Notifier{o: o, subs: map[string]config.Subscriber{}, wake: make(chan struct{}, 1)}
	var secrets []string
	for _, s := range o.Config.Subscribers {
		n.subs[s.Name] = s
		if !s.Secret.IsZero() {
			secrets = append(secrets, s.Secret.Reveal())
		}
	}
	timeout := o.Config.Timeout.D()
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	// Each attempt is one call: back-off across attempts is the outbox's.
	n.hc = httpclient.New(httpclient.Options{Name: "notify", Timeout: timeout, RetryMax: -1, Secrets: secrets,
		Logger: o.Logger, Transport: o.Transport})
	n.delivered = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "healthsync_notify_delivered_total",
		Help: "Outbound notifications delivered, by subscriber."}, []string{"subscriber"})
	n.failed = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "healthsync_notify_failed_attempts_total",
		Help: "Failed outbound notification attempts, by subscriber."}, []string{"subscriber"})
	if o.Metrics != nil {
		o.Metrics.MustRegister(n.delivered, n.failed)
	}
	return n
}

// Message is the JSON body of a standard notification.
type Message struct {
	Type      string         `json:"type"`
	Timestamp time.Time      `json:"timestamp"`
	Data      map[string]any `json:"data"`
}

// Publish queues one notification per subscriber that wants each notice.
func (n *Notifier) Publish(notices []engine.Notice) error {
	var out []store.Notification
	now := n.o.Now()
	for _, nt := range notices {
		for _, sub := range n.o.Config.Subscribers {
			if len(sub.Events) > 0 && !sub.Wants(nt.Type) {
				continue
			}
			body, err := n.body(sub, nt)
			if err != nil {
				return err
			}
			out = append(out, store.Notification{Subscriber: sub.Name, EventID: newID(), Type: nt.Type, Payload: body,
				Created: now, Due: now})
		}
	}
	if len(out) == 0 {
		return nil
	}
	if _, err := n.o.Outbox.PutOutbox(out); err != nil {
		return fmt.Errorf("queueing notifications: %w", err)
	}
	n.Wake()
	return nil
}

func (n *Notifier) body(sub config.Subscriber, nt engine.Notice) ([]byte, error) {
	data := map[string]any{"account": nt.Account, "name": nt.Name}
	for k, v := range nt.Data {
		data[k] = v
	}
	if sub.Format == config.FormatSlack {
		return json.Marshal(map[string]string{"text": slackText(nt)})
	}
	return json.Marshal(Message{Type: nt.Type, Timestamp: nt.Time.UTC(), Data: data})
}

// slackText is the message for a Slack incoming webhook. Every value from
// a vendor or the store is escaped as Slack's "Formatting text for app
// surfaces" page requires (& to &amp;, < to &lt;, > to &gt;), so an account
// named "<!channel>" or "<https://evil.example|Invoice>" shows as text
// instead of pinging everyone or becoming a link.
func slackText(nt engine.Notice) string {
	var b strings.Builder
	fmt.Fprintf(&b, "*%s*: %s", strings.ReplaceAll(nt.Type, "_", " "), slackEscape(nt.Name))
	switch nt.Type {
	case config.EventBandChanged:
		fmt.Fprintf(&b, " moved from %s to %s", slackEscape(fmt.Sprint(nt.Data["from"])), slackEscape(fmt.Sprint(nt.Data["to"])))
	case config.EventScoreDropped:
		fmt.Fprintf(&b, " health score fell from %s to %s", slackEscape(fmt.Sprint(nt.Data["from"])), slackEscape(fmt.Sprint(nt.Data["to"])))
	case config.EventTaskCreated:
		fmt.Fprintf(&b, ": task %s", slackEscape(strconv.Quote(fmt.Sprint(nt.Data["subject"]))))
	}
	if r, ok := nt.Data["reasons"].([]string); ok && len(r) > 0 {
		fmt.Fprintf(&b, " (%s)", slackEscape(strings.Join(r, "; ")))
	}
	return b.String()
}

// slackEscape makes text inert in Slack markup: no mentions, no links.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return "msg_" + hex.EncodeToString(b[:])
}

var errSubscriberDown = errors.New("subscriber failed earlier in this round")

// Wake tells Run new notifications are queued.
func (n *Notifier) Wake() {
	select {
	case n.wake <- struct{}{}:
	default:
	}
}

// Run delivers due notifications until ctx ends.
func (n *Notifier) Run(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-n.wake:
		case <-t.C:
		}
		n.DeliverDue(ctx)
		t.Reset(poll)
	}
}

// DeliverDue attempts every due notification once. A subscriber that fails
// is skipped for the rest of the round, so one dead endpoint does not hold
// up the others. Nothing is dropped: past max_attempts a notification keeps
// being retried at the longest back-off, and each such failure is logged
// as an error.
func (n *Notifier) DeliverDue(ctx context.Context) (delivered, failed int) {
	down := map[string]time.Time{} // subscriber -> retry time after a failure this round
	bmin, bmax := n.o.Config.Backoff.Min.D(), n.o.Config.Backoff.Max.D()
	if bmin <= 0 {
		bmin = 10 * time.Second
	}
	if bmax <= 0 {
		bmax = time.Hour
	}
	max := n.o.Config.MaxAttempts
	if max <= 0 {
		max = 10
	}
	for ctx.Err() == nil {
		due, err := n.o.Outbox.DueOutbox(n.o.Now(), 50)
		if err != nil {
			n.o.Logger.Error().Err(err).Msg("reading outbox failed")
			return
		}
		for _, nt := range due {
			if at, ok := down[nt.Subscriber]; ok {
				// Rescheduled with the subscriber, so its backlog does not
				// sit at the head of the outbox in front of the others.
				if rErr := n.o.Outbox.OutboxRetry(nt.ID, at, errSubscriberDown); rErr != nil {
					n.o.Logger.Error().Err(rErr).Msg("scheduling notification retry failed")
				}
				continue
			}
			if err := n.deliver(ctx, nt); err != nil {
				failed++
				n.failed.WithLabelValues(nt.Subscriber).Inc()
				wait := httpclient.Backoff(bmin, bmax, nt.Attempts)
				if nt.Attempts+1 >= max {
					wait = bmax
					n.o.Logger.Error().Err(err).Str("subscriber", nt.Subscriber).Str("id", nt.EventID).Int("attempts", nt.Attempts+1).
						Msg("notification still undelivered; retrying at the longest back-off")
				}
				down[nt.Subscriber] = n.o.Now().Add(wait)
				if rErr := n.o.Outbox.OutboxRetry(nt.ID, down[nt.Subscriber], err); rErr != nil {
					n.o.Logger.Error().Err(rErr).Msg("scheduling notification retry failed")
				}
				continue
			}
			delivered++
			n.delivered.WithLabelValues(nt.Subscriber).Inc()
			if err := n.o.Outbox.OutboxDelivered(nt.ID); err != nil {
				n.o.Logger.Error().Err(err).Msg("marking notification delivered failed")
			}
		}
		if len(due) < 50 {
			return
		}
	}
	return
}

func (n *Notifier) deliver(ctx context.Context, nt store.Notification) error {
	sub, ok := n.subs[nt.Subscriber]
	if !ok {
		return fmt.Errorf("subscriber %q is no longer configured", nt.Subscriber)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.URL, bytes.NewReader(nt.Payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "healthsync")
	if sub.Format != config.FormatSlack && !sub.Secret.IsZero() {
		SetHeaders(req.Header, sub.Secret.Reveal(), nt.EventID, n.o.Now(), nt.Payload)
	}
	resp, err := n.hc.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("subscriber %s answered HTTP %d", sub.Name, resp.StatusCode)
	}
	return nil
}

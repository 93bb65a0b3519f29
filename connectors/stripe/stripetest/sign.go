package stripetest

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// SignPayload returns the Stripe-Signature header value Stripe sends with a
// webhook: "t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body" keyed with the
// endpoint secret>" (https://docs.stripe.com/webhooks#verify-manually).
func SignPayload(body []byte, secret string, t time.Time) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + signature(body, secret, ts)
}

func signature(body []byte, secret, ts string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

type endpoint struct {
	url    string
	secret string
}

// AddWebhookEndpoint registers a URL that DeliverEvents posts events to,
// signed with secret (a "whsec_..." value).
func (s *Server) AddWebhookEndpoint(url, secret string) {
	s.mu.Lock()
	s.endpoints = append(s.endpoints, endpoint{url, secret})
	s.mu.Unlock()
}

// EventJSON renders a stored event as the API and webhooks send it.
func (s *Server) EventJSON(id string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.event(id); ok {
		return mustJSON(s.renderEvent(e)), true
	}
	return nil, false
}

// DeliverEvents posts every event not yet delivered to each registered
// endpoint, as Stripe does: POST, Content-Type application/json, a
// Stripe-Signature header signed at the fake clock, in creation order. It
// returns after all posts; an endpoint answering other than 2xx stops the
// delivery with an error and the event stays pending.
func (s *Server) DeliverEvents(ctx context.Context, client *http.Client) (int, error) {
	if client == nil {
		client = http.DefaultClient
	}
	n := 0
	for {
		s.mu.Lock()
		if s.delivered >= len(s.events) || len(s.endpoints) == 0 {
			s.mu.Unlock()
			return n, nil
		}
		body, err := json.Marshal(s.renderEvent(s.events[s.delivered]))
		eps := append([]endpoint(nil), s.endpoints...)
		now := s.now
		s.mu.Unlock()
		if err != nil {
			return n, fmt.Errorf("rendering event: %w", err)
		}
		for _, ep := range eps {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.url, bytes.NewReader(body))
			if err != nil {
				return n, fmt.Errorf("building webhook request: %w", err)
			}
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
			req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
			req.Header.Set("Stripe-Signature", SignPayload(body, ep.secret, now))
			resp, err := client.Do(req)
			if err != nil {
				return n, fmt.Errorf("posting webhook: %w", err)
			}
			resp.Body.Close()
			if resp.StatusCode/100 != 2 {
				return n, fmt.Errorf("posting webhook: endpoint answered %d", resp.StatusCode)
			}
		}
		s.mu.Lock()
		s.delivered++
		s.mu.Unlock()
		n++
	}
}

package hubspot

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/healthsync/healthsync/config"
)

// refreshAhead is how long before expiry an OAuth access token is renewed
// (HubSpot access tokens live 30 minutes).
const refreshAhead = 5 * time.Minute

// tokenSource hands out the Bearer token: the private app token, or an
// OAuth access token obtained from the refresh token at /oauth/v1/token,
// renewed ahead of expiry and when a caller reports it rejected. One refresh
// is in flight at a time, shared by every caller.
type tokenSource struct {
	c     *Client
	oauth bool
	auth  config.Auth
	now   func() time.Time

	sem     chan struct{} // held while reading or refreshing
	access  string
	expires time.Time
}

func newTokenSource(c *Client, a config.Auth, now func() time.Time) *tokenSource {
	return &tokenSource{c: c, oauth: a.AccessToken.IsZero(), auth: a, now: now, sem: make(chan struct{}, 1)}
}

// token returns a valid token. stale, when not empty, is a token the API
// just rejected: it is refreshed unless another caller already did.
func (t *tokenSource) token(ctx context.Context, stale string) (string, error) {
	if !t.oauth {
		return t.auth.AccessToken.Reveal(), nil
	}
	select {
	case t.sem <- struct{}{}:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	defer func() { <-t.sem }()
	if t.access != "" && t.access != stale && t.now().Before(t.expires.Add(-refreshAhead)) {
		return t.access, nil
	}
	if err := t.refresh(ctx); err != nil {
		return "", err
	}
	return t.access, nil
}

// tokenResponse is auth-oauth-v1.json's AccessTokenResponse.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
	TokenType    string `json:"token_type"`
}

func (t *tokenSource) refresh(ctx context.Context) error {
	form := url.Values{
		"grant_type":    {"refresh_token"},
		"client_id":     {t.auth.ClientID},
		"client_secret": {t.auth.ClientSecret.Reveal()},
		"refresh_token": {t.auth.RefreshToken.Reveal()},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.c.base+"/oauth/v1/token", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("hubspot: refreshing access token: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	started := t.now()
	resp, err := t.c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("hubspot: refreshing access token: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("hubspot: refreshing access token: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("hubspot: refreshing access token: %w", t.c.vendorError(resp, b))
	}
	var tr tokenResponse
	if err := json.Unmarshal(b, &tr); err != nil || tr.AccessToken == "" {
		return fmt.Errorf("hubspot: refreshing access token: unreadable token response")
	}
	if tr.ExpiresIn <= 0 {
		tr.ExpiresIn = 1800
	}
	t.access = tr.AccessToken
	t.expires = started.Add(time.Duration(tr.ExpiresIn) * time.Second)
	t.c.log.Debug().Time("expires", t.expires).Msg("hubspot access token refreshed")
	return nil
}

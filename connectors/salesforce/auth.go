package salesforce

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/healthsync/healthsync/config"
)

// authenticator builds the token request form of one OAuth flow.
type authenticator interface {
	form() (url.Values, error)
	flow() string
}

func newAuthenticator(cfg config.Connector, login string, now func() time.Time) (authenticator, error) {
	a := cfg.Auth
	need := func(name string, ok bool) error {
		if !ok {
			return fmt.Errorf("auth flow %s needs %s", a.Flow, name)
		}
		return nil
	}
	switch a.Flow {
	case config.FlowClientCredentials, "":
		if err := errors.Join(need("client_id", a.ClientID != ""), need("client_secret", !a.ClientSecret.IsZero())); err != nil {
			return nil, err
		}
		return clientCredentials{a}, nil
	case config.FlowRefreshToken:
		if err := errors.Join(need("client_id", a.ClientID != ""), need("refresh_token", !a.RefreshToken.IsZero())); err != nil {
			return nil, err
		}
		return refreshToken{a}, nil
	case config.FlowJWTBearer:
		if err := errors.Join(need("client_id", a.ClientID != ""), need("username", a.Username != ""),
			need("private_key or private_key_file", !a.PrivateKey.IsZero() || a.PrivateKeyFile != "")); err != nil {
			return nil, err
		}
		pemBytes := []byte(a.PrivateKey.Reveal())
		if a.PrivateKey.IsZero() {
			b, err := os.ReadFile(a.PrivateKeyFile)
			if err != nil {
				return nil, fmt.Errorf("reading private_key_file: %w", err)
			}
			pemBytes = b
		}
		key, err := parseRSAKey(pemBytes)
		if err != nil {
			return nil, err
		}
		return &jwtBearer{clientID: a.ClientID, username: a.Username, aud: jwtAudience(login), key: key, now: now}, nil
	}
	return nil, fmt.Errorf("auth flow %q: want %s, %s or %s", a.Flow, config.FlowClientCredentials, config.FlowJWTBearer, config.FlowRefreshToken)
}

// parseRSAKey reads a PEM RSA private key (PKCS#1 or PKCS#8). Errors never
// include key material.
func parseRSAKey(b []byte) (*rsa.PrivateKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New("private key: no PEM block found")
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, errors.New("private key: not a PKCS#1 or PKCS#8 RSA key")
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, errors.New("private key: not an RSA key")
	}
	return rk, nil
}

type clientCredentials struct{ a config.Auth }

func (f clientCredentials) flow() string { return config.FlowClientCredentials }
func (f clientCredentials) form() (url.Values, error) {
	return url.Values{"grant_type": {"client_credentials"}, "client_id": {f.a.ClientID}, "client_secret": {f.a.ClientSecret.Reveal()}}, nil
}

type refreshToken struct{ a config.Auth }

func (f refreshToken) flow() string { return config.FlowRefreshToken }
func (f refreshToken) form() (url.Values, error) {
	v := url.Values{"grant_type": {"refresh_token"}, "client_id": {f.a.ClientID}, "refresh_token": {f.a.RefreshToken.Reveal()}}
	if !f.a.ClientSecret.IsZero() {
		v.Set("client_secret", f.a.ClientSecret.Reveal())
	}
	return v, nil
}

// jwtAudience is the aud claim of a JWT bearer assertion. Salesforce Help,
// "OAuth 2.0 JWT Bearer Flow for Server-to-Server Integration", allows only
// https://login.salesforce.com or https://test.salesforce.com (or an
// Experience Cloud site), whichever host the token request goes to, even a
// My Domain (simple-salesforce keeps the two apart the same way): a sandbox
// (test.salesforce.com or a *.sandbox.my.salesforce.com My Domain) gets
// test, everything else login.
func jwtAudience(loginURL string) string {
	host := loginURL
	if u, err := url.Parse(loginURL); err == nil {
		host = strings.ToLower(u.Hostname())
	}
	if host == "test.salesforce.com" || strings.HasSuffix(host, ".sandbox.my.salesforce.com") {
		return "https://test.salesforce.com"
	}
	return "https://login.salesforce.com"
}

// jwtBearer signs an RS256 assertion: iss the consumer key, sub the
// username, aud login or test.salesforce.com (jwtAudience), exp three
// minutes ahead (Salesforce Help, "OAuth 2.0 JWT Bearer Flow for
// Server-to-Server Integration").
type jwtBearer struct {
	clientID, username, aud string
	key                     *rsa.PrivateKey
	now                     func() time.Time
}

func (f *jwtBearer) flow() string { return config.FlowJWTBearer }
func (f *jwtBearer) form() (url.Values, error) {
	enc := base64.RawURLEncoding
	hdr := enc.EncodeToString([]byte(`{"alg":"RS256"}`))
	claims, _ := json.Marshal(map[string]any{"iss": f.clientID, "sub": f.username, "aud": f.aud, "exp": f.now().Add(3 * time.Minute).Unix()})
	signing := hdr + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(signing))
	sig, err := rsa.SignPKCS1v15(rand.Reader, f.key, crypto.SHA256, sum[:])
	if err != nil {
		return nil, fmt.Errorf("signing JWT assertion: %w", err)
	}
	return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "assertion": {signing + "." + enc.EncodeToString(sig)}}, nil
}

// tokenResponse is the token endpoint's answer; Salesforce sends no
// expires_in, so a session lives until a call gets 401.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	InstanceURL string `json:"instance_url"`
	ID          string `json:"id"`
	TokenType   string `json:"token_type"`
	IssuedAt    string `json:"issued_at"`
}

// session returns the current access token and instance URL, logging in
// first when there is none. Concurrent callers wait for one login.
func (c *Client) session(ctx context.Context) (tok, inst string, gen uint64, err error) {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if c.token == "" {
		if err := c.authenticate(ctx); err != nil {
			return "", "", 0, err
		}
	}
	return c.token, c.instance, c.gen, nil
}

// reauth replaces the session that failed (generation stale) unless another
// caller already did, so a burst of 401s triggers one login.
func (c *Client) reauth(ctx context.Context, stale uint64) error {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if c.gen != stale && c.token != "" {
		return nil
	}
	return c.authenticate(ctx)
}

// authenticate runs the configured flow; the caller holds authMu.
func (c *Client) authenticate(ctx context.Context) error {
	c.token = ""
	form, err := c.auth.form()
	if err != nil {
		return fmt.Errorf("salesforce %s: %w", c.cfg.Name, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.login+"/services/oauth2/token", strings.NewReader(form.Encode()))
	if err != nil {
		return fmt.Errorf("salesforce %s: building token request: %w", c.cfg.Name, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("salesforce %s: authenticating (%s): %w", c.cfg.Name, c.auth.flow(), err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("salesforce %s: authenticating (%s): reading body: %w", c.cfg.Name, c.auth.flow(), err)
	}
	if resp.StatusCode != http.StatusOK {
		e := toError(resp, b)
		if e.Code == "invalid_grant" && strings.Contains(e.Message, "not supported on this domain") {
			// Salesforce Help, "OAuth 2.0 Client Credentials Flow for
			// Server-to-Server Integration": only the My Domain login URL
			// accepts this flow.
			return fmt.Errorf("salesforce %s: authenticating (%s) on %s: use the org's My Domain URL as login_url (https://YOURDOMAIN.my.salesforce.com): %w",
				c.cfg.Name, c.auth.flow(), c.login, e)
		}
		return fmt.Errorf("salesforce %s: authenticating (%s): %w", c.cfg.Name, c.auth.flow(), e)
	}
	var tr tokenResponse
	if err := json.Unmarshal(b, &tr); err != nil || tr.AccessToken == "" || tr.InstanceURL == "" {
		return fmt.Errorf("salesforce %s: authenticating (%s): token response without access_token or instance_url", c.cfg.Name, c.auth.flow())
	}
	c.token = tr.AccessToken
	c.instance = strings.TrimSuffix(tr.InstanceURL, "/")
	if c.cfg.BaseURL != "" {
		c.instance = strings.TrimSuffix(c.cfg.BaseURL, "/")
	}
	c.gen++
	c.log.Debug().Str("connector", c.cfg.Name).Str("flow", c.auth.flow()).Str("instance", c.instance).Msg("salesforce session opened")
	return nil
}

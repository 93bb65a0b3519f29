package salesforcetest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// token serves /services/oauth2/token for the client credentials, JWT
// bearer and refresh token flows. Shapes follow Salesforce Help "OAuth 2.0
// Client Credentials Flow for Server-to-Server Integration", "OAuth 2.0 JWT
// Bearer Flow for Server-to-Server Integration" and "OAuth 2.0 Refresh Token
// Flow": a 200 with access_token, instance_url, id, token_type, issued_at,
// signature (no expires_in), and on failure a 400 with error and
// error_description. generic marks the generic login host (LoginURL).
func (s *Server) token(generic bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { s.serveToken(w, r, generic) }
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, generic bool) {
	s.Add(r, "token")
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "invalid request body")
		return
	}
	f := r.PostForm
	// The connected app may authenticate with the form's client_id and
	// client_secret or with HTTP Basic (RFC 6749, 2.3.1 "Client Password";
	// simple-salesforce sends client credentials that way).
	clientID, clientSecret := f.Get("client_id"), f.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		clientID, clientSecret = u, p
	}
	switch f.Get("grant_type") {
	case "client_credentials":
		// Salesforce Help, "OAuth 2.0 Client Credentials Flow for
		// Server-to-Server Integration": the token request goes to the
		// org's My Domain login URL; login.salesforce.com and
		// test.salesforce.com answer 400 invalid_grant "request not
		// supported on this domain".
		if generic {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "request not supported on this domain")
			return
		}
		if clientID != s.opts.ClientID {
			oauthError(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
			return
		}
		if clientSecret != s.opts.ClientSecret {
			oauthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
			return
		}
	case "refresh_token":
		if clientID != s.opts.ClientID {
			oauthError(w, http.StatusBadRequest, "invalid_client_id", "client identifier invalid")
			return
		}
		if clientSecret != "" && clientSecret != s.opts.ClientSecret {
			oauthError(w, http.StatusBadRequest, "invalid_client", "invalid client credentials")
			return
		}
		if s.opts.RefreshToken == "" || f.Get("refresh_token") != s.opts.RefreshToken {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "expired access/refresh token")
			return
		}
	case "urn:ietf:params:oauth:grant-type:jwt-bearer":
		if msg := s.checkAssertion(f.Get("assertion")); msg != "" {
			oauthError(w, http.StatusBadRequest, "invalid_grant", msg)
			return
		}
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "grant type not supported")
		return
	}
	s.mu.Lock()
	tok := s.newSession()
	s.mu.Unlock()
	issued := strconv.FormatInt(s.now().UnixMilli(), 10)
	sig := sha256.Sum256([]byte(tok + issued))
	writeJSON(w, http.StatusOK, map[string]string{
		"access_token": tok,
		"signature":    base64.StdEncoding.EncodeToString(sig[:]),
		"scope":        "api",
		"instance_url": s.URL,
		"id":           s.URL + "/id/" + s.orgID + "/" + s.integrationUser,
		"token_type":   "Bearer",
		"issued_at":    issued,
	})
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// checkAssertion verifies an RS256 JWT: signature against the configured
// public key, iss = consumer key, sub = username, aud =
// https://login.salesforce.com or https://test.salesforce.com whichever host
// serves the request (Salesforce Help, "OAuth 2.0 JWT Bearer Flow for
// Server-to-Server Integration"; a My Domain URL is no audience), exp in the
// future. It returns Salesforce's error_description or "".
func (s *Server) checkAssertion(a string) string {
	if s.opts.PublicKey == nil {
		return "invalid assertion"
	}
	parts := strings.Split(a, ".")
	if len(parts) != 3 {
		return "invalid assertion"
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil {
		return "invalid assertion"
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	if json.Unmarshal(hb, &hdr) != nil || hdr.Alg != "RS256" {
		return "invalid assertion"
	}
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(s.opts.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		return "invalid assertion"
	}
	var c struct {
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Aud any    `json:"aud"`
		Exp int64  `json:"exp"`
	}
	if json.Unmarshal(cb, &c) != nil {
		return "invalid assertion"
	}
	if c.Iss != s.opts.ClientID {
		return "invalid_client_id"
	}
	if c.Sub != s.opts.Username {
		return "user hasn't approved this consumer"
	}
	aud, _ := c.Aud.(string)
	aud = strings.TrimSuffix(aud, "/")
	if aud != "https://login.salesforce.com" && aud != "https://test.salesforce.com" {
		return "audience is invalid"
	}
	if c.Exp == 0 || !s.now().Before(time.Unix(c.Exp, 0)) {
		return "expired authorization code"
	}
	return ""
}

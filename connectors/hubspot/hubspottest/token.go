package hubspottest

import (
	"net/http"
	"strconv"
	"time"
)

// handleToken serves POST /oauth/v1/token (auth-oauth-v1.json
// post-/oauth/v1/token_create: form body grant_type, client_id,
// client_secret, refresh_token -> AccessTokenResponse {token_type,
// refresh_token, access_token, expires_in}). Errors follow HubSpot's OAuth
// error body (status BAD_REFRESH_TOKEN / BAD_CLIENT_ID, message,
// correlationId) with HTTP 400.
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusMethodNotAllowed, "VALIDATION_ERROR", "method not allowed", nil)
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "VALIDATION_ERROR", "invalid form body", nil)
		return
	}
	oauthErr := func(status, msg string) {
		writeJSON(w, http.StatusBadRequest, map[string]string{
			"status": status, "message": msg, "correlationId": correlationID(),
		})
	}
	f := r.PostForm
	if f.Get("grant_type") != "refresh_token" {
		oauthErr("BAD_GRANT_TYPE", "grant_type must be refresh_token")
		return
	}
	if s.opts.ClientID == "" || f.Get("client_id") != s.opts.ClientID {
		oauthErr("BAD_CLIENT_ID", "missing or unknown client id")
		return
	}
	if f.Get("client_secret") != s.opts.ClientSecret {
		oauthErr("BAD_CLIENT_SECRET", "missing or invalid client secret")
		return
	}
	if f.Get("refresh_token") != s.opts.RefreshToken {
		oauthErr("BAD_REFRESH_TOKEN", "missing or unknown refresh token")
		return
	}
	s.mu.Lock()
	s.tokenSeq++
	tok := "oat-" + strconv.Itoa(s.tokenSeq) + "-" + correlationID()
	s.tokens[tok] = s.now().Add(s.opts.TokenTTL)
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"token_type":    "bearer",
		"refresh_token": s.opts.RefreshToken,
		"access_token":  tok,
		"expires_in":    int(s.opts.TokenTTL / time.Second),
	})
}

// TokensIssued is the number of access tokens the token endpoint issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenSeq
}

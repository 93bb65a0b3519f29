package httpclient

import (
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/time/rate"

	"github.com/healthsync/healthsync/config"
)

// FromConfig maps a connector's YAML settings to Options; the connector adds
// its Hint and any extra secrets.
func FromConfig(c config.Connector, log zerolog.Logger) Options {
	o := Options{
		Name:         c.Name,
		Timeout:      c.HTTP.Timeout.D(),
		RetryMax:     c.HTTP.RetryMax,
		RetryWaitMin: c.HTTP.RetryWaitMin.D(),
		RetryWaitMax: c.HTTP.RetryWaitMax.D(),
		Limiter:      NewLimiter(c.RateLimit),
		Logger:       log,
	}
	for _, s := range []config.Secret{c.Auth.ClientSecret, c.Auth.PrivateKey, c.Auth.RefreshToken, c.Auth.AccessToken, c.Auth.APIKey} {
		if !s.IsZero() {
			o.Secrets = append(o.Secrets, s.Reveal())
		}
	}
	return o
}

// NewLimiter builds a token bucket of r.Requests per r.Per (burst defaults
// to Requests); nil when the limit is unset.
func NewLimiter(r config.RateLimit) *rate.Limiter {
	if r.Requests <= 0 || r.Per <= 0 {
		return nil
	}
	burst := r.Burst
	if burst <= 0 {
		burst = r.Requests
	}
	return rate.NewLimiter(rate.Every(r.Per.D()/time.Duration(r.Requests)), burst)
}

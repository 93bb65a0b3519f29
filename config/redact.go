package config

import (
	"net/url"
	"slices"

	"github.com/goccy/go-yaml"
)

// Redacted returns the effective configuration (defaults filled in) as
// YAML for `healthsync config show`. Secrets print as <secret>, and so do
// Slack incoming-webhook URLs, whose path is the credential.
func (c *Config) Redacted() []byte {
	cp := *c
	cp.Notify.Subscribers = slices.Clone(c.Notify.Subscribers)
	for i, s := range cp.Notify.Subscribers {
		cp.Notify.Subscribers[i].URL = redactURL(s.URL, s.Format == FormatSlack)
	}
	out, err := yaml.MarshalWithOptions(&cp, yaml.Indent(2), yaml.IndentSequence(true))
	if err != nil {
		// Every type in Config marshals; this is unreachable short of a
		// programming error, which the tests would catch.
		return []byte("# cannot render configuration: " + err.Error() + "\n")
	}
	return out
}

// redactURL hides the query and, when the whole path is a credential, the
// path.
func redactURL(raw string, pathIsSecret bool) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		if raw == "" {
			return ""
		}
		return redacted
	}
	if u.RawQuery != "" {
		u.RawQuery = redacted
	}
	if pathIsSecret && u.Path != "" && u.Path != "/" {
		u.Path = "/" + redacted
		u.RawPath = ""
	}
	s := u.String()
	if unescaped, err := url.PathUnescape(s); err == nil {
		return unescaped
	}
	return s
}

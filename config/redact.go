package config

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/goccy/go-yaml"
)

// Redacted returns the effective configuration (defaults filled in) as
// YAML for `healthsync config show`. Secrets print as <secret>, and so do
// Slack incoming-webhook URLs, whose path is the credential.
func (c *Config) Redacted() []byte {
	out, err := yaml.MarshalWithOptions(c, yaml.Indent(2), yaml.IndentSequence(true))
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

// subscriberFields is Subscriber without its methods, for printing.
type subscriberFields Subscriber

// redacted returns the subscriber with credentials in its URL hidden: the
// query, and the whole path of a Slack incoming-webhook URL.
func (s Subscriber) redacted() subscriberFields {
	s.URL = redactURL(s.URL, s.Format == FormatSlack)
	return subscriberFields(s)
}

// String prints the subscriber with its URL redacted.
func (s Subscriber) String() string { return fmt.Sprintf("%+v", s.redacted()) }

// GoString keeps %#v from printing the URL's credentials.
func (s Subscriber) GoString() string { return fmt.Sprintf("config.Subscriber%+v", s.redacted()) }

// MarshalJSON writes the subscriber with its URL redacted.
func (s Subscriber) MarshalJSON() ([]byte, error) { return json.Marshal(s.redacted()) }

// MarshalYAML writes the subscriber with its URL redacted.
func (s Subscriber) MarshalYAML() (any, error) { return s.redacted(), nil }

package config

import "encoding/json"

// Secret holds a credential read from the configuration. It redacts itself in
// every textual form (fmt, JSON, YAML) so it cannot reach a log line, an error
// or the store by accident; Reveal is the one explicit way to read it.
type Secret struct{ value string }

// NewSecret wraps a credential; used by tests and the demo.
func NewSecret(v string) Secret { return Secret{value: v} }

// Reveal returns the credential. Call it only where the credential is sent.
func (s Secret) Reveal() string { return s.value }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.value == "" }

const redacted = "<secret>"

// String returns "<secret>" (or "" when empty).
func (s Secret) String() string {
	if s.value == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return "config.Secret(" + s.String() + ")" }

// MarshalJSON writes "<secret>".
func (s Secret) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

// MarshalYAML writes "<secret>".
func (s Secret) MarshalYAML() (any, error) { return s.String(), nil }

// MarshalText writes "<secret>".
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads the credential (after ${VAR} expansion).
func (s *Secret) UnmarshalText(b []byte) error { s.value = string(b); return nil }

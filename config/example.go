package config

import _ "embed"

//go:embed example.yaml
var example []byte

// Example returns a fully commented configuration that covers every option,
// for `healthsync config example`. It validates with no environment set:
// every credential is a ${VAR:-placeholder} reference.
func Example() []byte {
	return append([]byte(nil), example...)
}

// Package config is the YAML schema ops admins write: strict decoding,
// ${VAR} expansion, defaults, and validation that reports every problem at
// once as FILE:LINE:COL: key.path: message. Credentials are Secret values that
// redact themselves. It is a leaf package.
package config

// Package config is the YAML schema ops admins write: strict decoding,
// ${VAR} expansion, defaults, and validation that reports every problem at
// once as FILE:LINE:COL: key.path: message. Credentials are Secret values that
// redact themselves. Of this module it imports only scoring, whose settings
// and task rules the scoring and tasks sections hold.
//
// Load(path) reads a file with the process environment; Parse(name, data,
// env) does the same for bytes and a given environment. Both return a
// *Config with defaults filled in, or an *Errors listing every problem.
// Example returns the commented example that `healthsync config example`
// prints, and (*Config).Redacted the effective configuration that
// `healthsync config show` prints. ParseSchedule parses cron specs exactly as
// validation does.
//
// Connector kinds are a table of defaults and checks per kind (Kind): the
// four built-in kinds are in it from the start, and cmd/healthsync's wire
// table registers any other (RegisterKind) with the vendor package's own
// functions, so this package stays free of vendor imports.
package config

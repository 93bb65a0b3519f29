// Package replicatest holds the multi-replica test of issue 16: several
// `healthsync run` processes on one PostgreSQL database in front of the
// vendor fakes, one killed with SIGKILL while it holds work. It has no code
// of its own; the test builds the binary and drives it.
package replicatest

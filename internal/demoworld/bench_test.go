package demoworld

import "testing"

// BenchmarkGenerateAndLoad measures the demo's seeding: Generate for the
// default 300 accounts and loading all four fakes.
func BenchmarkGenerateAndLoad(b *testing.B) {
	for b.Loop() {
		w := Generate(Options{Accounts: 300, Seed: 1, Now: testNow})
		load(b, w)
		_ = w.Signals()
	}
}

// BenchmarkGenerate measures planning alone.
func BenchmarkGenerate(b *testing.B) {
	for b.Loop() {
		Generate(Options{Accounts: 300, Seed: 1, Now: testNow})
	}
}

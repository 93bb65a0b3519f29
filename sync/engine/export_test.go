package engine

// SetCrashAfterCRMWrite makes e stop, as a killed process would, after the
// CRM accepted a record batch and before the batch is recorded.
func SetCrashAfterCRMWrite(e *Engine, f func(connector string) error) { e.hooks.afterCRMWrite = f }

// SetCrashAfterTaskCreate makes e stop after the CRM created tasks and
// before they are recorded.
func SetCrashAfterTaskCreate(e *Engine, f func(connector string) error) { e.hooks.afterTaskCreate = f }

// SetLedgerMirrorMax bounds the write ledger's mirror (ownwrites.go) for
// the test's duration.
func SetLedgerMirrorMax(t interface{ Cleanup(func()) }, n int) {
	old := ledgerMirrorMax
	ledgerMirrorMax = n
	t.Cleanup(func() { ledgerMirrorMax = old })
}

// LedgerMirrorSize is how many records of connector the mirror holds.
func LedgerMirrorSize(e *Engine, connector string) int {
	e.dmu.Lock()
	defer e.dmu.Unlock()
	if e.dirty == nil {
		return 0
	}
	return len(e.dirty.written[connector])
}

package engine

// SetCrashAfterCRMWrite makes e stop, as a killed process would, after the
// CRM accepted a record batch and before the batch is recorded.
func SetCrashAfterCRMWrite(e *Engine, f func(connector string) error) { e.hooks.afterCRMWrite = f }

// SetCrashAfterTaskCreate makes e stop after the CRM created tasks and
// before they are recorded.
func SetCrashAfterTaskCreate(e *Engine, f func(connector string) error) { e.hooks.afterTaskCreate = f }

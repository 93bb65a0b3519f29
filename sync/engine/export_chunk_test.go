package engine

// SetChunkSize sets how many accounts a full reconcile scores per chunk.
func SetChunkSize(e *Engine, n int) { e.chunk = n }

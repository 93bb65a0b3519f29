package schedule

import "context"

// JobLock lets replicas that share a store share one schedule: a run goes
// ahead only on the replica that takes the job's lock, so each scheduled
// pull and reconcile runs on one replica at a time. The PostgreSQL store
// implements it with a session advisory lock per job; a nil JobLock (the
// bbolt store, one process) means every run goes ahead.
type JobLock interface {
	// TryLock takes job's lock without waiting. ok false (and a nil
	// error) means another holder has it. When ok, unlock releases it and
	// must be called once, after the run. An error means the lock could not
	// be asked for (the database is away); the run is skipped too.
	TryLock(ctx context.Context, job string) (unlock func(), ok bool, err error)
}

// Option configures a Scheduler.
type Option func(*Scheduler)

// WithJobLock makes every run take its job's lock first and skip the tick
// when it cannot (another replica holds it, or the lock is unavailable).
func WithJobLock(l JobLock) Option { return func(s *Scheduler) { s.lock = l } }

// Skips counts the runs of one job that a JobLock turned away.
type Skips struct {
	// Held: another replica held the job's lock.
	Held int64 `json:"held"`
	// Failed: the lock could not be asked for (TryLock failed).
	Failed int64 `json:"failed"`
}

// LockSkips returns, by job name, the runs skipped for the job's lock since
// New; jobs never skipped have no entry.
func (s *Scheduler) LockSkips() map[string]Skips {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]Skips, len(s.skips))
	for name, n := range s.skips {
		out[name] = n
	}
	return out
}

// lockRun takes name's lock for one run. It returns ok false when the run
// must be skipped, having logged and counted why.
func (s *Scheduler) lockRun(ctx context.Context, name string) (unlock func(), ok bool) {
	if s.lock == nil {
		return func() {}, true
	}
	unlock, ok, err := s.lock.TryLock(ctx, name)
	if err == nil && ok {
		return unlock, true
	}
	s.mu.Lock()
	n := s.skips[name]
	if err != nil {
		n.Failed++
	} else {
		n.Held++
	}
	s.skips[name] = n
	s.mu.Unlock()
	if err != nil {
		s.log.Warn().Err(err).Str("job", name).Msg("job lock unavailable, skipped")
	} else {
		s.log.Info().Str("job", name).Msg("job running on another replica, skipped")
	}
	return nil, false
}

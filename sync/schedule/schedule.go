// Package schedule runs healthsync's periodic jobs on robfig/cron: specs with
// optional seconds, descriptors (@every 10m, @hourly) and CRON_TZ=, a job that
// never overlaps itself, panics recovered and logged, a run ID in every job's
// logger, and a Stop that waits for jobs in flight.
package schedule

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	"github.com/rs/zerolog"
)

// parser accepts 5 or 6 fields (seconds optional), descriptors and CRON_TZ=.
var parser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// Parse checks a schedule spec the way the scheduler will read it:
// "*/15 * * * *", "0 */5 * * * *" (with seconds), "@every 10m",
// "CRON_TZ=Asia/Tokyo 0 9 * * 1-5".
func Parse(spec string) error {
	_, err := parser.Parse(spec)
	return err
}

// Next returns the first activation of spec after from.
func Next(spec string, from time.Time) (time.Time, error) {
	s, err := parser.Parse(spec)
	if err != nil {
		return time.Time{}, err
	}
	return s.Next(from), nil
}

// ErrStopped is returned by Add and RunNow after Stop.
var ErrStopped = errors.New("scheduler stopped")

// Scheduler runs named jobs on cron schedules.
type Scheduler struct {
	log  zerolog.Logger
	cron *cron.Cron

	// ctx is the parent of every run's context; cancel ends it when Stop
	// gives up waiting.
	ctx    context.Context
	cancel context.CancelFunc

	// lock, when set, is taken around every run (see JobLock); set by New
	// and read-only after.
	lock JobLock

	mu       sync.Mutex
	jobs     map[string]*job
	skips    map[string]Skips // guarded by mu: runs the lock turned away
	running  sync.WaitGroup   // runs in flight
	stopped  bool
	stopping chan struct{} // closed when Stop begins
}

type job struct {
	name string
	spec string
	id   cron.EntryID
	run  cron.Job // the chained job: SkipIfStillRunning(Recover(run))
}

// New returns a scheduler that logs through log.
func New(log zerolog.Logger, opts ...Option) *Scheduler {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Scheduler{
		log:      log,
		cron:     cron.New(cron.WithParser(parser), cron.WithLogger(cronLogger{log}), cron.WithLocation(time.UTC)),
		ctx:      ctx,
		cancel:   cancel,
		jobs:     map[string]*job{},
		skips:    map[string]Skips{},
		stopping: make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Add schedules fn under a unique name. Each run gets a context that is
// cancelled when Stop stops waiting for it, and carries a logger (see
// zerolog.Ctx) with the job name and a fresh run ID. A run that is still
// going when the schedule fires again makes that firing a no-op, and a
// panic is logged and recovered. With a JobLock (WithJobLock), a run whose
// lock another replica holds is skipped, logged and counted (LockSkips).
func (s *Scheduler) Add(name, spec string, fn func(ctx context.Context)) error {
	sched, err := parser.Parse(spec)
	if err != nil {
		return fmt.Errorf("scheduling %s: %w", name, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return ErrStopped
	}
	if _, dup := s.jobs[name]; dup {
		return fmt.Errorf("scheduling %s: a job with that name exists", name)
	}
	j := &job{name: name, spec: spec, run: s.chain(name, fn)}
	j.id = s.cron.Schedule(sched, j.run)
	s.jobs[name] = j
	return nil
}

// chain wraps fn with run bookkeeping, then Recover, then
// SkipIfStillRunning. Recover sits inside the skip guard because cron v3's
// guard does not release itself when the job panics.
func (s *Scheduler) chain(name string, fn func(ctx context.Context)) cron.Job {
	l := cronLogger{s.log.With().Str("job", name).Logger()}
	return cron.NewChain(cron.SkipIfStillRunning(l), cron.Recover(l)).Then(cron.FuncJob(func() { s.run(name, fn) }))
}

// run executes one run of a job unless the scheduler is stopping.
func (s *Scheduler) run(name string, fn func(ctx context.Context)) {
	s.mu.Lock()
	if s.stopped {
		s.mu.Unlock()
		return
	}
	s.running.Add(1)
	s.mu.Unlock()
	defer s.running.Done()

	unlock, ok := s.lockRun(s.ctx, name)
	if !ok {
		return
	}
	defer unlock()

	id := newRunID()
	log := s.log.With().Str("job", name).Str("run_id", id).Logger()
	ctx := log.WithContext(context.WithValue(s.ctx, runIDKey{}, id))
	start := time.Now()
	log.Debug().Msg("job started")
	defer func() {
		// Logged on the way out, panics included (Recover logs the panic).
		log.Debug().Int64("took_ms", time.Since(start).Milliseconds()).Msg("job finished")
	}()
	fn(ctx)
}

// RunNow starts one run of a named job in the background, through the same
// guard as scheduled runs (skipped if the job is running).
func (s *Scheduler) RunNow(name string) error {
	s.mu.Lock()
	j, ok := s.jobs[name]
	stopped := s.stopped
	s.mu.Unlock()
	switch {
	case stopped:
		return ErrStopped
	case !ok:
		return fmt.Errorf("running %s: no such job", name)
	}
	go j.run.Run()
	return nil
}

// Start begins scheduling. It does not block.
func (s *Scheduler) Start() { s.cron.Start() }

// Stop stops scheduling and waits for runs in flight until they finish or
// ctx ends. When ctx ends first, Stop cancels the runs' contexts, waits for
// them to return and reports ctx's error.
func (s *Scheduler) Stop(ctx context.Context) error {
	s.mu.Lock()
	if !s.stopped {
		s.stopped = true
		close(s.stopping)
	}
	s.mu.Unlock()
	s.cron.Stop()
	done := make(chan struct{})
	go func() {
		s.running.Wait()
		close(done)
	}()
	select {
	case <-done:
		s.cancel()
		return nil
	case <-ctx.Done():
		s.log.Warn().Msg("cancelling jobs still running at shutdown deadline")
		s.cancel()
		<-done
		return ctx.Err()
	}
}

// Entry describes one scheduled job.
type Entry struct {
	Name string    `json:"name"`
	Spec string    `json:"spec"`
	Next time.Time `json:"next"` // zero before Start
	Prev time.Time `json:"prev"` // zero if it has not run
}

// Entries lists the scheduled jobs by name.
func (s *Scheduler) Entries() []Entry {
	s.mu.Lock()
	jobs := make([]*job, 0, len(s.jobs))
	for _, j := range s.jobs {
		jobs = append(jobs, j)
	}
	s.mu.Unlock()
	out := make([]Entry, 0, len(jobs))
	for _, j := range jobs {
		e := s.cron.Entry(j.id)
		out = append(out, Entry{Name: j.name, Spec: j.spec, Next: e.Next, Prev: e.Prev})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Name < out[b].Name })
	return out
}

// Upcoming lists the jobs by name with their next run after now computed
// from their specs: unlike Entries it does not depend on the cron loop
// having started, so the start-up log line can show it.
func (s *Scheduler) Upcoming(now time.Time) []Entry {
	out := s.Entries()
	for i := range out {
		if next, err := Next(out[i].Spec, now); err == nil {
			out[i].Next = next.UTC()
		}
	}
	return out
}

type runIDKey struct{}

// RunID returns the run ID of the job run ctx belongs to, or "".
func RunID(ctx context.Context) string {
	id, _ := ctx.Value(runIDKey{}).(string)
	return id
}

// NewRunID returns a fresh run ID: 16 hex digits, time-ordered in its first
// half, random in the second.
func NewRunID() string { return newRunID() }

func newRunID() string {
	var b [8]byte
	ms := uint32(time.Now().UnixMilli())
	b[0], b[1], b[2], b[3] = byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	_, _ = rand.Read(b[4:])
	return hex.EncodeToString(b[:])
}

// cronLogger adapts zerolog to cron.Logger. cron's routine messages (wake,
// run, schedule) go to debug; a skipped firing is info; errors (a recovered
// panic, with its stack) are errors.
type cronLogger struct{ log zerolog.Logger }

func (l cronLogger) Info(msg string, kv ...any) {
	lvl := zerolog.DebugLevel
	if msg == "skip" {
		lvl = zerolog.InfoLevel
		msg = "job still running, skipped"
	}
	l.log.WithLevel(lvl).Fields(fields(kv)).Msg(msg)
}

func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error().Err(err).Fields(fields(kv)).Msg(msg)
}

// fields turns cron's key/value list into a map, formatting times.
func fields(kv []any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		k := fmt.Sprint(kv[i])
		if t, ok := kv[i+1].(time.Time); ok {
			m[k] = t.UTC()
			continue
		}
		m[k] = kv[i+1]
	}
	return m
}

package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/rs/zerolog"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/connectors/record"
	"github.com/healthsync/healthsync/sync/engine"
	"github.com/healthsync/healthsync/sync/notify"
	"github.com/healthsync/healthsync/sync/schedule"
	"github.com/healthsync/healthsync/sync/store"
	"github.com/healthsync/healthsync/sync/webhook"
)

// Options configure the daemon.
type Options struct {
	Config   *config.Config
	Store    store.Store
	Engine   *engine.Engine
	Webhooks []webhook.Source
	Notifier *notify.Notifier
	Registry *prometheus.Registry
	Logger   zerolog.Logger
	// Listener, when set, is used instead of listening on server.listen
	// (tests and the demo pick a free port).
	Listener net.Listener
	// Started is called once the daemon serves and the scheduler runs.
	Started func(addr string)
	// NoSchedule skips the cron jobs (the demo drives passes itself).
	NoSchedule bool
	// SyncNow runs every connector's pull once at start instead of waiting
	// for its first scheduled time (`healthsync run --sync-now`).
	SyncNow bool
	// SetupHubSpot, when set, is served as POST /api/setup/hubspot so that
	// `healthsync setup hubspot` works while the daemon holds the store.
	SetupHubSpot func(ctx context.Context, connector string) (any, error)
	// SignalSystems are the record systems a usage signal's account key
	// may name (empty: any lower-case system name).
	SignalSystems []string
}

// Daemon is a running healthsync process.
type Daemon struct {
	o       Options
	ready   atomic.Bool
	workers *webhook.Workers
	gate    *storeGate
	handler *webhook.Handler
	Addr    string
}

// New prepares a daemon; Run starts it.
func New(o Options) *Daemon {
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	return &Daemon{o: o}
}

// Run serves until ctx ends, then stops accepting work, finishes in-flight
// jobs within server.shutdown_timeout and returns. The caller closes the
// store.
func (d *Daemon) Run(ctx context.Context) error {
	o := d.o
	cfg := o.Config
	log := o.Logger
	reg := o.Registry
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(newConnectorCollector(o.Engine, o.Store))
	wm := webhook.NewMetrics(reg)

	var ping func(context.Context) error
	if p, ok := o.Store.(pinger); ok {
		ping = p.Ping
	}
	gate := newStoreGate(o.Store, ping, gateInterval, log.With().Str("component", "webhook").Logger())
	workers := webhook.NewWorkers(webhook.WorkerOptions{Queue: gate, Processor: o.Engine, Workers: cfg.Webhooks.Workers,
		MaxAttempts: cfg.Webhooks.MaxAttempts, StuckAfter: cfg.Webhooks.StuckAfter.D(), Metrics: wm,
		BatchSize: cfg.Webhooks.BatchSize, BatchWait: cfg.Webhooks.BatchWait.D(), Logger: log.With().Str("component", "webhook").Logger()})
	gate.pause = workers.Pause
	d.workers, d.gate = workers, gate
	var signals *webhook.SignalsEndpoint
	if !cfg.Webhooks.SignalsToken.IsZero() {
		used := usedSignals(&cfg.Scoring)
		unused := prometheus.NewCounter(prometheus.CounterOpts{Name: "healthsync_signals_unused_total",
			Help: "Usage signals received whose metric no health measure, onboarding criterion or KPI reads."})
		reg.MustRegister(unused)
		signals = &webhook.SignalsEndpoint{Token: cfg.Webhooks.SignalsToken, Store: signalStore{o.Store}, Systems: o.SignalSystems, Used: func(metric string) bool {
			if used[metric] {
				return true
			}
			unused.Inc()
			return false
		}}
	}
	d.handler = webhook.NewHandler(webhook.Options{Sources: o.Webhooks, Queue: o.Store, MaxBody: cfg.Webhooks.MaxBodyBytes,
		Signals: signals, Metrics: wm, Logger: log, Notify: workers.Wake})

	api := NewAPI(o.Engine, o.Store, log)
	api.wake = workers.Wake
	api.setupHubSpot = o.SetupHubSpot
	answers := storeAnswers(o.Store)
	ready := func() bool { return d.ready.Load() && !workers.Stuck() && answers() }
	routes := Routes{APIToken: cfg.Server.APIToken, Ready: ready, Metrics: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}),
		API: api, Report: http.HandlerFunc(api.serveReportHTML), Webhooks: d.handler}
	srv := &http.Server{Handler: webhook.Recover(NewMux(routes), wm, log), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second}
	// Replicas sharing a store run each scheduled job on one of them at a
	// time: the store's JobLock (PostgreSQL's advisory locks) decides.
	var schedOpts []schedule.Option
	if l, ok := o.Store.(schedule.JobLock); ok {
		schedOpts = append(schedOpts, schedule.WithJobLock(l))
	}
	sched := schedule.New(log, schedOpts...)
	reg.MustRegister(newScheduleCollector(sched))
	if !o.NoSchedule {
		for _, c := range o.Engine.Connectors() {
			name := c.Name()
			err := sched.Add("pull:"+name, c.Config.Schedule, func(ctx context.Context) {
				l := log.With().Str("run", schedule.RunID(ctx)).Str("connector", name).Logger()
				if _, err := o.Engine.Sync(ctx, engine.SyncOptions{Connector: name}); err != nil {
					l.Error().Err(err).Msg("scheduled sync failed")
				}
			})
			if err != nil {
				return fmt.Errorf("scheduling %s: %w", name, err)
			}
		}
		if spec := cfg.Engine.ReconcileSchedule; spec != "" {
			err := sched.Add("reconcile", spec, func(ctx context.Context) {
				if _, err := o.Engine.Sync(ctx, engine.SyncOptions{NoPull: true}); err != nil {
					log.Error().Err(err).Str("run", schedule.RunID(ctx)).Msg("scheduled reconcile failed")
				}
				if err := o.Engine.Housekeeping(time.Now()); err != nil {
					log.Error().Err(err).Msg("store housekeeping failed")
				}
			})
			if err != nil {
				return fmt.Errorf("scheduling reconcile: %w", err)
			}
		}
	}

	ln := o.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", cfg.Server.Listen); err != nil {
			return fmt.Errorf("listening on %s: %w", cfg.Server.Listen, err)
		}
	}
	d.Addr = ln.Addr().String()
	var metricsSrv *http.Server
	if cfg.Server.MetricsListen != "" {
		mln, err := net.Listen("tcp", cfg.Server.MetricsListen)
		if err != nil {
			ln.Close()
			return fmt.Errorf("listening on %s: %w", cfg.Server.MetricsListen, err)
		}
		metricsSrv = &http.Server{Handler: NewMux(Routes{Metrics: routes.Metrics, MetricsOpen: true, Ready: ready}),
			ReadHeaderTimeout: 10 * time.Second}
		go metricsSrv.Serve(mln)
	}

	// Background workers share one context, stopped after the server.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); workers.Run(bg) }()
	go func() { defer wg.Done(); gate.Run(bg) }()
	if o.Notifier != nil {
		wg.Add(1)
		go func() { defer wg.Done(); o.Notifier.Run(bg, time.Second) }()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	sched.Start()
	d.ready.Store(true)
	schedules := zerolog.Arr()
	upcoming := sched.Upcoming(time.Now())
	for _, en := range upcoming {
		schedules.Dict(zerolog.Dict().Str("job", en.Name).Str("spec", en.Spec).Time("next", en.Next))
	}
	log.Info().Str("addr", d.Addr).Int("jobs", len(upcoming)).Array("schedules", schedules).Bool("sync_now", o.SyncNow && !o.NoSchedule).
		Msg("healthsync running")
	if o.SyncNow && !o.NoSchedule {
		for _, c := range o.Engine.Connectors() {
			if err := sched.RunNow("pull:" + c.Name()); err != nil {
				log.Warn().Err(err).Str("job", "pull:"+c.Name()).Msg("first pull not started")
			}
		}
	}
	if !o.NoSchedule {
		wg.Add(1)
		go func() {
			defer wg.Done()
			problems, err := o.Engine.Preflight(bg)
			if err != nil {
				log.Warn().Err(err).Msg("preflight could not run")
			}
			for conn, ps := range problems {
				for _, p := range ps {
					log.Warn().Str("connector", conn).Str("object", p.Object).Str("field", p.Field).Str("problem", p.Problem).
						Msg("mapped CRM field unusable: writes to it will fail")
				}
			}
		}()
	}
	if o.Started != nil {
		o.Started(d.Addr)
	}

	var err error
	select {
	case <-ctx.Done():
	case err = <-serveErr:
	}
	d.ready.Store(false)
	log.Info().Msg("shutting down")
	timeout := cfg.Server.ShutdownTimeout.D()
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	// Stop accepting webhooks first, then let in-flight jobs finish.
	if shErr := srv.Shutdown(sctx); shErr != nil {
		err = errors.Join(err, fmt.Errorf("http shutdown: %w", shErr))
	}
	if metricsSrv != nil {
		metricsSrv.Shutdown(sctx)
	}
	// Stop the workers and the notifier together with the scheduler: an
	// event in flight is left unacknowledged and resumes at the next start.
	stopBG()
	if stErr := sched.Stop(sctx); stErr != nil {
		err = errors.Join(err, fmt.Errorf("stopping jobs: %w", stErr))
	}
	// Always wait: the caller closes the store after Run returns.
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	log.Info().Msg("stopped")
	return err
}

// PauseWorkers pauses or resumes webhook processing (receiving goes on).
func (d *Daemon) PauseWorkers(p bool) {
	if d.gate != nil {
		d.gate.hold(p)
	}
}

// Handler returns the webhook handler (after Run started).
func (d *Daemon) Handler() *webhook.Handler { return d.handler }

type signalStore struct{ st store.SignalStore }

func (s signalStore) AddSignals(sg []record.Signal) error { _, err := s.st.AddSignals(sg); return err }

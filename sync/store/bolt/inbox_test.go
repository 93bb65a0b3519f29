package bolt

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/healthsync/healthsync/sync/store"
)

// pause stops the inbox log's mover: logged events stay out of bbolt.
func (in *inbox) pause() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.paused = true
}

// crash ends s as a killed process would leave it: nothing logged is
// moved, the log's files stay, bbolt keeps what it committed.
func crash(t *testing.T, s *Store) {
	t.Helper()
	s.inbox.mu.Lock()
	s.inbox.abandon = true
	s.inbox.mu.Unlock()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// later is a claim time after every event the tests queue with the real
// clock.
func later() time.Time { return time.Now().Add(time.Hour) }

func mustEnqueue(t *testing.T, s *Store, events ...store.QueuedEvent) []bool {
	t.Helper()
	dup, err := s.Enqueue(events)
	if err != nil {
		t.Fatal(err)
	}
	return dup
}

func openInboxTest(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	s, err := Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// rawQueue reads the queue bucket of the closed store file at path with
// bbolt alone (no replay of the log): the events' IDs in Seq order and the
// bucket's sequence.
func rawQueue(t *testing.T, path string) (ids []string, seq uint64) {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ids = []string{}
	err = db.View(func(tx *bbolt.Tx) error {
		q := tx.Bucket(bucketQueue)
		seq = q.Sequence()
		return q.ForEach(func(k, v []byte) error {
			e, err := decodeQueued(k, v)
			ids = append(ids, e.Event.ID)
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids, seq
}

// claimAll claims every claimable event and returns their IDs in Seq order.
func claimAll(t *testing.T, s *Store) []store.QueuedEvent {
	t.Helper()
	es, err := s.Claim(10000, later())
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// The kill -9 test re-executes the test binary as a child (TestMain) that
// enqueues events while the mover is stopped, printing "acked ID" after
// each Enqueue returns, then "ready", and waits to be SIGKILLed.
const inboxCrashEnv = "HEALTHSYNC_INBOX_CRASH_CHILD"

func inboxCrashChild(path string) {
	fail := func(err error) {
		fmt.Println("error", err)
		os.Exit(1)
	}
	s, err := Open(path, Options{})
	if err != nil {
		fail(err)
	}
	// Four events reach bbolt; a1 is processed and acknowledged, a2 is in
	// flight at the kill.
	if _, err := s.Enqueue(distinct(ev("billing", "a1", "A1"), ev("billing", "a2", "A2"), ev("billing", "a3", "A3"), ev("billing", "a4", "A4"))); err != nil {
		fail(err)
	}
	claimed, err := s.Claim(2, later())
	if err != nil || len(claimed) != 2 {
		fail(fmt.Errorf("claimed %v: %v", claimed, err))
	}
	if err := s.Ack(claimed[0].Seq); err != nil {
		fail(err)
	}
	s.inbox.pause()
	done := make(chan error)
	for w := range 4 {
		go func() {
			for i := range 5 {
				id := fmt.Sprintf("b%d%d", w, i)
				if _, err := s.Enqueue(distinct(ev("billing", id, "B"+id))); err != nil {
					done <- err
					return
				}
				fmt.Println("acked", id)
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			fail(err)
		}
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
}

// TestInboxKill9 (issue 14): a process acknowledges enqueues that are only
// in the inbox log (its mover stopped) and is SIGKILLed; after a reopen
// every acknowledged event is claimable exactly once, the event acknowledged
// (processed) before the kill is not, and a redelivery is a duplicate.
func TestInboxKill9(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), inboxCrashEnv+"="+path)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var acked []string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if line == "ready" {
			break
		}
		id, ok := strings.CutPrefix(line, "acked ")
		if !ok {
			cmd.Process.Kill()
			t.Fatalf("child: %s", line)
		}
		acked = append(acked, id)
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if len(acked) != 20 {
		t.Fatalf("child acknowledged %d events, want 20", len(acked))
	}
	// The acknowledged events are in the log only.
	if ids, _ := rawQueue(t, path); !reflect.DeepEqual(ids, []string{"a2", "a3", "a4"}) {
		t.Fatalf("bbolt queue before the reopen %v, want a2 a3 a4 (the b events only in the log)", ids)
	}

	s := openInboxTest(t, path, Options{})
	// The per-connector count (queuecount.go) includes what the reopen
	// replayed from the log.
	if n, err := s.QueueDepthOf("billing"); err != nil || n != 3+len(acked) {
		t.Fatalf("QueueDepthOf after the kill %d (%v), want %d", n, err, 3+len(acked))
	}
	var got []string
	for _, e := range claimAll(t, s) {
		got = append(got, e.Event.ID)
	}
	want := append([]string{"a2", "a3", "a4"}, acked...)
	slices.Sort(got)
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("claimable after the kill %v, want %v", got, want)
	}
	if dup := mustEnqueue(t, s, ev("billing", acked[7], "X"), ev("billing", "a1", "A1")); !reflect.DeepEqual(dup, []bool{true, true}) {
		t.Fatalf("redelivery after the kill: dup %v, want both duplicates", dup)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The replayed events are not replayed again.
	s = openInboxTest(t, path, Options{})
	if n, _, err := s.QueueDepth(); err != nil || n != len(want) {
		t.Fatalf("queue depth after a second reopen %d (%v), want %d", n, err, len(want))
	}
}

// activeSegment returns the path, generation and end of the valid records
// of the newest segment in the log beside path.
func activeSegment(t *testing.T, path string) (string, uint64, int) {
	t.Helper()
	files, err := filepath.Glob(path + ".inbox/*.log")
	if err != nil || len(files) == 0 {
		t.Fatalf("no inbox segment (%v)", err)
	}
	var best string
	var gen uint64
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if g, ok := parseSegHeader(data); ok && g >= gen {
			best, gen = f, g
		}
	}
	data, err := os.ReadFile(best)
	if err != nil {
		t.Fatal(err)
	}
	_, end := scanSegment(data, gen)
	return best, gen, end
}

// TestInboxTornTailIgnored (issue 14): what follows the last complete,
// fsynced record of the log (a record cut short by a crash, one whose CRC
// does not match, one left by an earlier generation of a recycled file) is
// not an event: the reopened queue holds exactly the acknowledged ones and
// the cut event's ID is not a duplicate.
func TestInboxTornTailIgnored(t *testing.T) {
	body := func(seq uint64) []byte {
		e := ev("billing", "torn", "T")
		e.Enqueued, e.Due, e.Key = t0, t0, e.OrderKey()
		val, err := queueValue(&e)
		if err != nil {
			t.Fatal(err)
		}
		b := logBody(joinKey("billing", "torn"), t0.Add(time.Hour), val)
		setBodySeq(b, seq)
		return b
	}
	cases := []struct {
		name string
		tail func(gen uint64) []byte
	}{
		{"cut short", func(gen uint64) []byte { r := appendRecord(nil, gen, body(4)); return r[:len(r)/2] }},
		{"header only", func(gen uint64) []byte { return appendRecord(nil, gen, body(4))[:recHeaderSize] }},
		{"bad crc", func(gen uint64) []byte { r := appendRecord(nil, gen, body(4)); r[len(r)-3] ^= 0xff; return r }},
		{"earlier generation", func(gen uint64) []byte { return appendRecord(nil, gen-1, body(4)) }},
		{"seq not after the last", func(gen uint64) []byte { return appendRecord(nil, gen, body(3)) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "h.db")
			opts := Options{segmentSize: 64 << 10}
			s := openInboxTest(t, path, opts)
			s.inbox.pause()
			mustEnqueue(t, s, distinct(ev("billing", "e1", "A"), ev("billing", "e2", "B"))...)
			mustEnqueue(t, s, distinct(ev("billing", "e3", "C"))...)
			crash(t, s)

			seg, gen, end := activeSegment(t, path)
			f, err := os.OpenFile(seg, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.WriteAt(c.tail(gen), int64(end)); err != nil {
				t.Fatal(err)
			}
			f.Close()

			s = openInboxTest(t, path, opts)
			if got := eventIDs(claimAll(t, s)); !reflect.DeepEqual(got, []string{"e1", "e2", "e3"}) {
				t.Fatalf("claimable after the reopen %v, want e1 e2 e3", got)
			}
			if dup := mustEnqueue(t, s, ev("billing", "torn", "T")); !reflect.DeepEqual(dup, []bool{false}) {
				t.Fatalf("the torn event's ID: dup %v, want not a duplicate", dup)
			}
		})
	}
}

// TestInboxDuplicates (issue 14): an event ID is a duplicate whether its
// first delivery is still only in the log, already in bbolt, earlier in the
// same call, or in the log a crash left.
func TestInboxDuplicates(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s := openInboxTest(t, path, Options{})
	s.inbox.pause()
	steps := []struct {
		name   string
		before func()
		events []store.QueuedEvent
		want   []bool
	}{
		{"first delivery", nil, []store.QueuedEvent{ev("billing", "x", "X")}, []bool{false}},
		{"logged, not moved; twice in one call", nil,
			[]store.QueuedEvent{ev("billing", "x", "X"), ev("billing", "y", "Y"), ev("billing", "y", "Y")}, []bool{true, false, true}},
		{"another connector is another ID", nil, []store.QueuedEvent{ev("crm", "x", "X")}, []bool{false}},
		{"in bbolt", func() {
			s.inbox.mu.Lock()
			s.inbox.paused = false
			s.inbox.movable.Broadcast()
			s.inbox.mu.Unlock()
			if err := s.caughtUp(); err != nil {
				t.Fatal(err)
			}
			if ids, _, err := s.QueueDepth(); err != nil || ids != 3 {
				t.Fatalf("queue depth %d (%v), want 3 moved", ids, err)
			}
			s.inbox.pause()
		}, []store.QueuedEvent{ev("billing", "x", "X"), ev("billing", "y", "Y"), ev("billing", "z", "Z")}, []bool{true, true, false}},
		{"in the log after a crash", func() {
			crash(t, s)
			s = openInboxTest(t, path, Options{})
		}, []store.QueuedEvent{ev("billing", "z", "Z"), ev("billing", "w", "W")}, []bool{true, false}},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		if got := mustEnqueue(t, s, st.events...); !reflect.DeepEqual(got, st.want) {
			t.Fatalf("%s: dup %v, want %v", st.name, got, st.want)
		}
	}
	if got := eventIDs(claimAll(t, s)); !reflect.DeepEqual(got, []string{"x", "y", "x", "z", "w"}) {
		t.Fatalf("queued %v, want x y x(crm) z w", got)
	}
}

// TestInboxCloseDrains (issue 14): Close moves every logged event into the
// bbolt file, with its dedupe ID and the queue's sequence, and removes the
// log.
func TestInboxCloseDrains(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s := openInboxTest(t, path, Options{})
	s.inbox.pause()
	var want []string
	for i := range 10 {
		id := fmt.Sprintf("e%d", i)
		want = append(want, id)
		mustEnqueue(t, s, ev("billing", id, id))
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + ".inbox"); !os.IsNotExist(err) {
		t.Fatalf("the inbox log is still there after Close (%v)", err)
	}
	ids, seq := rawQueue(t, path)
	if !reflect.DeepEqual(ids, want) || seq != 10 {
		t.Fatalf("bbolt queue after Close %v, sequence %d; want %v, 10", ids, seq, want)
	}
	s = openInboxTest(t, path, Options{})
	if dup := mustEnqueue(t, s, ev("billing", "e3", "e3")); !reflect.DeepEqual(dup, []bool{true}) {
		t.Fatalf("dup %v after Close and reopen, want a duplicate", dup)
	}
}

// TestInboxRecyclesSegments: with segments of a few events each, the log
// moves through many segments, keeps at most the active one and
// maxFreeSegments on disk, and a crash after most events were processed
// brings back exactly the unprocessed and the unmoved ones.
func TestInboxRecyclesSegments(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	opts := Options{segmentSize: 4 << 10}
	s := openInboxTest(t, path, opts)
	for i := range 200 {
		mustEnqueue(t, s, distinct(ev("billing", fmt.Sprintf("e%03d", i), fmt.Sprintf("o%03d", i)))...)
	}
	claimed := claimAll(t, s)
	if len(claimed) != 200 {
		t.Fatalf("claimed %d events, want 200", len(claimed))
	}
	for _, e := range claimed[:150] {
		if err := s.Ack(e.Seq); err != nil {
			t.Fatal(err)
		}
	}
	if files, _ := filepath.Glob(path + ".inbox/*.log"); len(files) > 1+maxFreeSegments {
		t.Fatalf("%d segment files, want at most %d", len(files), 1+maxFreeSegments)
	}
	s.inbox.pause()
	for i := 200; i < 205; i++ {
		mustEnqueue(t, s, distinct(ev("billing", fmt.Sprintf("e%03d", i), fmt.Sprintf("o%03d", i)))...)
	}
	crash(t, s)

	s = openInboxTest(t, path, opts)
	var want []string
	for i := 150; i < 205; i++ {
		want = append(want, fmt.Sprintf("e%03d", i))
	}
	if got := eventIDs(claimAll(t, s)); !reflect.DeepEqual(got, want) {
		t.Fatalf("claimable after the crash %v, want e150..e204", got)
	}
}

// TestCheckCountsLoggedEvents: `store check` reports the acknowledged
// events that a crash left in the inbox log (the file alone does not hold
// them), and none once a reopen has moved them in.
func TestCheckCountsLoggedEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s := openInboxTest(t, path, Options{})
	mustEnqueue(t, s, distinct(ev("billing", "e1", "A"))...)
	if err := s.caughtUp(); err != nil {
		t.Fatal(err)
	}
	s.inbox.pause()
	mustEnqueue(t, s, distinct(ev("billing", "e2", "B"), ev("billing", "e3", "C"))...)
	crash(t, s)
	res, err := Check(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := (CheckResult{Bytes: res.Bytes, SchemaVersion: SchemaVersion(), Logged: 2}); res != want {
		t.Fatalf("check after the crash %+v, want %+v", res, want)
	}
	s = openInboxTest(t, path, Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if res, err = Check(path, 0); err != nil || res.Logged != 0 {
		t.Fatalf("check after a reopen: %+v, %v; want nothing logged", res, err)
	}
}

// TestInboxReplayWaitsForLoggedEvents: a dead letter replayed while events
// are logged and not yet moved takes a Seq after theirs and is put into
// bbolt only after them (so the queue's sequence never passes an unmoved
// event, which a crash would then skip), and concurrent Replays do not wait
// for each other.
func TestInboxReplayWaitsForLoggedEvents(t *testing.T) {
	s := openInboxTest(t, filepath.Join(t.TempDir(), "h.db"), Options{})
	first := mustEnqueue(t, s, distinct(ev("billing", "d1", "D1"), ev("billing", "d2", "D2"))...)
	if !reflect.DeepEqual(first, []bool{false, false}) {
		t.Fatal(first)
	}
	dead := claimAll(t, s)
	for _, e := range dead {
		if err := s.DeadLetter(e.Seq, nil); err != nil {
			t.Fatal(err)
		}
	}
	s.inbox.pause()
	mustEnqueue(t, s, distinct(ev("billing", "e3", "E3"), ev("billing", "e4", "E4"))...)
	type result struct {
		seq uint64
		err error
	}
	replayed := make(chan result, len(dead))
	for _, e := range dead {
		go func() {
			seq, err := s.Replay(e.Seq)
			replayed <- result{seq, err}
		}()
	}
	select {
	case r := <-replayed:
		t.Fatalf("Replay returned (%d, %v) while the events before it were only in the log", r.seq, r.err)
	case <-time.After(50 * time.Millisecond):
	}
	s.inbox.mu.Lock()
	s.inbox.paused = false
	s.inbox.movable.Broadcast()
	s.inbox.mu.Unlock()
	var seqs []uint64
	for range dead {
		r := <-replayed
		if r.err != nil {
			t.Fatal(r.err)
		}
		seqs = append(seqs, r.seq)
	}
	slices.Sort(seqs)
	if !reflect.DeepEqual(seqs, []uint64{5, 6}) {
		t.Fatalf("replayed as %v, want 5 6 (after the logged 3 and 4)", seqs)
	}
	var got []string
	for _, e := range claimAll(t, s) {
		got = append(got, fmt.Sprintf("%s@%d", e.Event.ID, e.Seq))
	}
	if len(got) != 4 || got[0] != "e3@3" || got[1] != "e4@4" {
		t.Fatalf("queue %v, want e3@3 e4@4 then the two replayed", got)
	}
}

// TestInboxWriteFailureStopsTheLog: after a failed write to the log, the
// Enqueue that needed it fails (it was not acknowledged) and so does every
// later one until a reopen, which keeps what was acknowledged and does not
// count the failed event as a duplicate.
func TestInboxWriteFailureStopsTheLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "h.db")
	s := openInboxTest(t, path, Options{})
	mustEnqueue(t, s, ev("billing", "ok", "A"))
	s.inbox.mu.Lock()
	s.inbox.segs[len(s.inbox.segs)-1].f.Close() // the next write fails
	s.inbox.mu.Unlock()
	for _, id := range []string{"lost", "after"} {
		if dup, err := s.Enqueue([]store.QueuedEvent{ev("billing", id, "B")}); err == nil {
			t.Fatalf("Enqueue %s after a failed write: dup %v, no error", id, dup)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openInboxTest(t, path, Options{})
	if got := eventIDs(claimAll(t, s)); !reflect.DeepEqual(got, []string{"ok"}) {
		t.Fatalf("queue after the reopen %v, want ok", got)
	}
	if dup := mustEnqueue(t, s, ev("billing", "lost", "B")); !reflect.DeepEqual(dup, []bool{false}) {
		t.Fatalf("the failed event's ID: dup %v, want not a duplicate", dup)
	}
}

// TestInboxGathersUnderLoad (issue 14): while the log is busy, the writer
// waits up to LogGather for more events and writes logGatherMin of them
// with one fdatasync as soon as they are pending; a lone event after a
// quiet spell is written at once, whatever LogGather says.
func TestInboxGathersUnderLoad(t *testing.T) {
	s := openInboxTest(t, filepath.Join(t.TempDir(), "h.db"), Options{LogGather: time.Hour})
	start := time.Now()
	mustEnqueue(t, s, ev("billing", "lone", "L"))
	if d := time.Since(start); d > time.Minute {
		t.Fatalf("a lone event after a quiet spell waited %s", d)
	}
	if st := s.InboxStats(); st.Groups != 1 || st.Events != 1 {
		t.Fatalf("after a lone event: %+v, want one write of one event", st)
	}

	// Busy from now on: the next events gather until logGatherMin are
	// pending, then share one write (an hour's LogGather never ends the
	// wait; the count does).
	s.inbox.mu.Lock()
	s.inbox.busyWindow = 24 * time.Hour
	s.inbox.mu.Unlock()
	// One at a time: each is logged (has its Seq) before the next comes,
	// as a stream of webhooks would arrive.
	errs := make(chan error, logGatherMin)
	for i := range logGatherMin {
		go func() {
			_, err := s.Enqueue([]store.QueuedEvent{ev("billing", fmt.Sprintf("g%d", i), "G")})
			errs <- err
		}()
		for {
			s.inbox.mu.Lock()
			seq := s.inbox.seq
			s.inbox.mu.Unlock()
			if seq == uint64(i+2) {
				break
			}
			time.Sleep(100 * time.Microsecond)
		}
	}
	for range logGatherMin {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if st := s.InboxStats(); st.Groups != 2 || st.Events != 1+logGatherMin {
		t.Fatalf("after %d concurrent events under load: %+v, want them in one write", logGatherMin, st)
	}

	// Close ends a gathering wait: what is pending is written and moved.
	go func() { _, _ = s.Enqueue([]store.QueuedEvent{ev("billing", "last", "Z")}) }()
	for {
		s.inbox.mu.Lock()
		n := len(s.inbox.pending.bodies)
		s.inbox.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

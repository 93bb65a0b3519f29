package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/healthsync/healthsync/sync/daemon"
)

// cmdBackup writes a consistent copy of the store to a file: from the store
// itself when no daemon runs, or through the running daemon's API (one bbolt
// read transaction either way, so writes go on during the copy). The copy
// is written beside the target and renamed into place when complete.
func cmdBackup(e *env) error {
	fs := configFlags(e, "backup", "--config FILE [--force] OUT")
	force := fs.Bool("force", false, "overwrite OUT if it exists")
	args, err := parseInterspersed(fs.FlagSet, e.args)
	if err != nil {
		return err
	}
	if len(args) != 1 {
		return usagef("want one OUT file for the copy")
	}
	out := args[0]
	if _, err := os.Stat(out); err == nil && !*force {
		return usagef("%s exists (use --force to overwrite it)", out)
	}
	a, r, err := openOrRemote(e, *fs.cfgPath, *fs.logFormat)
	if err != nil {
		return err
	}
	copyTo := func(w io.Writer) (int64, error) { return r.backup(e.ctx, w) }
	if a != nil {
		defer a.Close()
		// The app holds its store as a store.Store; bolt's writes a copy of
		// its file as an io.WriterTo, asked for by type assertion.
		wt, ok := a.st.(io.WriterTo)
		if !ok {
			return errors.New("this store cannot write a copy of itself")
		}
		copyTo = wt.WriteTo
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".partial-*")
	if err != nil {
		return fmt.Errorf("creating the backup file: %w", err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	n, err := copyTo(tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing the backup: %w", err)
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return fmt.Errorf("moving the backup into place: %w", err)
	}
	fmt.Fprintf(e.stdout, "backup written to %s (%d bytes)\n", out, n)
	return nil
}

// backup streams GET /api/backup into w and checks the trailer that says
// the copy is complete.
func (r *remote) backup(ctx context.Context, w io.Writer) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.base+"/api/backup", nil)
	if err != nil {
		return 0, fmt.Errorf("asking the daemon: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+r.token.Reveal())
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, r.unreachable(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("the daemon answered GET /api/backup with HTTP %d", resp.StatusCode)
	}
	n, err := io.Copy(w, resp.Body)
	if err != nil {
		return n, fmt.Errorf("reading the backup from the daemon: %w", err)
	}
	if got := resp.Trailer.Get(daemon.BackupTrailer); got != strconv.FormatInt(n, 10) {
		return n, fmt.Errorf("the daemon's copy is incomplete (%d bytes received, trailer %q)", n, got)
	}
	return n, nil
}

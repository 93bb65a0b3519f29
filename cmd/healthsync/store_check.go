package main

import (
	"fmt"
	"io"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// cmdStore is `healthsync store check [--config FILE | PATH]`: it opens the
// store file read-only and runs the checks Open runs (header, size against
// the meta page, bbolt's consistency check over every page, schema version)
// on a file of any size. A damaged file is reported with what is wrong and
// exits 1; a file a running daemon holds is reported as in use. --usage
// adds where the bytes go: the free pages and, per bucket (records per
// connector and type), keys, allocated bytes and how full those pages are.
func cmdStore(e *env) error {
	if len(e.args) == 0 || e.args[0] != "check" {
		return usagef("want: store check [--usage] [--config FILE | PATH]")
	}
	fs := configFlags(e, "store check", "[--usage] [--config FILE | PATH]")
	usage := fs.Bool("usage", false, "also print the free pages and each bucket's keys, bytes and fill")
	if err := parseFlags(fs.FlagSet, e.args[1:]); err != nil {
		return err
	}
	var path string
	switch fs.NArg() {
	case 0:
		cfg, err := loadConfig(*fs.cfgPath)
		if err != nil {
			return err
		}
		if cfg.Store.Driver == config.DriverPostgres {
			return usagef("store check reads bbolt files; store.driver is postgres, whose server checks its own data (pg_amcheck)")
		}
		path = cfg.Store.Path
	case 1:
		path = fs.Arg(0)
	default:
		return usagef("want one store file, got %d arguments", fs.NArg())
	}
	res, err := bolt.Check(path, 0)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "%s: ok (%d bytes, schema version %d)\n", path, res.Bytes, res.SchemaVersion)
	if res.Logged > 0 {
		fmt.Fprintf(e.stdout, "%s.inbox: %d acknowledged webhook events not yet in the file; the next start moves them in\n", path, res.Logged)
	}
	if !*usage {
		return nil
	}
	u, err := bolt.Usage(path, 0)
	if err != nil {
		return err
	}
	printStoreUsage(e.stdout, u)
	return nil
}

// printStoreUsage prints a store's page statistics: the file, then one row per
// bucket, largest first.
func printStoreUsage(w io.Writer, u bolt.FileUsage) {
	mb := func(n int64) string { return fmt.Sprintf("%.1f MB", float64(n)/1e6) }
	fmt.Fprintf(w, "file %s: pages up to the high-water mark %s (%d-byte pages), %d free pages (%s)\n",
		mb(u.FileBytes), mb(u.DataBytes), u.PageSize, u.FreePages, mb(int64(u.FreePages)*int64(u.PageSize)))
	width := len("bucket")
	for _, b := range u.Buckets {
		width = max(width, len(b.Name))
	}
	fmt.Fprintf(w, "%-*s  %9s  %9s  %4s\n", width, "bucket", "keys", "bytes", "fill")
	for _, b := range u.Buckets {
		fill := "-"
		if b.Bytes > 0 {
			fill = fmt.Sprintf("%.0f%%", 100*float64(b.Used)/float64(b.Bytes))
		}
		fmt.Fprintf(w, "%-*s  %9d  %9s  %4s\n", width, b.Name, b.Keys, mb(b.Bytes), fill)
	}
}

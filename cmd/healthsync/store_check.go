package main

import (
	"fmt"

	"github.com/healthsync/healthsync/config"
	"github.com/healthsync/healthsync/sync/store/bolt"
)

// cmdStore is `healthsync store check [--config FILE | PATH]`: it opens the
// store file read-only and runs the checks Open runs (header, size against
// the meta page, bbolt's consistency check over every page, schema version)
// on a file of any size. A damaged file is reported with what is wrong and
// exits 1; a file a running daemon holds is reported as in use.
func cmdStore(e *env) error {
	if len(e.args) == 0 || e.args[0] != "check" {
		return usagef("want: store check [--config FILE | PATH]")
	}
	fs := configFlags(e, "store check", "[--config FILE | PATH]")
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
	return nil
}

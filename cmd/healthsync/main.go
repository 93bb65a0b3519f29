// Command healthsync keeps customer-success data true inside the CRM: it pulls
// CRM and billing data on schedules, scores account health and writes the
// results back. Run `healthsync --help` for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

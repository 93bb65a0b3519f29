package report

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"time"
)

// RenderDOM loads an HTML file in headless Chromium and returns the DOM after
// scripts ran. profile is an empty folder for the browser's profile. The
// flags keep Chromium off the network, which this machine does not have.
func RenderDOM(ctx context.Context, chromium, file, profile string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--virtual-time-budget=2000", "--dump-dom", "file://"+file)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("running chromium: %w: %.500s", err, errb.String())
	}
	return out.String(), nil
}

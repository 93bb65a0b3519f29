package report

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"time"
)

// RenderDOM loads an HTML file in headless Chromium and returns the DOM after
// scripts ran. profile is an empty folder for the browser's profile.
func RenderDOM(ctx context.Context, chromium, file, profile string) (string, error) {
	return runChromium(ctx, chromium, profile, "--dump-dom", "file://"+file)
}

// Screenshot loads an HTML file in headless Chromium and saves what a
// window of width x height pixels shows as a PNG file.
func Screenshot(ctx context.Context, chromium, file, profile, png string, width, height int) error {
	_, err := runChromium(ctx, chromium, profile, "--screenshot="+png, fmt.Sprintf("--window-size=%d,%d", width, height),
		"--hide-scrollbars", "file://"+file)
	return err
}

// runChromium runs headless Chromium with flags that keep it off the
// network, which this machine does not have.
func runChromium(ctx context.Context, chromium, profile string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + profile, "--virtual-time-budget=2000"}, args...)
	cmd := exec.CommandContext(ctx, chromium, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("running chromium: %w: %.500s", err, errb.String())
	}
	return out.String(), nil
}

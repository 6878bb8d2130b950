package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/fnrun/fnrun/cmd/internal/api"
)

func init() { extraCommands = append(extraCommands, newTopCmd) }

// topHistoryLen is how many CPU samples each replica's sparkline shows.
const topHistoryLen = 40

// clearScreen moves the cursor home and clears the terminal.
const clearScreen = "\x1b[H\x1b[2J"

func newTopCmd(g *globals) *cobra.Command {
	var once bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "top [APP]",
		Short: "Live view of apps and replicas: CPU % of quota with a short history, replicas, traffic",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if interval <= 0 {
				return fmt.Errorf("--interval %s: must be positive", interval)
			}
			only := ""
			if len(args) == 1 {
				only = args[0]
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runTop(ctx, g.client(), os.Stdout, only, once, interval)
		},
	}
	cmd.Flags().BoolVar(&once, "once", false, "print one frame without clearing the screen and exit")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "refresh period")
	return cmd
}

// topSource is the part of the API client top reads.
type topSource interface {
	List(ctx context.Context) ([]api.App, error)
}

// runTop polls src every interval and redraws; with once it prints a single frame.
func runTop(ctx context.Context, src topSource, w io.Writer, only string, once bool, interval time.Duration) error {
	hist := newCPUHistory(topHistoryLen)
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		apps, err := src.List(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil && once {
			return err
		}
		apps = filterApps(apps, only)
		hist.add(apps)
		var b strings.Builder
		if !once {
			b.WriteString(clearScreen)
		}
		renderTop(&b, apps, hist, err, time.Now(), interval)
		if _, werr := io.WriteString(w, b.String()); werr != nil {
			return werr
		}
		if once {
			if only != "" && len(apps) == 0 {
				return fmt.Errorf("app %s: not found", only)
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-ticker.C:
		}
	}
}

func filterApps(apps []api.App, only string) []api.App {
	if only == "" {
		return apps
	}
	for _, a := range apps {
		if a.ID == only || a.Name == only {
			return []api.App{a}
		}
	}
	return nil
}

// cpuHistory keeps the newest CPU percentages of each replica, by app and hostname.
type cpuHistory struct {
	size int
	vals map[string][]float64
}

func newCPUHistory(size int) *cpuHistory {
	return &cpuHistory{size: size, vals: map[string][]float64{}}
}

func replicaKey(app, host string) string { return app + "/" + host }

// add appends one sample per replica and forgets replicas that are gone.
func (h *cpuHistory) add(apps []api.App) {
	seen := map[string]bool{}
	for _, a := range apps {
		for _, r := range a.Replicas {
			k := replicaKey(a.ID, r.Hostname)
			seen[k] = true
			v := append(h.vals[k], r.CPUPercent)
			if len(v) > h.size {
				v = v[len(v)-h.size:]
			}
			h.vals[k] = v
		}
	}
	for k := range h.vals {
		if !seen[k] {
			delete(h.vals, k)
		}
	}
}

func (h *cpuHistory) get(app, host string) []float64 { return h.vals[replicaKey(app, host)] }

// sparkTicks are the eight levels of a sparkline, lowest first.
var sparkTicks = []rune("▁▂▃▄▅▆▇█")

// sparkline draws vals (percent, 0..100; outside values are clamped) one rune per value.
func sparkline(vals []float64) string {
	var b strings.Builder
	for _, v := range vals {
		i := int(v / 100 * float64(len(sparkTicks)))
		i = min(max(i, 0), len(sparkTicks)-1)
		b.WriteRune(sparkTicks[i])
	}
	return b.String()
}

// renderTop writes one frame: a header, then per app its state and a line per replica.
func renderTop(w io.Writer, apps []api.App, hist *cpuHistory, fetchErr error, now time.Time, interval time.Duration) {
	fmt.Fprintf(w, "fnrun top — %d app%s — %s (every %s, Ctrl-C quits)\n", len(apps), plural(len(apps)), now.Format("15:04:05"), interval)
	if fetchErr != nil {
		fmt.Fprintf(w, "error: %v\n", fetchErr)
	}
	if len(apps) == 0 && fetchErr == nil {
		fmt.Fprintln(w, "\nNo apps deployed.")
	}
	for _, a := range apps {
		as := a.Manifest.Autoscale
		fmt.Fprintf(w, "\n%s  %s  rev %d  %s  replicas %d ready / %d desired (%d..%d)  %s target %d%s  %.1f req/s  %.0f in flight\n",
			a.ID, a.Phase, a.Revision, a.Manifest.Instance, a.Ready, a.Desired, as.Min, as.Max, as.Metric, as.Target, targetUnit(as.Metric), a.RPS, a.InFlight)
		hostW := len("REPLICA")
		for _, r := range a.Replicas {
			hostW = max(hostW, len(r.Hostname))
		}
		fmt.Fprintf(w, "  %-*s  %-9s  %6s  %-*s  %10s\n", hostW, "REPLICA", "STATE", "CPU%", topHistoryLen, "CPU HISTORY (% of quota)", "MEMORY")
		for _, r := range a.Replicas {
			spark := sparkline(hist.get(a.ID, r.Hostname))
			pad := topHistoryLen - len([]rune(spark))
			fmt.Fprintf(w, "  %-*s  %-9s  %6.1f  %s%s  %6.1f MiB\n", hostW, r.Hostname, r.State, r.CPUPercent, spark, strings.Repeat(" ", max(pad, 0)), float64(r.MemoryBytes)/(1<<20))
		}
		for i := len(a.Decisions) - 1; i >= 0; i-- {
			d := a.Decisions[i]
			if d.Changed() {
				fmt.Fprintf(w, "  last scale %s: %d → %d  %s\n", d.Time.Local().Format("15:04:05"), d.Current, d.Desired, d.Reason)
				break
			}
			if i == len(a.Decisions)-1 {
				fmt.Fprintf(w, "  autoscaler now: %s\n", d.Reason)
			}
		}
	}
}

func targetUnit(metric string) string {
	switch metric {
	case "cpu", "memory":
		return "%"
	case "rps":
		return " req/s"
	}
	return ""
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

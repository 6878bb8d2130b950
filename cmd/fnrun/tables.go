package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jedib0t/go-pretty/v6/table"
	"github.com/jedib0t/go-pretty/v6/text"

	"github.com/fnrun/fnrun/cmd/internal/api"
	"github.com/fnrun/fnrun/runtime"
)

// printDeployTable prints the table users know from hosted runners.
func printDeployTable(w io.Writer, a *api.App) {
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.SetStyle(table.StyleRounded)
	t.Style().Options.SeparateRows = true
	t.SetColumnConfigs([]table.ColumnConfig{{Number: 2, Align: text.AlignCenter}})
	t.AppendRows([]table.Row{
		{"App ID", a.ID},
		{"Phase", a.Phase},
		{"Endpoint", a.Endpoint},
		{"App logs", "fnrun logs " + a.ID},
		{"Base credits (per hour)", fmt.Sprintf("%g (%s × %d min replicas)", a.CreditsPerHour, a.Manifest.Instance, max(a.Manifest.Autoscale.Min, 1))},
		{"Swagger UI", a.Endpoint + "/docs"},
		{"OpenAPI JSON", a.Endpoint + "/openapi.json"},
	})
	t.Render()
}

func printList(w io.Writer, apps []api.App) {
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.SetStyle(table.StyleLight)
	t.AppendHeader(table.Row{"App ID", "Phase", "Rev", "Instance", "Ready/Desired", "Autoscale", "Endpoint"})
	for _, a := range apps {
		as := a.Manifest.Autoscale
		t.AppendRow(table.Row{a.ID, a.Phase, a.Revision, a.Manifest.Instance, fmt.Sprintf("%d/%d", a.Ready, a.Desired),
			fmt.Sprintf("%d..%d %s %d", as.Min, as.Max, as.Metric, as.Target), a.Endpoint})
	}
	t.Render()
}

func printStatus(w io.Writer, a *api.App) {
	as := a.Manifest.Autoscale
	fmt.Fprintf(w, "App:       %s (revision %d)\n", a.ID, a.Revision)
	fmt.Fprintf(w, "Phase:     %s\n", a.Phase)
	fmt.Fprintf(w, "Endpoint:  %s\n", a.Endpoint)
	fmt.Fprintf(w, "Instance:  %s (%g cores, %d MiB per replica)\n", a.Manifest.Instance, a.Manifest.InstanceType().Cores(), a.Manifest.InstanceType().MemoryBytes>>20)
	fmt.Fprintf(w, "Autoscale: %d..%d replicas on %s, target %d\n", as.Min, as.Max, as.Metric, as.Target)
	fmt.Fprintf(w, "Protocol:  %s, timeout %ds\n", protocolName(&a.Manifest), a.Manifest.Timeout)
	fmt.Fprintf(w, "Replicas:  %d ready / %d desired, %d restarts\n", a.Ready, a.Desired, a.Restarts)
	fmt.Fprintf(w, "Traffic:   %.1f req/s, %.0f in flight\n", a.RPS, a.InFlight)
	fmt.Fprintf(w, "Command:   %s\n\n", strings.Join(a.Command.Args, " "))
	t := table.NewWriter()
	t.SetOutputMirror(w)
	t.SetStyle(table.StyleLight)
	t.AppendHeader(table.Row{"Hostname", "Rev", "State", "PID", "Address", "CPU % of quota", "Memory", "Throttled", "Age"})
	for _, r := range a.Replicas {
		t.AppendRow(table.Row{r.Hostname, r.Revision, r.State, r.PID, r.Address, fmt.Sprintf("%.1f", r.CPUPercent),
			fmt.Sprintf("%.1f MiB", float64(r.MemoryBytes)/(1<<20)), fmt.Sprintf("%.1fs", r.ThrottledSeconds), time.Since(r.StartedAt).Round(time.Second)})
	}
	for _, r := range a.Exited {
		t.AppendRow(table.Row{r.Hostname, r.Revision, fmt.Sprintf("%s (code %d%s)", r.State, r.ExitCode, sig(r.ExitSignal)), r.PID, "", "", "", "", ""})
	}
	t.Render()
	if len(a.Decisions) > 0 {
		fmt.Fprintln(w, "\nScaling decisions (newest last):")
		for _, d := range a.Decisions {
			fmt.Fprintf(w, "  %s  %d → %d  %s\n", d.Time.Local().Format("15:04:05.000"), d.Current, d.Desired, d.Reason)
		}
	}
}

func sig(s string) string {
	if s == "" {
		return ""
	}
	return ", " + s
}

// protocolName says what the replicas serve, as the manifest's protocol field names it.
func protocolName(m *runtime.Manifest) string {
	if m.H2C() {
		return runtime.ProtocolH2C + " (HTTP/2 without TLS)"
	}
	return runtime.ProtocolHTTP1 + " (HTTP/1.1)"
}

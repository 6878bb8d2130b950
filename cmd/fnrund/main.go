package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/fnrun/fnrun/cmd/fnrund/admin"
	fnsystemd "github.com/fnrun/fnrun/cmd/fnrund/systemd"
	"github.com/fnrun/fnrun/router"
	"github.com/fnrun/fnrun/sandbox"
	"github.com/fnrun/fnrun/scheduler"
)

// options are fnrund's flags.
type options struct {
	socket     string
	stateDir   string
	listen     string
	cgroupRoot string
	tick       time.Duration
	stopGrace  time.Duration
	overcommit float64
	logLevel   string
	domain     string
	network    string
	bridge     string
	subnet     string
	user       string
	// adminListen is host:port of the read-only admin listener (metrics, dashboard); "" disables it.
	adminListen string
	// adminExplicit is set when --admin-listen was given: then a busy address is fatal, else a warning.
	adminExplicit bool
}

func main() {
	if sandbox.IsInit() {
		sandbox.RunInit() // never returns
	}
	var o options
	var configPath string
	cmd := &cobra.Command{
		Use:           "fnrund",
		Short:         "The fnrun daemon: runs apps in cgroup sandboxes, autoscales and routes them",
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, err := fnsystemd.LoadConfig(configPath, cmd.Flags().Changed(fnsystemd.ConfigFlag), cmd.Flags()); err != nil {
				return err
			}
			o.adminExplicit = cmd.Flags().Changed("admin-listen")
			return run(o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&configPath, fnsystemd.ConfigFlag, fnsystemd.DefaultConfigPath, "YAML file of flag values (flag-name: value); flags on the command line win; a missing default file is ignored")
	f.StringVar(&o.socket, "socket", "/run/fnrun/fnrun.sock", "Unix socket of the API")
	f.StringVar(&o.stateDir, "state-dir", "/var/lib/fnrun", "directory of the state store, app revisions and logs")
	f.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address of the HTTP router")
	f.StringVar(&o.cgroupRoot, "cgroup-root", "", "cgroup subtree the daemon owns (default /sys/fs/cgroup/fnrun on v2, /fnrun in each v1 hierarchy)")
	f.DurationVar(&o.tick, "tick", 250*time.Millisecond, "metrics sampling and autoscaling period")
	f.DurationVar(&o.stopGrace, "stop-grace", 10*time.Second, "time a stopping replica gets between SIGTERM and SIGKILL")
	f.Float64Var(&o.overcommit, "overcommit", 1.0, "admission: the sum of minimum replicas' CPU quotas may reach this many times the online CPUs")
	f.StringVar(&o.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&o.domain, "domain", "localhost", "apps are served at <app-id>.<domain>")
	f.StringVar(&o.network, "network", "bridge", "replica networking: bridge (own network namespace, veth on --bridge) or host (loopback ports)")
	f.StringVar(&o.bridge, "bridge", "fnrun0", "host bridge the replicas' veths attach to")
	f.StringVar(&o.subnet, "subnet", "10.89.0.0/16", "IPv4 subnet of the bridge (gateway .1)")
	f.StringVar(&o.user, "user", "fnrun-app", "unprivileged user replicas run as (created if missing; never give it the fnrun group)")
	f.StringVar(&o.adminListen, "admin-listen", "127.0.0.1:9180", "address of the read-only admin listener: Prometheus /metrics and the dashboard (empty disables)")
	if err := cmd.Execute(); err != nil {
		logrus.WithError(err).Error("fnrund failed")
		os.Exit(1)
	}
}

func run(o options) error {
	log := logrus.New()
	lvl, err := logrus.ParseLevel(o.logLevel)
	if err != nil {
		return fmt.Errorf("--log-level %q: %w", o.logLevel, err)
	}
	log.SetLevel(lvl)
	if os.Geteuid() != 0 {
		return errors.New("fnrund must run as root: it creates cgroups and namespaces")
	}
	if err := os.MkdirAll(o.stateDir, 0o711); err != nil {
		return fmt.Errorf("create state dir %s: %w", o.stateDir, err)
	}
	if err := checkStateDir(o.stateDir); err != nil {
		return err
	}
	store, err := scheduler.OpenStore(filepath.Join(o.stateDir, "fnrun.db"))
	if err != nil {
		return err
	}
	defer store.Close()

	// Under systemd with Delegate=yes (cgroup v2): live in <subtree>/daemon, run apps under <subtree>/apps.
	if lay, ok, err := fnsystemd.EnterDelegated(); err != nil {
		return err
	} else if ok {
		if o.cgroupRoot == "" {
			o.cgroupRoot = lay.Apps
		}
		log.WithField("cgroup", lay.Daemon).Info("running in the cgroup subtree systemd delegated")
	}
	sbx, err := sandbox.New(sandbox.Config{CgroupRoot: o.cgroupRoot, StateDir: o.stateDir, StopGrace: o.stopGrace,
		Network: o.network, Bridge: o.bridge, Subnet: o.subnet, User: o.user})
	if err != nil {
		return fmt.Errorf("sandbox: %w", err)
	}
	log.WithField("mode", sbx.Mode()).WithField("root", sbx.Root()).Info("cgroup mode detected")
	if err := sbx.Cleanup(); err != nil {
		return fmt.Errorf("clean leftovers of an earlier daemon: %w", err)
	}

	var sched *scheduler.Scheduler
	rt := router.New(router.Config{
		Domain:   o.domain,
		Activate: func(id string) { sched.Poke(id) },
		Dialer:   sbx.Dialer(0),
	})
	sched = scheduler.New(scheduler.Config{
		Sandboxes: scheduler.ManagerSandboxes{M: sbx},
		Router:    rt,
		Store:     store,
		StateDir:  o.stateDir,
		Tick:      o.tick,
		StopGrace: o.stopGrace,
		Dialer:    sbx.Dialer(0),
		Log:       log,
	})

	routerLn, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("router listen %s: %w", o.listen, err)
	}
	d := &daemon{o: o, log: log, store: store, sched: sched, sandbox: sbx, routerAddr: routerLn.Addr().String()}

	apiLn, err := listenSocket(o.socket)
	if err != nil {
		return err
	}
	defer os.Remove(o.socket)

	// Bring back every app the store holds.
	apps, err := store.List()
	if err != nil {
		return err
	}
	for _, app := range apps {
		if err := sched.Run(app); err != nil {
			log.WithField("app", app.ID).WithError(err).Error("restore app")
			continue
		}
		log.WithField("app", app.ID).WithField("revision", app.Revision).Info("restored app")
	}

	if o.adminListen != "" {
		adm := admin.New(admin.Config{Apps: sched, Stats: rt})
		if err := adm.Start(o.adminListen); err != nil {
			if o.adminExplicit {
				return err
			}
			log.WithError(err).Warn("admin listener disabled (set --admin-listen to another address)")
			d.o.adminListen = ""
		} else {
			d.o.adminListen = adm.Addr()
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := adm.Close(ctx); err != nil {
					log.WithError(err).Warn("stop admin listener")
				}
			}()
			log.WithField("admin", d.o.adminListen).Info("admin listener: dashboard at /, Prometheus metrics at /metrics")
		}
	}
	errc := make(chan error, 2)
	go func() { errc <- rt.Serve(routerLn) }()
	api := &http.Server{Handler: d.handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { errc <- api.Serve(apiLn) }()
	log.WithField("socket", o.socket).WithField("router", d.routerAddr).WithField("state_dir", o.stateDir).Info("fnrund serving")
	if _, err := fnsystemd.NotifyReady(); err != nil {
		log.WithError(err).Warn("notify systemd")
	}

	sigc := make(chan os.Signal, 1)
	signal.Notify(sigc, syscall.SIGTERM, syscall.SIGINT)
	select {
	case s := <-sigc:
		log.WithField("signal", s.String()).Info("shutting down: draining requests and stopping replicas")
	case err := <-errc:
		log.WithError(err).Error("listener failed; shutting down")
	}
	if _, err := fnsystemd.NotifyStopping(); err != nil {
		log.WithError(err).Warn("notify systemd")
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.stopGrace+5*time.Second)
	defer cancel()
	_ = api.Close()
	_ = rt.Shutdown(ctx)
	sched.Shutdown(ctx)
	sbx.Close() // the spare init
	log.Info("fnrund stopped")
	return nil
}

// listenSocket listens on the API socket, mode 0660, owned by root and the fnrun group
// (created when missing): only root and the group's members may deploy.
func listenSocket(path string) (net.Listener, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("create socket dir %s: %w", filepath.Dir(path), err)
	}
	if c, err := net.DialTimeout("unix", path, 200*time.Millisecond); err == nil {
		c.Close()
		return nil, fmt.Errorf("socket %s: another fnrund is serving it", path)
	}
	_ = os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("listen on socket %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o660); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chmod socket %s: %w", path, err)
	}
	gid, err := ensureGroup(apiGroup)
	if err != nil {
		ln.Close()
		return nil, err
	}
	if err := os.Chown(path, 0, gid); err != nil {
		ln.Close()
		return nil, fmt.Errorf("chown socket %s to group %s: %w", path, apiGroup, err)
	}
	return ln, nil
}

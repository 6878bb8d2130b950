package admin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Config wires the admin listener to the daemon.
type Config struct {
	// Apps is the scheduler; Stats the router (nil: no request metrics).
	Apps  Apps
	Stats Stats
	// Interval is the sampling period of the dashboard's history (default 1s).
	Interval time.Duration
	// History is how many samples are kept per app (default DefaultHistory).
	History int
	// Now is the sampler's clock (default time.Now).
	Now func() time.Time
}

// Server is the admin listener: /metrics, the dashboard and its JSON.
type Server struct {
	cfg     Config
	sampler *Sampler
	handler http.Handler
	srv     *http.Server
	ln      net.Listener
	cancel  context.CancelFunc
	done    chan struct{}
	// serveErr holds Serve's error once it stopped on its own.
	serveErr chan error
}

// New returns a server of cfg; Start makes it listen.
func New(cfg Config) *Server {
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	sampler := NewSampler(cfg.Apps, cfg.Stats, cfg.Now, cfg.History)
	return &Server{cfg: cfg, sampler: sampler, handler: newHandler(cfg.Apps, cfg.Stats, sampler)}
}

// Handler is the read-only HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.handler }

// Sampler is the history the dashboard reads.
func (s *Server) Sampler() *Sampler { return s.sampler }

// Start listens on addr (host:port), serves, and samples every Interval until Close.
func (s *Server) Start(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("admin listen %s: %w", addr, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s.ln, s.cancel, s.done, s.serveErr = ln, cancel, make(chan struct{}), make(chan error, 1)
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	ticker := time.NewTicker(s.cfg.Interval)
	go func() {
		defer close(s.done)
		defer ticker.Stop()
		s.sampler.Run(ctx, ticker.C)
	}()
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.serveErr <- fmt.Errorf("admin serve %s: %w", ln.Addr(), err)
		}
	}()
	return nil
}

// Addr is the address the server listens on ("" before Start).
func (s *Server) Addr() string {
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Close stops sampling and the listener, waiting for open requests until ctx ends; it returns
// the error that stopped serving early, if any.
func (s *Server) Close(ctx context.Context) error {
	if s.srv == nil {
		return nil
	}
	s.cancel()
	<-s.done
	if err := s.srv.Shutdown(ctx); err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("stop admin listener %s: %w", s.Addr(), err)
	}
	select {
	case err := <-s.serveErr:
		return err
	default:
		return nil
	}
}

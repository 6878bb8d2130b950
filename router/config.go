package router

import (
	"errors"
	"net"
	"time"
)

// Defaults applied by New to zero-valued Config fields.
const (
	DefaultDomain             = "localhost"
	DefaultReadHeaderTimeout  = 10 * time.Second
	DefaultMaxHeaderBytes     = 16 << 10
	DefaultQueueSize          = 100
	DefaultIdleTimeout        = 90 * time.Second
	DefaultConnectTimeout     = 3 * time.Second
	DefaultMaxConnsPerBackend = 1024
	DefaultBackendIdleConn    = 4 * time.Second
	DefaultAppTimeout         = 120 * time.Second
)

// ErrUnknownApp is returned by calls naming an app that SetApp never created (or RemoveApp removed).
var ErrUnknownApp = errors.New("unknown app")

// ErrClosed is returned by Serve after Shutdown.
var ErrClosed = errors.New("router closed")

// Config configures a Router. Zero values select the documented defaults.
type Config struct {
	// Domain is the parent domain of app hosts: app "x" is served at "x.<Domain>[:port]". Default "localhost".
	Domain string
	// ReadHeaderTimeout bounds reading a request header, measured from its first byte (slow clients). Default 10s.
	ReadHeaderTimeout time.Duration
	// MaxHeaderBytes is the largest request header accepted, in bytes. Default 16 KiB.
	MaxHeaderBytes int
	// MaxBodyBytes is the largest request body accepted, in bytes (larger → 413).
	// 0 means unlimited: bodies are then streamed to the backend instead of buffered.
	MaxBodyBytes int
	// QueueSize is how many requests per app may wait in the activator for a ready replica. Default 100.
	QueueSize int
	// Activate is poked, in its own goroutine and at once, when a request finds no ready replica of appID.
	// It is called once per cold episode (again only after replicas became ready or the queue emptied).
	Activate func(appID string)
	// Policy names the load-balancing policy: "p2c" (default: least outstanding requests over two random
	// choices) or "round-robin". An unknown name falls back to "p2c"; check it with PolicyByName first.
	Policy string

	// PolicyFunc, when non-nil, overrides Policy with a custom balancing function.
	PolicyFunc PolicyFunc
	// IdleTimeout is how long an idle client keep-alive connection is kept open. Default 90s.
	IdleTimeout time.Duration
	// ConnectTimeout bounds dialing a backend (a failed dial may be retried on another backend). Default 3s.
	ConnectTimeout time.Duration
	// MaxConnsPerBackend caps the keep-alive pool of each backend; requests beyond it wait for a free
	// connection until their timeout. Default 1024.
	MaxConnsPerBackend int
	// BackendIdleConnTimeout closes pooled backend connections idle this long; keep it below the apps'
	// own keep-alive timeouts to avoid reusing connections they are closing. Default 4s.
	BackendIdleConnTimeout time.Duration
	// Logger receives the HTTP server's internal errors; nil discards them.
	Logger interface {
		Printf(format string, args ...any)
	}
	// Dialer, when set, makes every connection to a backend (its Timeout is ignored: the
	// connect timeout applies). fnrund passes the sandbox's dialer, bound to the replicas' bridge.
	Dialer *net.Dialer

	sweep *sweeper // set by New: the lazy read deadlines of client and backend connections
}

// AppConfig is the per-app routing configuration.
type AppConfig struct {
	// Timeout bounds a whole request, from arrival (queueing included) to the last response byte;
	// 0 selects 120s. Past it the client gets 504 (or 503 while still queued).
	Timeout time.Duration
	// Protocol is what the app's replicas speak: ProtocolHTTP1 (also "") or ProtocolH2C (HTTP/2
	// with prior knowledge, e.g. gRPC servers). Clients may use HTTP/1.1 or h2c either way.
	Protocol string
}

// The protocols an app's replicas may speak.
const (
	ProtocolHTTP1 = "http1"
	ProtocolH2C   = "h2c"
)

// Backend is one ready replica of an app.
type Backend struct {
	// ID is the replica hostname; it names the backend in Drain and AppStats.Backends.
	ID string
	// Addr is the host:port the router dials.
	Addr string
}

func (c Config) withDefaults() Config {
	if c.Domain == "" {
		c.Domain = DefaultDomain
	}
	c.Domain = normDomain(c.Domain)
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if c.MaxBodyBytes < 0 {
		c.MaxBodyBytes = 0
	}
	if c.QueueSize <= 0 {
		c.QueueSize = DefaultQueueSize
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.ConnectTimeout <= 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.MaxConnsPerBackend <= 0 {
		c.MaxConnsPerBackend = DefaultMaxConnsPerBackend
	}
	if c.BackendIdleConnTimeout <= 0 {
		c.BackendIdleConnTimeout = DefaultBackendIdleConn
	}
	if c.PolicyFunc == nil {
		p, err := PolicyByName(c.Policy)
		if err != nil {
			p = P2C
		}
		c.PolicyFunc = p
	}
	return c
}

package actors

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"netstages/actors/bus"
	"netstages/transport"
)

// ConnHandler serves one connection, typically by wiring a Pipeline and
// running it. It must return when ctx is cancelled. The server closes conn
// after it returns.
type ConnHandler func(ctx context.Context, conn net.Conn) error

// Server is the accept loop actor: it accepts connections, enforces the
// connection limit, runs a handler per connection and shuts down gracefully.
// Set the fields, then call Serve once; Shutdown may be called from any
// goroutine, any number of times.
type Server struct {
	// Name appears in logs and events, e.g. "echod".
	Name string
	// Handle serves each accepted connection.
	Handle ConnHandler
	// MaxConns limits simultaneous connections; 0 means no limit.
	MaxConns int
	// Refuse, if set, writes a short protocol-specific refusal to a
	// connection over MaxConns before it is closed (e.g. HTTP 503).
	Refuse func(conn net.Conn)
	// Grace is how long Shutdown lets connections finish their in-flight
	// work before closing them. Default 5s.
	Grace time.Duration
	// Log receives connection errors; nil discards.
	Log *slog.Logger
	// Bus, if set, receives ConnOpened, ConnClosed and ConnRefused events.
	Bus *bus.Bus

	active   atomic.Int64
	nextID   atomic.Uint64
	refused  atomic.Uint64
	mu       sync.Mutex
	ln       net.Listener
	conns    map[net.Conn]struct{}
	shutdown chan struct{}
	once     sync.Once
	force    context.CancelFunc
	wg       sync.WaitGroup
}

// Active returns the number of connections being served now.
func (s *Server) Active() int64 { return s.active.Load() }

// Refused returns how many connections were turned away over MaxConns.
func (s *Server) Refused() uint64 { return s.refused.Load() }

func (s *Server) init() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shutdown == nil {
		s.shutdown = make(chan struct{})
		s.conns = make(map[net.Conn]struct{})
	}
	if s.Log == nil {
		s.Log = slog.New(slog.DiscardHandler)
	}
	if s.Grace <= 0 {
		s.Grace = 5 * time.Second
	}
}

// Serve accepts connections on ln until Shutdown, then waits for every
// connection to finish and returns nil. It returns an error if accepting
// fails for another reason (after closing every connection).
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	ctx, force := context.WithCancel(context.Background())
	s.mu.Lock()
	s.ln, s.force = ln, force
	s.mu.Unlock()
	defer force()
	select {
	case <-s.shutdown: // Shutdown came before Serve
		ln.Close()
	default:
	}
	err := s.acceptLoop(ctx, ln)
	if err != nil {
		force() // accept failed for good: close everything now
	}
	s.wg.Wait()
	return err
}

func (s *Server) acceptLoop(ctx context.Context, ln net.Listener) error {
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err != nil {
			select {
			case <-s.shutdown:
				return nil
			default:
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.Log.Warn("accept failed; retrying", "server", s.Name, "err", err, "in", backoff)
				time.Sleep(backoff)
				continue
			}
			return fmt.Errorf("%s: accept: %w", s.Name, err)
		}
		backoff = 0
		if s.MaxConns > 0 && s.active.Load() >= int64(s.MaxConns) {
			s.refuse(conn)
			continue
		}
		s.start(ctx, conn)
	}
}

// isTemporary reports accept errors worth retrying, such as EMFILE.
func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

func (s *Server) refuse(conn net.Conn) {
	s.refused.Add(1)
	s.Bus.Publish(bus.ConnRefused{Server: s.Name, Remote: conn.RemoteAddr().String(), At: time.Now(), Reason: "too many connections"})
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer conn.Close()
		if s.Refuse != nil {
			conn.SetWriteDeadline(time.Now().Add(time.Second))
			s.Refuse(conn)
		}
	}()
}

func (s *Server) start(ctx context.Context, conn net.Conn) {
	s.active.Add(1)
	s.mu.Lock()
	s.conns[conn] = struct{}{}
	select {
	case <-s.shutdown: // accepted while shutting down: read nothing new
		if cr, ok := conn.(transport.CloseReader); ok {
			cr.CloseRead()
		}
	default:
	}
	s.mu.Unlock()
	id := s.nextID.Add(1)
	s.wg.Add(1)
	go s.serveConn(ctx, conn, id)
}

func (s *Server) serveConn(ctx context.Context, conn net.Conn, id uint64) {
	defer s.wg.Done()
	start := time.Now()
	remote := conn.RemoteAddr().String()
	s.Bus.Publish(bus.ConnOpened{Server: s.Name, ConnID: id, Remote: remote, Local: conn.LocalAddr().String(), At: start})
	err := s.Handle(ctx, conn)
	conn.Close()
	s.mu.Lock()
	delete(s.conns, conn)
	s.mu.Unlock()
	s.active.Add(-1)
	closed := bus.ConnClosed{Server: s.Name, ConnID: id, Remote: remote, At: time.Now(), Duration: time.Since(start)}
	if err != nil {
		closed.Err = err.Error()
		s.Log.Info("connection failed", "server", s.Name, "conn", id, "remote", remote, "err", err)
	}
	s.Bus.Publish(closed)
}

// Shutdown stops accepting, then asks every connection to finish: its read
// side is shut (the reader sees EOF, so no new requests are read) while
// requests already read are answered. Connections still open after Grace are
// closed. Serve returns when all are done. Shutdown does not wait.
func (s *Server) Shutdown() {
	s.init()
	s.once.Do(func() {
		close(s.shutdown)
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.ln != nil {
			s.ln.Close()
		}
		for c := range s.conns {
			if cr, ok := c.(transport.CloseReader); ok {
				cr.CloseRead()
			} else {
				c.SetReadDeadline(time.Now())
			}
		}
		force := s.force
		time.AfterFunc(s.Grace, func() {
			s.mu.Lock()
			f := s.force
			s.mu.Unlock()
			if f != nil {
				f()
			} else if force != nil {
				force()
			}
		})
	})
}

package embedded

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Config configures an embedded server.
type Config struct {
	// Dir is the state directory; JetStream stores under Dir/jetstream.
	// Required: an outbox that does not survive a restart is no outbox.
	Dir string
	// Host is the address to listen on. Default 127.0.0.1.
	Host string
	// Port is the client port; 0 picks a free one.
	Port int
	// Ready bounds the wait for the server to accept clients. Default 10 s.
	Ready time.Duration
}

// Server is a running embedded NATS server.
type Server struct {
	ns *server.Server
}

// ErrNoDir says Config.Dir was empty.
var ErrNoDir = errors.New("embedded nats: state directory required")

// Start starts a NATS server with JetStream file storage under cfg.Dir and
// waits until it accepts clients.
func Start(cfg Config) (*Server, error) {
	if cfg.Dir == "" {
		return nil, ErrNoDir
	}
	if cfg.Host == "" {
		cfg.Host = "127.0.0.1"
	}
	port := cfg.Port
	if port == 0 {
		port = server.RANDOM_PORT
	}
	if cfg.Ready <= 0 {
		cfg.Ready = 10 * time.Second
	}
	store := filepath.Join(cfg.Dir, "jetstream")
	if err := os.MkdirAll(store, 0o750); err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	ns, err := server.NewServer(&server.Options{
		ServerName: "netstages",
		Host:       cfg.Host,
		Port:       port,
		JetStream:  true,
		StoreDir:   store,
		NoSigs:     true, // the process's own signal handling stays in charge
		NoLog:      true,
		HTTPPort:   0,
	})
	if err != nil {
		return nil, fmt.Errorf("embedded nats: %w", err)
	}
	ns.Start()
	if !ns.ReadyForConnections(cfg.Ready) {
		ns.Shutdown()
		ns.WaitForShutdown()
		return nil, fmt.Errorf("embedded nats: not ready after %v", cfg.Ready)
	}
	return &Server{ns: ns}, nil
}

// URL is the nats:// address clients connect to.
func (s *Server) URL() string { return s.ns.ClientURL() }

// Shutdown stops the server and waits until it has stopped, with every
// stream flushed to disk.
func (s *Server) Shutdown() {
	s.ns.Shutdown()
	s.ns.WaitForShutdown()
}

package tlsconf

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync/atomic"
	"time"
)

// Files names the PEM files of a TLS setup.
type Files struct {
	Cert, Key string // server certificate chain and private key
	ClientCA  string // CA bundle that client certificates must chain to; "" = no client certificates
}

// Reloader holds the current certificate and client CA pool.
type Reloader struct {
	files Files
	log   *slog.Logger
	cur   atomic.Pointer[material]
}

type material struct {
	cert    *tls.Certificate
	pool    *x509.CertPool
	modTime time.Time // latest modification time of the files
}

// New loads the files once; an error here stops the start.
func New(f Files, log *slog.Logger) (*Reloader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	r := &Reloader{files: f, log: log}
	m, err := r.load()
	if err != nil {
		return nil, err
	}
	r.cur.Store(m)
	return r, nil
}

func (r *Reloader) load() (*material, error) {
	cert, err := tls.LoadX509KeyPair(r.files.Cert, r.files.Key)
	if err != nil {
		return nil, fmt.Errorf("TLS certificate %s / key %s: %w", r.files.Cert, r.files.Key, err)
	}
	m := &material{cert: &cert, modTime: r.modTime()}
	if r.files.ClientCA != "" {
		pem, err := os.ReadFile(r.files.ClientCA)
		if err != nil {
			return nil, fmt.Errorf("TLS client CA: %w", err)
		}
		m.pool = x509.NewCertPool()
		if !m.pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS client CA %s: no PEM certificate found", r.files.ClientCA)
		}
	}
	return m, nil
}

// modTime is the newest modification time among the files (zero if one is
// missing, which a reload then reports).
func (r *Reloader) modTime() time.Time {
	var t time.Time
	for _, p := range []string{r.files.Cert, r.files.Key, r.files.ClientCA} {
		if p == "" {
			continue
		}
		st, err := os.Stat(p)
		if err != nil {
			return time.Time{}
		}
		if st.ModTime().After(t) {
			t = st.ModTime()
		}
	}
	return t
}

// Reload re-reads the files if they changed since the last load. On error
// the current material stays and the error is returned.
func (r *Reloader) Reload() error {
	mt := r.modTime()
	if mt.IsZero() {
		return errors.New("TLS files missing; keeping the current certificate")
	}
	if !mt.After(r.cur.Load().modTime) {
		return nil
	}
	m, err := r.load()
	if err != nil {
		return err
	}
	r.cur.Store(m)
	r.log.Info("TLS certificate reloaded", "cert", r.files.Cert, "not_after", m.cert.Leaf.NotAfter)
	return nil
}

// Watch reloads every interval until ctx ends, logging failures.
func (r *Reloader) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := r.Reload(); err != nil {
				r.log.Error("TLS reload failed; serving the previous certificate", "error", err.Error())
			}
		}
	}
}

// ServerConfig returns a tls.Config whose every handshake uses the current
// material. With a client CA, clients must present a certificate that
// chains to it (mutual TLS); requireClientCert false skips that (for the
// metrics listener that Prometheus scrapes).
func (r *Reloader) ServerConfig(requireClientCert bool) *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			m := r.cur.Load()
			c := &tls.Config{
				MinVersion:   tls.VersionTLS12,
				Certificates: []tls.Certificate{*m.cert},
				NextProtos:   []string{"h2", "http/1.1"},
			}
			if requireClientCert && m.pool != nil {
				c.ClientAuth = tls.RequireAndVerifyClientCert
				c.ClientCAs = m.pool
			}
			return c, nil
		},
	}
}

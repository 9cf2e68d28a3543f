package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/aroundme/aroundme/pkg/api/aroundme/v1"
	"github.com/aroundme/aroundme/pkg/auth"
	"github.com/aroundme/aroundme/pkg/dataset"
	"github.com/aroundme/aroundme/pkg/secret"
	"github.com/aroundme/aroundme/pkg/store"
)

// Demo files in the data dir. The keys file holds hashes like any keys file;
// the env file holds the plain demo keys so that a newcomer can
// `source data/demo-keys.env` — acceptable for a demo, which is why it exists
// only with --demo.
const (
	DemoKeysFile    = "demo-keys.yaml"
	DemoKeysEnvFile = "demo-keys.env"
	demoSeededKey   = "meta/demo-seeded"
)

// demoKeys are the principals --demo creates, with the env var each key is
// printed as.
var demoKeys = []struct {
	env   string
	entry auth.KeyEntry
}{
	{"AROUNDME_ADMIN_KEY", auth.KeyEntry{Name: "demo-admin", Role: auth.RoleAdmin}},
	{"AROUNDME_CLIENT_KEY", auth.KeyEntry{Name: "demo-client", Role: auth.RoleClient}},
	{"AROUNDME_ADVERTISER_KEY", auth.KeyEntry{Name: "demo-advertiser-acme", Role: auth.RoleAdvertiser, AdvertiserID: "acme"}},
}

// loadKeys loads the configured keys file, or with --demo and no keys file
// the demo keys (creating and printing them on first start).
func (s *Server) loadKeys() (*auth.KeySet, error) {
	if s.cfg.KeysFile != "" {
		return auth.LoadKeysFile(s.cfg.KeysFile)
	}
	yamlPath := filepath.Join(s.cfg.DataDir, DemoKeysFile)
	envPath := filepath.Join(s.cfg.DataDir, DemoKeysEnvFile)
	env, err := os.ReadFile(envPath)
	if errors.Is(err, fs.ErrNotExist) {
		env, err = writeDemoKeys(yamlPath, envPath)
	}
	if err != nil {
		return nil, fmt.Errorf("demo keys: %w", err)
	}
	fmt.Fprintf(s.out, "Demo API keys (also in %s; `source` it to use them):\n", envPath)
	sc := bufio.NewScanner(strings.NewReader(string(env)))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "export ") {
			fmt.Fprintf(s.out, "  %s\n", line)
		}
	}
	return auth.LoadKeysFile(yamlPath)
}

func writeDemoKeys(yamlPath, envPath string) ([]byte, error) {
	// Start from a clean hashed file: a leftover one without its env file
	// would hold hashes of keys nobody has.
	if err := os.Remove(yamlPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("# Demo API keys written by `aroundme serve --demo`. Plain keys: keep this file private.\n")
	for _, k := range demoKeys {
		key, err := auth.NewKey()
		if err != nil {
			return nil, err
		}
		e := k.entry
		e.SHA256 = auth.HashKey(key)
		if err := auth.AppendKey(yamlPath, e); err != nil {
			return nil, err
		}
		fmt.Fprintf(&b, "export %s=%s\n", k.env, key)
	}
	env := []byte(b.String())
	if err := secret.WriteFileAtomic(envPath, env, 0o600); err != nil {
		return nil, err
	}
	return env, nil
}

// seedDemo fills the catalog with the deterministic demo dataset on first
// start. A marker records completion, so an operator who later empties the
// catalog does not get it back; a start interrupted mid-seed seeds again
// (the upsert is idempotent in content).
func (s *Server) seedDemo(ctx context.Context) error {
	seeded := false
	err := s.st.View(ctx, func(tx store.Tx) error {
		_, err := tx.Get(demoSeededKey)
		seeded = err == nil
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil || seeded {
		return err
	}
	start := time.Now()
	spec := dataset.DemoSpec(s.cfg.DemoSeed, s.cfg.DemoSize)
	batch := make([]*v1.MiniProgram, 0, s.cfg.Catalog.ImportBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		_, err := s.cat.Upsert(ctx, batch)
		batch = batch[:0]
		return err
	}
	err = dataset.Generate(spec, func(_ int, mp *v1.MiniProgram) error {
		batch = append(batch, mp)
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return err
	}
	if err := s.st.Update(ctx, func(tx store.Tx) error {
		return tx.Set(demoSeededKey, []byte(s.now().UTC().Format(time.RFC3339)))
	}); err != nil {
		return err
	}
	s.log.Info("demo catalog seeded", "mini_programs", s.cfg.DemoSize, "seed", s.cfg.DemoSeed, "duration", time.Since(start))
	return nil
}

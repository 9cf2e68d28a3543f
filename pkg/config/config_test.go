package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "c.yaml")
	os.WriteFile(file, []byte("grpc-addr: 127.0.0.1:1111\nmetrics-addr: 127.0.0.1:2222\ndata-dir: /from/file\nkeys-file: k.yaml\nshutdown-grace: 3s\n"), 0o600)
	cfg, err := Load([]string{"--data-dir", "/from/flag"}, env(map[string]string{
		"AROUNDME_CONFIG":    file,
		"AROUNDME_GRPC_ADDR": "127.0.0.1:3333",
		"AROUNDME_DATA_DIR":  "/from/env",
	}), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ got, want any }{
		{cfg.GRPCAddr, "127.0.0.1:3333"},    // env over file
		{cfg.MetricsAddr, "127.0.0.1:2222"}, // file over default
		{cfg.DataDir, "/from/flag"},         // flag over env
		{cfg.GRPC.ShutdownGrace, 3 * time.Second},
		{cfg.Log.Level, "info"}, // default
	} {
		if c.got != c.want {
			t.Errorf("got %v, want %v", c.got, c.want)
		}
	}
}

func TestEveryErrorAtOnce(t *testing.T) {
	_, err := Load([]string{"--max-recv-msg-bytes", "big", "--log-format", "xml", "--import-batch", "0"},
		env(map[string]string{"AROUNDME_KEEPALIVE_TIME": "soon", "AROUNDME_DEMO": "maybe"}), io.Discard)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`--max-recv-msg-bytes "big": want an integer`,
		`--log-format "xml"`,
		`--import-batch 0`,
		`AROUNDME_KEEPALIVE_TIME="soon"`,
		`AROUNDME_DEMO="maybe": want true or false`,
		`--keys-file: required`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if n := strings.Count(err.Error(), "\n") + 1; n != 6 {
		t.Errorf("%d lines, want 6 (one per problem):\n%v", n, err)
	}
}

func TestFileErrors(t *testing.T) {
	for _, tc := range []struct{ name, body, want string }{
		{"unknown key", "grpc-adr: x\n", `line 1: unknown setting "grpc-adr"`},
		{"not a mapping", "- a\n- b\n", "want a mapping"},
		{"nested value", "grpc-addr:\n  host: x\n", `"grpc-addr" must be a single value`},
		{"twice", "demo: true\ndemo: false\n", `"demo" set twice`},
		{"bad yaml", "a: [\n", "config file"},
		{"bad value", "demo-size: many\n", "line 1: demo-size \"many\": want an integer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(t.TempDir(), "c.yaml")
			os.WriteFile(file, []byte(tc.body), 0o600)
			_, err := Load([]string{"--config", file, "--demo"}, env(nil), io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
	// An empty file sets nothing.
	file := filepath.Join(t.TempDir(), "empty.yaml")
	os.WriteFile(file, nil, 0o600)
	if _, err := Load([]string{"--config", file, "--demo"}, env(nil), io.Discard); err != nil {
		t.Fatal(err)
	}
}

func TestHelpAndDefaults(t *testing.T) {
	if _, err := Load([]string{"--help"}, env(nil), io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("--help: %v", err)
	}
	d := Default()
	d.Demo = true
	if err := d.Validate(); err != nil {
		t.Fatalf("defaults (with --demo) invalid: %v", err)
	}
	if EnvName("grpc-addr") != "AROUNDME_GRPC_ADDR" {
		t.Fatal(EnvName("grpc-addr"))
	}
}

func FuzzConfigFile(f *testing.F) {
	f.Add("grpc-addr: 127.0.0.1:1\ndemo: true\n")
	f.Add("- x")
	f.Add("a: [")
	f.Add("shutdown-grace: 1h\nmax-recv-msg-bytes: 99999999999999999999\n")
	f.Fuzz(func(t *testing.T, body string) {
		c := Default()
		byName := map[string]setting{}
		for _, s := range c.settings() {
			byName[s.name] = s
		}
		_ = applyYAML("fuzz.yaml", []byte(body), byName) // must not panic
		_ = c.Validate()
	})
}

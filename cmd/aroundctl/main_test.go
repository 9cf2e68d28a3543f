package main

import (
	"strings"
	"testing"
)

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"-h"}, {"help"}} {
		r := runCtl(t, nil, args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d", args, r.code)
		}
		for _, c := range commands {
			if !strings.Contains(r.stdout, "  "+c.name+" ") || !strings.Contains(r.stdout, c.summary) {
				t.Errorf("%v: command %s missing from\n%s", args, c.name, r.stdout)
			}
		}
		for _, g := range []string{"--addr", "--key", "--insecure", "-o", "--timeout"} {
			if !strings.Contains(r.stdout, g) {
				t.Errorf("%v: global flag %s missing", args, g)
			}
		}
	}
	for _, c := range commands {
		for _, args := range [][]string{{c.name, "--help"}, {"help", c.name}} {
			r := runCtl(t, nil, args...)
			if r.code != 0 || !strings.Contains(r.stdout, "Usage: aroundctl "+c.name) || !strings.Contains(r.stdout, "--addr") {
				t.Errorf("%v: exit %d\n%s", args, r.code, r.stdout)
			}
		}
	}
	if r := runCtl(t, nil); r.code != 2 || !strings.Contains(r.stderr, "Commands:") {
		t.Errorf("no command: exit %d\n%s", r.code, r.stderr)
	}
	if r := runCtl(t, nil, "frobnicate"); r.code != 2 || !strings.Contains(r.stderr, `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d\n%s", r.code, r.stderr)
	}
}

func TestHelpHidesKey(t *testing.T) {
	r := runCtl(t, map[string]string{"AROUNDME_KEY": "am_secret"}, "nearby", "--help")
	if strings.Contains(r.stdout, "am_secret") {
		t.Fatal("--help printed the API key from the environment")
	}
}

func TestKeyPrecedence(t *testing.T) {
	e := &env{getenv: func(k string) string {
		return map[string]string{envClientKey: "client"}[k]
	}}
	if got := e.keyFor(envClientKey); got != "client" {
		t.Fatalf("fallback: %q", got)
	}
	e.g.key = "explicit"
	if got := e.keyFor(envClientKey); got != "explicit" {
		t.Fatalf("--key: %q", got)
	}
}

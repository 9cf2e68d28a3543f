package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Environment variables read by aroundctl.
const (
	envAddr           = "AROUNDME_ADDR"
	envKey            = "AROUNDME_KEY"
	envClientKey      = "AROUNDME_CLIENT_KEY"
	envAdminKey       = "AROUNDME_ADMIN_KEY"
	defaultAddr       = "127.0.0.1:50051"
	defaultTimeout    = 10 * time.Second
	exitFailure       = 1
	exitUsage         = 2
	outputTable       = "table"
	outputJSON        = "json"
	globalFlagsHeader = "Global flags (before or after the command):"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
}

// commands are listed in this order by --help.
var commands = []command{
	{"nearby", "find the mini-programs around a position (DiscoveryService/Nearby)", runNearby},
	{"bench", "load-test Nearby against a running server, with an empty-call baseline", runBench},
	{"load-bench", "stream the benchmark catalog into the server (CatalogService/ImportMiniPrograms)", runLoadBench},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// env is what every command gets: the global flags and the outside world.
type env struct {
	g      globals
	getenv func(string) string
	stdout io.Writer
	stderr io.Writer
}

// globals are the flags every command accepts.
type globals struct {
	addr     string
	key      string
	insecure bool
	output   string
	timeout  time.Duration
}

// register adds the global flags to fs, bound to g's fields with their
// current values as defaults (so that values parsed before the command
// carry over).
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.addr, "addr", g.addr, "gRPC address of the server (env "+envAddr+")")
	fs.StringVar(&g.key, "key", g.key, "API key, sent as 'authorization: Bearer <key>' (env "+envKey+")")
	fs.BoolVar(&g.insecure, "insecure", g.insecure, "plaintext connection (TLS is not supported yet)")
	fs.StringVar(&g.output, "o", g.output, "output format: table or json")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "deadline of each call")
}

// isGlobal tells whether a flag name is a global flag.
func isGlobal(name string) bool {
	switch name {
	case "addr", "key", "insecure", "o", "timeout":
		return true
	}
	return false
}

// keyFor is the API key to send: --key or AROUNDME_KEY, else the demo key of
// the role the command needs.
func (e *env) keyFor(roleEnv string) string {
	if e.g.key != "" {
		return e.g.key
	}
	return e.getenv(roleEnv)
}

// run is main without the process: it returns the exit status.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	e := &env{getenv: getenv, stdout: stdout, stderr: stderr}
	e.g = globals{addr: getenv(envAddr), key: getenv(envKey), insecure: true, output: outputTable, timeout: defaultTimeout}
	if e.g.addr == "" {
		e.g.addr = defaultAddr
	}

	fs := flag.NewFlagSet("aroundctl", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {}
	e.g.register(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			topUsage(stdout, fs)
			return 0
		}
		fmt.Fprintln(stderr, "run 'aroundctl --help' for usage")
		return exitUsage
	}
	rest := fs.Args()
	if len(rest) == 0 {
		topUsage(stderr, fs)
		return exitUsage
	}
	name, rest := rest[0], rest[1:]
	if name == "help" {
		if len(rest) == 0 {
			topUsage(stdout, fs)
			return 0
		}
		name, rest = rest[0], []string{"--help"}
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(ctx, e, rest)
		}
	}
	fmt.Fprintf(stderr, "aroundctl: unknown command %q; run 'aroundctl --help' for the list\n", name)
	return exitUsage
}

func topUsage(w io.Writer, fs *flag.FlagSet) {
	fmt.Fprint(w, "aroundctl — command-line client of the aroundme gRPC service.\n\nUsage:\n  aroundctl [global flags] <command> [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "  %-11s %s\n", "help", "show the flags of a command ('aroundctl help nearby' = 'aroundctl nearby --help')")
	fmt.Fprintf(w, "\n%s\n", globalFlagsHeader)
	printFlags(w, fs, isGlobal)
	fmt.Fprintf(w, "\nWithout --key or %s, nearby and bench use %s and load-bench uses %s\n(as in the demo's demo-keys.env).\n", envKey, envClientKey, envAdminKey)
}

// parseCommand parses a command's flags (its own and the globals). It
// returns ok=false and the exit status when the command must not run:
// after --help (0) or on a bad flag (2).
func parseCommand(e *env, fs *flag.FlagSet, args []string, usage string) (ok bool, code int) {
	fs.SetOutput(e.stderr)
	fs.Usage = func() {}
	e.g.register(fs)
	help := func(w io.Writer) {
		fmt.Fprint(w, usage)
		fmt.Fprintln(w, "\nFlags:")
		printFlags(w, fs, func(n string) bool { return !isGlobal(n) })
		fmt.Fprintf(w, "\n%s\n", globalFlagsHeader)
		printFlags(w, fs, isGlobal)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help(e.stdout)
			return false, 0
		}
		fmt.Fprintf(e.stderr, "run '%s --help' for usage\n", fs.Name())
		return false, exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(e.stderr, "%s: unexpected argument %q; run '%s --help' for usage\n", fs.Name(), fs.Arg(0), fs.Name())
		return false, exitUsage
	}
	if e.g.output != outputTable && e.g.output != outputJSON {
		fmt.Fprintf(e.stderr, "%s: -o %q: want table or json\n", fs.Name(), e.g.output)
		return false, exitUsage
	}
	if e.g.timeout <= 0 {
		fmt.Fprintf(e.stderr, "%s: --timeout %v: must be > 0\n", fs.Name(), e.g.timeout)
		return false, exitUsage
	}
	return true, 0
}

// printFlags lists the flags of fs that keep selects, one per line, sorted,
// in the --name style.
func printFlags(w io.Writer, fs *flag.FlagSet, keep func(string) bool) {
	var lines [][2]string
	width := 0
	fs.VisitAll(func(f *flag.Flag) {
		if !keep(f.Name) {
			return
		}
		typ, usage := flag.UnquoteUsage(f)
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		left := dash + f.Name
		if typ != "" {
			left += " " + typ
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" && f.Name != "key" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		lines = append(lines, [2]string{left, usage})
		width = max(width, len(left))
	})
	sort.Slice(lines, func(i, j int) bool {
		return strings.TrimLeft(lines[i][0], "-") < strings.TrimLeft(lines[j][0], "-")
	})
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l[0], l[1])
	}
}

// fail prints msg as one "aroundctl: ..." line per line and returns 1.
func (e *env) fail(msg string) int {
	for _, line := range strings.Split(strings.TrimRight(msg, "\n"), "\n") {
		fmt.Fprintf(e.stderr, "aroundctl: %s\n", line)
	}
	return exitFailure
}

// usageError prints a usage problem of a command and returns 2.
func (e *env) usageError(cmd, format string, a ...any) int {
	fmt.Fprintf(e.stderr, "aroundctl %s: %s\n", cmd, fmt.Sprintf(format, a...))
	return exitUsage
}

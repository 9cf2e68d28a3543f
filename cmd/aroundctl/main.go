package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
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
	outputYAML        = "yaml"
	globalFlagsHeader = "Global flags (before or after the command):"
)

// command is one subcommand. A command with subs is a group: its run
// dispatches to them, and --help lists them.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) int
	subs    []command
}

// commands are listed in this order by --help.
var commands = []command{
	{"nearby", "find the mini-programs around a position (DiscoveryService/Nearby)", runNearby, nil},
	{"bench", "load-test Nearby against a running server, with an empty-call baseline", runBench, nil},
	{"soak", "run mixed traffic (Nearby + catalog writes) for minutes; report errors, p99 and server RSS over time", runSoak, nil},
	{"load-bench", "load the benchmark catalog (ImportMiniPrograms) and, with --campaigns, campaigns (CreateCampaign)", runLoadBench, nil},
	{"mini-programs", "manage the mini-program catalog (CatalogService, admin key):", runMiniPrograms, miniProgramCommands},
	{"campaigns", "manage your geofenced campaigns (CampaignService, advertiser key):", runCampaigns, campaignCommands},
	{"keys", "manage API keys (local keys file, no server call):", runKeys, keysCommands},
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
	// TLS: any of these turns TLS on (as does --insecure=false).
	tls                               bool
	tlsCA, tlsCert, tlsKey, tlsServer string
}

// register adds the global flags to fs, bound to g's fields with their
// current values as defaults (so that values parsed before the command
// carry over).
func (g *globals) register(fs *flag.FlagSet) {
	fs.StringVar(&g.addr, "addr", g.addr, "gRPC address of the server (env "+envAddr+")")
	fs.StringVar(&g.key, "key", g.key, "API key, sent as 'authorization: Bearer <key>' (env "+envKey+")")
	fs.BoolVar(&g.insecure, "insecure", g.insecure, "plaintext connection, unless a --tls flag is given")
	fs.BoolVar(&g.tls, "tls", g.tls, "connect with TLS (server certificate checked against --tls-ca or the system roots)")
	fs.StringVar(&g.tlsCA, "tls-ca", g.tlsCA, "PEM CA bundle to check the server's certificate (implies --tls)")
	fs.StringVar(&g.tlsCert, "tls-cert", g.tlsCert, "PEM client certificate for mutual TLS (with --tls-key; implies --tls)")
	fs.StringVar(&g.tlsKey, "tls-key", g.tlsKey, "PEM private key of --tls-cert")
	fs.StringVar(&g.tlsServer, "tls-server-name", g.tlsServer, "name to check in the server's certificate (default: the host of --addr)")
	fs.StringVar(&g.output, "o", g.output, "output format: table, json or yaml")
	fs.DurationVar(&g.timeout, "timeout", g.timeout, "deadline of each call")
}

// isGlobal tells whether a flag name is a global flag.
func isGlobal(name string) bool {
	switch name {
	case "addr", "key", "insecure", "o", "timeout", "tls", "tls-ca", "tls-cert", "tls-key", "tls-server-name":
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
		name, rest = rest[0], append(rest[1:], "--help")
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
	const width = 22
	for _, c := range commands {
		fmt.Fprintf(w, "  %-*s %s\n", width, c.name, c.summary)
		for _, sc := range c.subs {
			fmt.Fprintf(w, "    %-*s %s\n", width-2, sc.name, sc.summary)
		}
	}
	fmt.Fprintf(w, "  %-*s %s\n", width, "help", "show the flags of a command ('aroundctl help nearby' = 'aroundctl nearby --help')")
	fmt.Fprintf(w, "\n%s\n", globalFlagsHeader)
	printFlags(w, fs, isGlobal)
	fmt.Fprintf(w, "\nWithout --key or %s, nearby and bench use %s; load-bench and mini-programs\nuse %s; campaigns (and load-bench --campaigns) use %s; soak uses the\nclient and admin keys, for reads and writes (as in the demo's demo-keys.env).\n", envKey, envClientKey, envAdminKey, envAdvertiserKey)
}

// parseCommand parses a command's flags (its own and the globals). It
// returns ok=false and the exit status when the command must not run:
// after --help (0) or on a bad flag (2).
func parseCommand(e *env, fs *flag.FlagSet, args []string, usage string) (ok bool, code int) {
	_, ok, code = parseCommandArgs(e, fs, args, usage, argSpec{})
	return ok, code
}

// argSpec says which positional arguments and -o values a command accepts.
type argSpec struct {
	// names of the positional arguments ("ID", "FILE"), all required.
	positional []string
	// outputs are the -o values the command accepts; nil = table, json, yaml.
	outputs []string
}

// parseCommandArgs is parseCommand for commands with positional arguments:
// flags and arguments may be interleaved ("get ID -o json"); after "--"
// everything is an argument. It returns the arguments.
func parseCommandArgs(e *env, fs *flag.FlagSet, args []string, usage string, spec argSpec) (pos []string, ok bool, code int) {
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
	rest := args
	for {
		if err := fs.Parse(rest); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				help(e.stdout)
				return nil, false, 0
			}
			fmt.Fprintf(e.stderr, "run '%s --help' for usage\n", fs.Name())
			return nil, false, exitUsage
		}
		rest = fs.Args()
		if len(rest) == 0 {
			break
		}
		// Parse stops at the first argument, or after "--".
		consumed := len(args) - len(rest)
		if consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args, rest = rest[1:], rest[1:]
	}
	if len(pos) > len(spec.positional) {
		fmt.Fprintf(e.stderr, "%s: unexpected argument %q; run '%s --help' for usage\n", fs.Name(), pos[len(spec.positional)], fs.Name())
		return nil, false, exitUsage
	}
	if len(pos) < len(spec.positional) {
		fmt.Fprintf(e.stderr, "%s: missing %s; run '%s --help' for usage\n", fs.Name(), spec.positional[len(pos)], fs.Name())
		return nil, false, exitUsage
	}
	outputs := spec.outputs
	if outputs == nil {
		outputs = []string{outputTable, outputJSON, outputYAML}
	}
	if !slices.Contains(outputs, e.g.output) {
		fmt.Fprintf(e.stderr, "%s: -o %q: want %s\n", fs.Name(), e.g.output, orList(outputs))
		return nil, false, exitUsage
	}
	if e.g.timeout <= 0 {
		fmt.Fprintf(e.stderr, "%s: --timeout %v: must be > 0\n", fs.Name(), e.g.timeout)
		return nil, false, exitUsage
	}
	return pos, true, 0
}

// orList joins words as "a, b or c".
func orList(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " or " + words[len(words)-1]
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

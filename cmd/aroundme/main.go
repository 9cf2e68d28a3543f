// Command aroundme is the aroundme server and its data tools.
//
//	aroundme serve [flags]      run the gRPC server (see `aroundme serve --help`)
//	aroundme keys new [flags]   create an API key and append its hash to a keys file
//
// main stays thin: it parses, wires signals, and hands over to
// server.Serve; every error is one clear line on stderr and a non-zero exit.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/aroundme/aroundme/pkg/auth"
	"github.com/aroundme/aroundme/pkg/config"
	"github.com/aroundme/aroundme/pkg/server"
)

const usage = `aroundme — "mini-programs around me" for a super-app.

Usage:
  aroundme serve [flags]       run the gRPC server; 'aroundme serve --help' lists the flags
  aroundme keys new [flags]    create an API key, print it once, append its hash to a keys file

Quick start:
  aroundme serve --demo        seed a synthetic city into ./data and print demo keys
`

func main() {
	os.Exit(run(os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

func run(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], getenv, stdout, stderr)
	case "keys":
		if len(args) < 2 || args[1] != "new" {
			fmt.Fprintln(stderr, "usage: aroundme keys new --keys-file FILE --role client|advertiser|admin [--advertiser ID] [--name NAME]")
			return 2
		}
		return keysNew(args[2:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "aroundme: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

func serve(args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	cfg, err := config.Load(args, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		printErrors(stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := server.NewLogger(cfg.Log, stderr)
	if err := server.Serve(ctx, cfg, server.Options{Logger: log, Out: stdout}); err != nil {
		printErrors(stderr, err)
		return 1
	}
	return 0
}

// printErrors writes each line of a (possibly joined) error as its own
// "aroundme: ..." line.
func printErrors(w io.Writer, err error) {
	for _, line := range strings.Split(err.Error(), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			fmt.Fprintf(w, "aroundme: %s\n", line)
		}
	}
}

func keysNew(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("aroundme keys new", flag.ContinueOnError)
	fs.SetOutput(stderr)
	file := fs.String("keys-file", os.Getenv(config.EnvName("keys-file")), "keys file to append the hash to (created if missing)")
	role := fs.String("role", "", "client, advertiser or admin")
	adv := fs.String("advertiser", "", "advertiser id (required for --role advertiser)")
	name := fs.String("name", "", "name shown in logs instead of the key (default: role[-advertiser])")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	var errs []error
	if *file == "" {
		errs = append(errs, errors.New("--keys-file is required"))
	}
	r, err := auth.ParseRole(*role)
	if err != nil {
		errs = append(errs, fmt.Errorf("--role: %v", err))
	}
	if len(errs) > 0 {
		printErrors(stderr, errors.Join(errs...))
		return 2
	}
	if *name == "" {
		*name = *role
		if *adv != "" {
			*name += "-" + *adv
		}
	}
	key, err := auth.NewKey()
	if err != nil {
		printErrors(stderr, err)
		return 1
	}
	entry := auth.KeyEntry{Name: *name, SHA256: auth.HashKey(key), Role: r, AdvertiserID: *adv}
	if err := auth.AppendKey(*file, entry); err != nil {
		printErrors(stderr, err)
		return 1
	}
	fmt.Fprintf(stderr, "added key %q (%s) to %s; the key is shown once, below:\n", *name, r, *file)
	fmt.Fprintln(stdout, key)
	return 0
}

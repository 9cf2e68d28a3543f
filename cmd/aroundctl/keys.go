package main

import (
	"context"
	"flag"
	"fmt"

	"github.com/aroundme/aroundme/pkg/auth"
)

// envKeysFile is the server's keys-file setting, also the default of
// 'keys new --keys-file'.
const envKeysFile = "AROUNDME_KEYS_FILE"

// keysCommands are the subcommands of "keys".
var keysCommands = []command{
	{"new", "make an API key and append its hash to a keys file (the key is printed once)", runKeysNew, nil},
}

const keysUsage = `Usage: aroundctl keys <command> [flags]

Manages the server's keys file locally (no server call): the file holds only
SHA-256 hashes of the keys; the server reads it at start.

Commands:
%s
Example:
  aroundctl keys new --keys-file keys.yaml --role admin --name ops
`

func runKeys(ctx context.Context, e *env, args []string) int {
	return runGroup(ctx, e, "keys", keysUsage, keysCommands, args)
}

const keysNewUsage = `Usage: aroundctl keys new --keys-file FILE --role ROLE [flags]

Makes a fresh random API key, appends its SHA-256 hash to the keys file
(created if missing; written atomically, mode 0600) and prints the key once
on stdout; the message goes to stderr, so 'KEY=$(aroundctl keys new ...)'
captures only the key. The same as 'aroundme keys new'. Roles: client (the
super-app's backend: Nearby), advertiser (campaigns; needs --advertiser) and
admin (everything). Restart the server, or let it reload, to use the key.

Example:
  aroundctl keys new --keys-file keys.yaml --role advertiser --advertiser acme
`

func runKeysNew(_ context.Context, e *env, args []string) int {
	fs := flag.NewFlagSet("aroundctl keys new", flag.ContinueOnError)
	file := fs.String("keys-file", e.getenv(envKeysFile), "keys file to append the hash to, created if missing (env "+envKeysFile+")")
	role := fs.String("role", "", "client, advertiser or admin (required)")
	adv := fs.String("advertiser", "", "advertiser id (required for --role advertiser)")
	name := fs.String("name", "", "name shown in logs instead of the key (default: role[-advertiser])")
	if ok, code := parseCommand(e, fs, args, keysNewUsage); !ok {
		return code
	}
	if *file == "" {
		return e.usageError("keys new", "--keys-file is required")
	}
	r, err := auth.ParseRole(*role)
	if err != nil {
		return e.usageError("keys new", "--role: %v", err)
	}
	if *name == "" {
		*name = *role
		if *adv != "" {
			*name += "-" + *adv
		}
	}
	key, err := auth.NewKey()
	if err != nil {
		return e.fail(err.Error())
	}
	entry := auth.KeyEntry{Name: *name, SHA256: auth.HashKey(key), Role: r, AdvertiserID: *adv}
	if err := auth.AppendKey(*file, entry); err != nil {
		return e.fail(err.Error())
	}
	fmt.Fprintf(e.stderr, "added key %q (%s) to %s; the key is shown once, below:\n", *name, r, *file)
	fmt.Fprintln(e.stdout, key)
	return 0
}

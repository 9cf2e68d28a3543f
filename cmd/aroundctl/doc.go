// Command aroundctl is the command-line client of the aroundme gRPC service:
// it asks Nearby questions, measures the service under load, loads the
// benchmark catalog, administers the catalog, manages an advertiser's
// campaigns and makes API keys.
//
//	aroundctl nearby --lat 39.93 --lng 116.45 [--category FOOD,GAMES] [--age 30 ...] [--explain]
//	aroundctl bench --duration 30s --connections 16 --concurrency 64 [--metrics-addr 127.0.0.1:9102]
//	aroundctl bench --sponsored-compare [--rounds 2] [--metrics-addr 127.0.0.1:9102]
//	aroundctl soak --duration 10m --interval 30s [--readers 16] [--writers 2] [--importers 0] [--metrics-addr 127.0.0.1:9102]
//	aroundctl load-bench [--seed 1] [--count 1000000] [--campaigns 100000 [--concurrency 16]] [--latency-probe 200]
//	aroundctl mini-programs import FILE [--format auto|jsonl|csv|geojson] [--batch-log N] [--dry-run]
//	aroundctl mini-programs export [--category X] > catalog.jsonl
//	aroundctl mini-programs get ID | list [--category X] [--page-size N] [--page-token T] [--all]
//	aroundctl mini-programs delete|hide|unhide ID [--expected-version N]
//	aroundctl campaigns create -f campaign.yaml | get ID | list [--page-size N] [--page-token T] [--all]
//	aroundctl campaigns pause|resume|archive ID
//	aroundctl campaigns stats ID [--from RFC3339] [--to RFC3339] | reach -f fence.yaml
//	aroundctl campaigns diagnose ID --lat LAT --lng LNG [--age N] [--gender G] [--os OS] [--credit N] [--user ID] [--time RFC3339]
//	aroundctl keys new --keys-file F --role R [--advertiser ID] [--name N]
//
// Campaign files (campaigns create -f, campaigns reach -f) are YAML or JSON
// with the proto field names, decoded by protojson (unknown fields are
// errors); YAML is converted to JSON first.
//
// The import formats (JSON lines of protojson MiniPrograms, CSV with one row
// per place, GeoJSON Point features) are parsed in parse.go, streaming; rows
// or features with the same id become one mini-program with several places.
//
// Global flags go before or after the command: --addr (AROUNDME_ADDR,
// default 127.0.0.1:50051), --key (AROUNDME_KEY, sent as
// "authorization: Bearer <key>"), --insecure (plaintext, the default until
// TLS lands), -o table|json|yaml (yaml is protojson re-encoded, so the field
// names are the proto names), --timeout (per call, default 10s). When
// neither --key nor AROUNDME_KEY is set, a command falls back to the key of
// the role it needs from demo-keys.env (AROUNDME_CLIENT_KEY for nearby and
// bench, AROUNDME_ADMIN_KEY for load-bench and mini-programs,
// AROUNDME_ADVERTISER_KEY for campaigns and load-bench --campaigns), so
// `source data/demo-keys.env` is all the setup a demo needs.
//
// Errors are one line each on stderr with a hint where one helps (a rejected
// key, an unreachable server), and a non-zero exit status: 1 for a failed
// call, 2 for bad usage.
//
// The measuring logic of bench (the latency histogram, the phase runner,
// the server CPU scrape) lives in pkg/loadgen.
package main

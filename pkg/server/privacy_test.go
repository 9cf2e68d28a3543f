package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/aroundme/aroundme/geo"
	"github.com/prometheus/client_golang/prometheus"
)

// audit collects, from every server the package's tests start, each log
// line (at debug level: one per call) and each metrics registry. TestMain
// scans them after the whole suite has run: precise positions, user ids,
// ages and genders must never reach a log or a metric label.
var audit privacyAudit

type privacyAudit struct {
	mu   sync.Mutex
	logs bytes.Buffer
	regs []*prometheus.Registry
}

func (a *privacyAudit) Write(p []byte) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.logs.Write(p)
}

func (a *privacyAudit) addRegistry(r *prometheus.Registry) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.regs = append(a.regs, r)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		// A filtered run (-run) may make little traffic: then only what it
		// made is scanned, without the minimum that proves the scan ran.
		filtered := false
		if f := flag.Lookup("test.run"); f != nil && f.Value.String() != "" {
			filtered = true
		}
		if problems := audit.scan(!filtered); len(problems) > 0 {
			fmt.Fprintf(os.Stderr, "privacy audit: %d findings in the test suite's logs and metrics:\n", len(problems))
			for i, p := range problems {
				if i == 20 {
					fmt.Fprintln(os.Stderr, "  ...")
					break
				}
				fmt.Fprintln(os.Stderr, "  "+p)
			}
			code = 1
		}
	}
	os.Exit(code)
}

var (
	// A coordinate-like number: more than two decimals (≈ 1 km precision).
	preciseNumber = regexp.MustCompile(`-?\b\d{1,3}\.\d{3,}\b`)
	// An H3 cell in hex (resolution in bits 52-55).
	h3Hex = regexp.MustCompile(`\b8[0-9a-f]{14}\b`)
	// The user ids the tests send.
	userID = regexp.MustCompile(`\bu\d+\b`)
)

// auditKeys are log attributes allowed to hold precise numbers: timings.
var auditKeys = map[string]bool{"duration": true, "took": true, "time": true, "grace": true,
	"catalog_decode": true, "index_build": true, "campaigns_load": true} // the phases of the start-up

// scan returns every finding, or none. It also fails on an empty audit (the
// suite must have produced traffic for the scan to mean anything).
func (a *privacyAudit) scan(requireTraffic bool) []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []string
	lines := 0
	sc := bufio.NewScanner(bytes.NewReader(a.logs.Bytes()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		lines++
		var rec map[string]any
		if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
			out = append(out, "unparsable log line: "+sc.Text())
			continue
		}
		for k, v := range rec {
			if auditKeys[k] {
				continue
			}
			if p := suspicious(fmt.Sprint(v)); p != "" {
				out = append(out, fmt.Sprintf("log %s=%v: %s", k, v, p))
			}
		}
	}
	if requireTraffic && lines < 100 {
		out = append(out, fmt.Sprintf("only %d log lines audited: the suite's traffic did not reach the audit", lines))
	}
	series := 0
	for _, r := range a.regs {
		mfs, _ := r.Gather()
		for _, mf := range mfs {
			for _, m := range mf.GetMetric() {
				series++
				for _, l := range m.GetLabel() {
					if p := suspicious(l.GetValue()); p != "" {
						out = append(out, fmt.Sprintf("metric %s{%s=%q}: %s", mf.GetName(), l.GetName(), l.GetValue(), p))
					}
				}
			}
		}
	}
	if requireTraffic && series == 0 {
		out = append(out, "no metric series audited")
	}
	return out
}

// suspicious says what in s looks like private data, or "".
func suspicious(s string) string {
	if m := preciseNumber.FindString(s); m != "" {
		if f, err := strconv.ParseFloat(m, 64); err == nil && math.Abs(f) <= 180 {
			return "a number with more than two decimals (a precise coordinate?) " + m
		}
	}
	for _, m := range h3Hex.FindAllString(s, -1) {
		if c, err := strconv.ParseUint(m, 16, 64); err == nil && geo.CellResolution(c) > 7 {
			return "an H3 cell finer than resolution 7: " + m
		}
	}
	if m := userID.FindString(s); m != "" && !strings.HasPrefix(s, "/") {
		return "a user id: " + m
	}
	return ""
}

func TestSuspicious(t *testing.T) {
	for _, c := range []struct {
		s    string
		want bool
	}{
		{"39.9334", true}, {"-116.454", true}, {"39.93", false}, {"/aroundme.v1.DiscoveryService/Nearby", false},
		{"89283082837ffff", true},  // resolution 9
		{"872830828ffffff", false}, // resolution 7
		{"user u42 here", true}, {"OK", false}, {"1234.5678", false},
	} {
		if got := suspicious(c.s) != ""; got != c.want {
			t.Errorf("suspicious(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}

// Command bench measures pin's network-bound hot path, resolving tags, side
// by side with crane and regctl, against a real registry behind a loopback
// proxy that adds a delay to every request, demands bearer tokens from its
// own token endpoint and counts what each tool asks for. It also times
// `pin version` (start-up), measures the stripped binary and pin's peak RSS,
// and folds in `go test -bench` results. It prints a Markdown report and,
// with -write, puts it between the bench markers of BENCHMARKS.md.
//
//	go run ./bench -write BENCHMARKS.md -gobench bench.txt
//
// make bench runs it after the Go benchmarks.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

type config struct {
	Delay     time.Duration
	Runs      int
	Sizes     []int
	CompareN  int // refs for the crane and regctl comparisons
	XargsMax  int // largest size also measured with crane under xargs -P
	XargsP    int
	InMemory  bool
	Auth      bool
	Write     string // BENCHMARKS.md to update, or ""
	GoBench   string // go test -bench output to include, or ""
	Root      string // the module's root
	Pin       string // prebuilt pin, or "" to build one
	StartRuns int    // runs of `pin version`
	PinFlags  []string
	MaxURI    int  // longest request line the proxy accepts (0: any)
	Update    bool // measure pin update of the demo, keys: against a root of trust
}

func main() {
	var c config
	var sizes string
	flag.DurationVar(&c.Delay, "delay", 30*time.Millisecond, "delay the proxy adds to every request")
	flag.IntVar(&c.Runs, "runs", 5, "measured runs per case (the median is reported)")
	flag.StringVar(&sizes, "refs", "20,200,2000", "numbers of references pin resolves")
	flag.IntVar(&c.CompareN, "compare", 20, "references resolved by crane and regctl (0: no comparison)")
	flag.IntVar(&c.XargsMax, "xargs-max", 200, "largest number of references also resolved by crane under xargs -P")
	flag.IntVar(&c.XargsP, "P", 20, "parallelism of xargs -P")
	flag.BoolVar(&c.InMemory, "in-memory", false, "use go-containerregistry's in-memory registry instead of docker-registry")
	flag.BoolVar(&c.Auth, "auth", true, "require bearer tokens from the proxy's token endpoint")
	flag.StringVar(&c.Write, "write", "", "update the generated section of this BENCHMARKS.md")
	flag.StringVar(&c.GoBench, "gobench", "", "go test -bench output to include in the report")
	flag.StringVar(&c.Pin, "pin", "", "pin binary to measure (default: build ./cmd/pin with the Makefile's flags)")
	flag.IntVar(&c.StartRuns, "start-runs", 100, "runs of `pin version` for start-up time")
	flag.IntVar(&c.MaxURI, "max-uri", nginxMaxURI, "longest request line the proxy accepts, as nginx's 8 KB default (0: no limit)")
	flag.BoolVar(&c.Update, "update", true, "measure `pin update` of a 20-reference project: a keys: pin.yaml against a root of trust")
	pinFlags := flag.String("pin-flags", "", "extra flags for pin resolve, space-separated (default: none, pin's defaults)")
	flag.Parse()
	c.PinFlags = strings.Fields(*pinFlags)
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench: -refs %q: want positive numbers separated by commas\n", sizes)
			os.Exit(2)
		}
		c.Sizes = append(c.Sizes, n)
	}
	if c.Runs < 1 || c.StartRuns < 1 || c.CompareN < 0 {
		fmt.Fprintln(os.Stderr, "bench: -runs and -start-runs must be at least 1, -compare at least 0")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var err error
	if c.Root, err = moduleRoot(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	rep, err := benchmark(ctx, c, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
	rep.Command = "go run ./bench " + strings.Join(os.Args[1:], " ")
	md := rep.markdown()
	fmt.Print(md)
	if c.Write != "" {
		if err := writeSection(c.Write, md); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		fmt.Fprintf(os.Stderr, "bench: wrote %s\n", c.Write)
	}
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
		return "", fmt.Errorf("run bench inside pin's module (go env GOMOD: %v)", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out))), nil
}

// benchmark runs every case and returns the report.
func benchmark(ctx context.Context, c config, logw io.Writer) (*report, error) {
	logf := func(format string, a ...any) { fmt.Fprintf(logw, "bench: "+format+"\n", a...) }
	tmp, err := os.MkdirTemp("", "pin-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	rep := &report{Config: c, Machine: describeMachine(), Started: time.Now().UTC()}

	pin := c.Pin
	if pin == "" {
		logf("building pin")
		if pin, err = buildPin(ctx, c.Root, tmp); err != nil {
			return nil, err
		}
	}
	st, err := os.Stat(pin)
	if err != nil {
		return nil, err
	}
	rep.BinarySize = st.Size()

	repos := 0
	for _, n := range append(c.Sizes, c.CompareN) {
		repos = max(repos, n)
	}
	if c.Update {
		repos = max(repos, updateRefs)
	}
	logf("starting the registry and pushing %d repositories", repos)
	seeded := time.Now()
	e, err := newEnv(ctx, tmp, c.InMemory, c.Delay, c.Auth, repos)
	if err != nil {
		return nil, err
	}
	e.Proxy.maxURI = c.MaxURI
	defer e.Close()
	rep.Backend = e.Backend
	logf("seeded in %s; proxy on %s, %s per request", time.Since(seeded).Round(time.Millisecond), e.Addr, c.Delay)

	add := func(r result, inv invocation) error {
		logf("%s, %d refs: %d runs", r.Tool, r.Refs, c.Runs)
		s, err := measure(ctx, e, c.Runs, inv)
		if err != nil {
			return fmt.Errorf("%s, %d refs: %w", r.Tool, r.Refs, err)
		}
		r.Samples = s
		rep.Resolve = append(rep.Resolve, r)
		logf("  median %s, %d requests, %d token fetches", r.median().Round(time.Millisecond), r.last().requests, r.last().tokens)
		return nil
	}
	for _, n := range c.Sizes {
		refs := e.Refs[:n]
		args := append([]string{"resolve"}, c.PinFlags...)
		r := result{Tool: "pin resolve", Refs: n, Command: fmt.Sprintf("pin %s $(cat refs-%d.txt)", strings.Join(args, " "), n)}
		inv := invocation{argv: append(append([]string{pin}, args...), refs...), check: checkPinOutput(e, refs)}
		if err := add(r, inv); err != nil {
			return nil, err
		}
		if rep.Resolve[len(rep.Resolve)-1].RSS, err = peakRSS(ctx, e.Env(), inv); err != nil {
			return nil, err
		}
	}

	// pin remembers the registry's auth challenge (under HOME/.cache/pin):
	// the warm-up run above pinged, the measured ones did not. A first run,
	// or one with the cache off, pings: measure that too.
	if len(c.Sizes) > 0 {
		n := c.Sizes[0]
		refs := e.Refs[:n]
		args := append([]string{"resolve"}, c.PinFlags...)
		r := result{Tool: coldTool, Refs: n, Command: fmt.Sprintf("PIN_NO_CHALLENGE_CACHE=1 pin %s $(cat refs-%d.txt)", strings.Join(args, " "), n)}
		inv := invocation{argv: append(append([]string{pin}, args...), refs...), check: checkPinOutput(e, refs), env: []string{"PIN_NO_CHALLENGE_CACHE=1"}}
		if err := add(r, inv); err != nil {
			return nil, err
		}
	}

	if c.CompareN > 0 {
		if err := compare(ctx, c, e, rep, add); err != nil {
			return nil, err
		}
	}
	if c.Update {
		if rep.Update, err = benchUpdate(ctx, c, e, pin, filepath.Join(tmp, "update"), logf); err != nil {
			return nil, err
		}
	}
	logf("pin version: %d runs", c.StartRuns)
	if rep.Startup, err = startup(ctx, pin, c.StartRuns); err != nil {
		return nil, err
	}
	if c.GoBench != "" {
		if rep.GoBench, err = parseGoBench(c.GoBench); err != nil {
			return nil, err
		}
	}
	rep.Finished = time.Now().UTC()
	return rep, nil
}

// coldTool names pin's runs without a remembered auth challenge.
const coldTool = "pin resolve, cold (no remembered challenge)"

// compare times crane and regctl on the first c.CompareN references.
func compare(ctx context.Context, c config, e *env, rep *report, add func(result, invocation) error) error {
	crane, cerr := exec.LookPath("crane")
	regctl, rerr := exec.LookPath("regctl")
	if cerr != nil || rerr != nil {
		return fmt.Errorf("crane and regctl are needed for the comparison (scripts/install-test-deps.sh crane regctl): %v %v", cerr, rerr)
	}
	refs := e.Refs[:c.CompareN]
	stdin := strings.Join(refs, "\n") + "\n"
	loop := `while read -r r; do %s "$r"; done`
	if err := add(result{Tool: "crane digest, loop", Refs: c.CompareN, Command: fmt.Sprintf(loop, "crane digest") + fmt.Sprintf(" < refs-%d.txt", c.CompareN)},
		invocation{argv: []string{"bash", "-c", fmt.Sprintf(loop, crane+" digest")}, stdin: stdin, check: checkDigests(e, refs, true)}); err != nil {
		return err
	}
	for _, n := range xargsSizes(c) {
		refs := e.Refs[:n]
		p := strconv.Itoa(c.XargsP)
		if err := add(result{Tool: "crane digest, xargs -P " + p, Refs: n, Command: fmt.Sprintf("xargs -P %s -n 1 crane digest < refs-%d.txt", p, n)},
			invocation{argv: []string{"xargs", "-P", p, "-n", "1", crane, "digest"}, stdin: strings.Join(refs, "\n") + "\n", check: checkDigests(e, refs, false)}); err != nil {
			return err
		}
	}
	cmd := exec.CommandContext(ctx, regctl, "registry", "set", "--tls", "disabled", e.Addr)
	cmd.Env = e.Env()
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("regctl registry set: %w: %s", err, out)
	}
	if err := add(result{Tool: "regctl image digest, loop", Refs: c.CompareN, Command: fmt.Sprintf(loop, "regctl image digest") + fmt.Sprintf(" < refs-%d.txt", c.CompareN)},
		invocation{argv: []string{"bash", "-c", fmt.Sprintf(loop, regctl+" image digest")}, stdin: stdin, check: checkDigests(e, refs, true)}); err != nil {
		return err
	}

	return nil
}

// xargsSizes is CompareN and every size up to XargsMax, each once.
func xargsSizes(c config) []int {
	out := []int{c.CompareN}
	for _, n := range c.Sizes {
		if n <= c.XargsMax && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// startup times `pin version` runs times after a few warm-up runs.
func startup(ctx context.Context, pin string, runs int) (result, error) {
	r := result{Tool: "pin version", Command: "pin version"}
	inv := invocation{argv: []string{pin, "version"}, check: func(out string) error {
		if !strings.HasPrefix(out, "pin ") {
			return fmt.Errorf("%q", out)
		}
		return nil
	}}
	environ := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.TempDir()}
	for i := -5; i < runs; i++ {
		s, err := runOnce(ctx, environ, inv)
		if err != nil {
			return r, err
		}
		if i >= 0 {
			r.Samples = append(r.Samples, s)
		}
	}
	var err error
	r.RSS, err = peakRSS(ctx, environ, inv)
	return r, err
}

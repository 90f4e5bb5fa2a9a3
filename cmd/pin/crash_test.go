package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/atomicfile"
	"github.com/wellcomecollection/pin/internal/testenv"
	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/pin"
	"github.com/wellcomecollection/pin/signing"
)

var (
	crashTrials   = flag.Int("crash.trials", 50, "kill -9 trials at uniform moments in TestKillDuringUpdate (5 with -short)")
	crashTargeted = flag.Int("crash.targeted", 20, "kill -9 trials while files are being replaced in TestKillDuringUpdate (3 with -short)")
	crashSeed     = flag.Uint64("crash.seed", 0, "seed for the kill moments (0: from the clock; logged)")
	crashDir      = flag.String("crash.dir", "/dev/shm", "where the crash tests' projects live when it exists (empty: the test's temporary directory)")
)

// crashRoot is a temporary directory on -crash.dir, a memory file system by
// default: a kill -9 loses nothing the page cache holds, so where the files
// live does not change what a kill can leave, and the disk's fsyncs (a
// second per 1,000 files on a busy machine) would make 50 trials take
// minutes. Power loss is not simulated (see RELIABILITY.md, "Crash and concurrency").
func crashRoot(t *testing.T) string {
	t.Helper()
	if *crashDir == "" {
		return t.TempDir()
	}
	if st, err := os.Stat(*crashDir); err != nil || !st.IsDir() {
		return t.TempDir()
	}
	d, err := os.MkdirTemp(*crashDir, "pin-crash-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// crashProject is a consumer project of many files, pinned to 1.0.0, with
// 1.1.0 on the channel: the bytes of every file before and after one whole
// `pin update`, as a real pin binary writes them.
type crashProject struct {
	bin          string
	dir          string
	old, new     map[string][]byte // by slash path, pin.lock included
	firstChanged string            // the first file the update replaces
}

// builtPin is the pin binary the crash tests run, built once (TestMain
// removes it).
var builtPin struct {
	once sync.Once
	dir  string
	err  error
}

// packageDir is this package's source directory (tests start in it; other
// tests chdir later).
var packageDir, _ = os.Getwd()

// buildPin builds the pin binary (without -race) into a temporary directory:
// these tests kill it, which they cannot do to a test's own goroutines.
func buildPin(t *testing.T) string {
	t.Helper()
	builtPin.once.Do(func() {
		// go test puts its own GOROOT/bin first on PATH.
		goTool, err := exec.LookPath("go")
		if err != nil {
			builtPin.err = err
			return
		}
		if builtPin.dir, builtPin.err = os.MkdirTemp("", "pin-crash-bin-"); builtPin.err != nil {
			return
		}
		cmd := exec.Command(goTool, "build", "-o", filepath.Join(builtPin.dir, "pin"), ".")
		cmd.Dir = packageDir
		if out, err := cmd.CombinedOutput(); err != nil {
			builtPin.err = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if builtPin.err != nil {
		t.Fatal(builtPin.err)
	}
	return filepath.Join(builtPin.dir, "pin")
}

// writeCrashTree writes n files of four formats, 50 to a directory, each
// with two managed references (one in the JSON files) and a foreign image.
func writeCrashTree(t *testing.T, dir string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		a := serviceRepo("public.ecr.aws", services[i%len(services)]) + ":latest"
		b := serviceRepo("public.ecr.aws", services[(i+7)%len(services)]) + ":latest"
		var name, body string
		switch i % 4 {
		case 0:
			name, body = fmt.Sprintf("f%04d.tf", i), fmt.Sprintf("locals {\n  app   = %q\n  side  = %q\n  cache = \"public.ecr.aws/docker/library/redis:7\"\n}\n", a, b)
		case 1:
			name, body = fmt.Sprintf("f%04d.yaml", i), fmt.Sprintf("services:\n  app:\n    image: %s\n  side:\n    image: %s\n  cache:\n    image: public.ecr.aws/docker/library/redis:7\n", a, b)
		case 2:
			name, body = fmt.Sprintf("f%04d.json", i), fmt.Sprintf("{\"containerDefinitions\": [{\"name\": \"app\", \"image\": %q}, {\"name\": \"cache\", \"image\": \"public.ecr.aws/docker/library/redis:7\"}]}\n", a)
		default:
			name, body = fmt.Sprintf("Dockerfile.f%04d", i), fmt.Sprintf("FROM %s AS app\nCOPY --from=%s /x /x\nFROM public.ecr.aws/docker/library/redis:7\n", a, b)
		}
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", i/50))
		if err := os.MkdirAll(sub, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sub, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// newCrashProject publishes 1.0.0 and 1.1.0 to a directory store, writes
// files, and records the project pinned to 1.0.0 (old) and to 1.1.0 (new).
func newCrashProject(t *testing.T, files int) *crashProject {
	t.Helper()
	ctx := context.Background()
	root := crashRoot(t)
	t.Logf("project in %s", root)
	signer, err := signing.NewEphemeralSigner()
	if err != nil {
		t.Fatal(err)
	}
	pubPEM, _ := signer.PublicKeyPEM()
	pub := filepath.Join(root, "release.pub")
	if err := os.WriteFile(pub, pubPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	store := channels.NewDirStore(filepath.Join(root, "store"))
	p := &channels.Publisher{Store: store, Signer: signer, Product: "storage-service", Now: time.Now}
	for i, v := range []string{"1.0.0", "1.1.0"} {
		rel := &manifest.Release{SchemaVersion: 1, Kind: manifest.KindRelease, Product: "storage-service", Version: v,
			Source: manifest.Source{Repository: "https://github.com/wellcomecollection/storage-service"}}
		for _, s := range services {
			rel.Components = append(rel.Components, manifest.Component{Name: s, Repository: serviceRepo("public.ecr.aws", s),
				Digest: manifest.Digest([]byte(fmt.Sprint(s, i))), MediaType: "application/vnd.oci.image.manifest.v1+json"})
		}
		if _, err := p.Create(ctx, rel, channels.Stable, 24*time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	cp := &crashProject{bin: buildPin(t), dir: filepath.Join(root, "project")}
	writeCrashTree(t, cp.dir, files)
	cp.mustRun(t, "init", "--source", store.String(), "--channel", "stable", "--key-file", pub)
	cp.mustRun(t, "update", "--to", "1.0.0")
	cp.old = readTree(t, cp.dir)
	cp.mustRun(t, "update")
	cp.new = readTree(t, cp.dir)
	changed := 0
	for name, b := range cp.old {
		if !bytes.Equal(cp.new[name], b) {
			changed++
			if name != "pin.lock" && (cp.firstChanged == "" || name < cp.firstChanged) {
				cp.firstChanged = name // files are replaced in path order
			}
		}
	}
	if changed != files+1 { // every file and pin.lock
		t.Fatalf("one update changes %d files, want %d and pin.lock", changed, files)
	}
	return cp
}

func (cp *crashProject) command(args ...string) *exec.Cmd {
	cmd := exec.Command(cp.bin, args...)
	cmd.Dir = cp.dir
	cmd.Env = pinEnv("NO_COLOR=1")
	return cmd
}

func (cp *crashProject) mustRun(t *testing.T, args ...string) string {
	t.Helper()
	var errb bytes.Buffer
	cmd := cp.command(args...)
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("pin %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return errb.String()
}

// reset puts the project back to its state before the update.
func (cp *crashProject) reset(t *testing.T) {
	t.Helper()
	for name := range readTree(t, cp.dir) {
		if _, ok := cp.old[name]; !ok {
			os.Remove(filepath.Join(cp.dir, name))
		}
	}
	for name, b := range cp.old {
		if err := os.WriteFile(filepath.Join(cp.dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// readTree reads every regular file under dir, by slash path.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// crashOutcome is what a kill left: how many files were new, and whether
// pin.lock was.
type crashOutcome struct {
	filesNew, filesOld int
	lockNew            bool
	staged             int
	journal            bool
}

// inspect checks the invariants a kill must keep and describes the state.
func (cp *crashProject) inspect(t *testing.T) crashOutcome {
	t.Helper()
	var o crashOutcome
	for name, b := range readTree(t, cp.dir) {
		oldB, known := cp.old[name]
		switch {
		case name == "pin.lock":
			switch {
			case bytes.Equal(b, cp.new[name]):
				o.lockNew = true
			case !bytes.Equal(b, oldB):
				t.Errorf("pin.lock is neither the old nor the new one:\n%s", b)
			}
		case known && bytes.Equal(oldB, cp.new[name]):
			if !bytes.Equal(b, oldB) {
				t.Errorf("%s, which the update does not change, changed", name)
			}
		case known && bytes.Equal(b, oldB):
			o.filesOld++
		case known && bytes.Equal(b, cp.new[name]):
			o.filesNew++
		case known:
			t.Errorf("%s is neither entirely old nor entirely new:\n%s", name, b)
		case atomicfile.IsStaged(filepath.Base(name)):
			o.staged++
		case name == pin.PendingLockName:
			o.journal = true
		case name == pin.StagedRecordName:
			// the list of staged files the next update may remove
		default:
			t.Errorf("unexpected file %s left by the killed update", name)
		}
	}
	if o.lockNew && o.filesOld > 0 {
		t.Errorf("pin.lock names the new release while %d files are old", o.filesOld)
	}
	return o
}

// TestKillDuringUpdate kills `pin update` of 1,000 files with SIGKILL at
// random moments spread over its run, and checks after each kill that every
// file is entirely old or entirely new, that pin.lock is the old one or the
// new one with every file new, and that the next `pin update` completes the
// job: the project ends byte-identical to one uninterrupted update, with
// nothing left behind. Most of an update is verifying, scanning and staging,
// so uniform kills rarely land while files are being replaced; a second set
// of kills watches for the first replaced file and strikes at a random
// moment of the replacing that follows.
func TestKillDuringUpdate(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL and flock are Unix")
	}
	const files = 1000
	trials, targeted := *crashTrials, *crashTargeted
	if testing.Short() {
		trials, targeted = min(trials, 5), min(targeted, 3)
	}
	cp := newCrashProject(t, files)

	// The update's duration, process start to exit, the median of three;
	// and how long replacing the files takes, from the first file replaced
	// (the first in path order) to pin.lock written.
	var runs, replacing []time.Duration
	for i := 0; i < 3; i++ {
		cp.reset(t)
		start := time.Now()
		cmd := cp.command("update")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		first := cp.waitFor(cp.firstChanged, cmd)
		last := cp.waitFor("pin.lock", cmd)
		if err := cmd.Wait(); err != nil {
			t.Fatal(err)
		}
		runs = append(runs, time.Since(start))
		replacing = append(replacing, last.Sub(first))
	}
	median := func(d []time.Duration) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return max(d[1], time.Millisecond)
	}
	span, window := median(runs), median(replacing)
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	refs := bytes.Count(cp.new["pin.lock"], []byte(`"component"`))
	t.Logf("pin update of %d files (%d managed references) takes %s (runs %v), replacing them %s; %d kills uniform in [0, %s) and %d in the replacing; -crash.seed=%d",
		files, refs, span, runs, window, trials, span, targeted, seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	tally := map[string]int{}
	for trial := 0; trial < trials; trial++ {
		cp.killTrial(t, fmt.Sprint("uniform ", trial), time.Duration(rng.Int64N(int64(span))), false, tally)
	}
	t.Logf("uniform kills: %v", tally)
	tally = map[string]int{}
	for trial := 0; trial < targeted; trial++ {
		cp.killTrial(t, fmt.Sprint("targeted ", trial), time.Duration(rng.Int64N(int64(window))), true, tally)
	}
	t.Logf("kills while replacing: %v", tally)
}

// waitFor polls the project file name until it holds its new bytes and
// returns when it saw them (or when cmd has exited).
func (cp *crashProject) waitFor(name string, cmd *exec.Cmd) time.Time {
	p := filepath.Join(cp.dir, name)
	for {
		if b, err := os.ReadFile(p); err == nil && bytes.Equal(b, cp.new[name]) {
			return time.Now()
		}
		if cmd.ProcessState != nil {
			return time.Now()
		}
		time.Sleep(100 * time.Microsecond)
	}
}

// killTrial resets the project, starts `pin update`, kills it after delay
// (counted from the first file replaced when afterFirst), checks what the
// kill left, then runs `pin update` again and checks it completed the job.
func (cp *crashProject) killTrial(t *testing.T, name string, delay time.Duration, afterFirst bool, tally map[string]int) {
	t.Helper()
	cp.reset(t)
	cmd := cp.command("update")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if afterFirst {
		cp.waitFor(cp.firstChanged, cmd)
	}
	time.Sleep(delay)
	cmd.Process.Signal(syscall.SIGKILL)
	err := cmd.Wait()
	o := cp.inspect(t)
	switch {
	case o.lockNew:
		tally["after pin.lock"]++
	case o.filesNew == len(cp.new)-2: // all but pin.yaml and pin.lock
		tally["every file new, pin.lock old"]++
	case o.filesNew > 0:
		tally["some files new, pin.lock old"]++
	default:
		tally["before any file was replaced"]++
	}
	if t.Failed() {
		t.Fatalf("%s (kill after %s, exit %v): %+v", name, delay, err, o)
	}
	stderr := cp.mustRun(t, "update")
	if o.journal {
		tally["next update completed an interrupted one"]++
		if !strings.Contains(stderr, "interrupted") {
			t.Errorf("%s: the update after the kill did not say it completes an interrupted one:\n%s", name, stderr)
		}
	}
	after := readTree(t, cp.dir)
	for f, b := range cp.new {
		if !bytes.Equal(after[f], b) {
			t.Errorf("%s: %s after the next update differs from one uninterrupted update", name, f)
		}
	}
	for f := range after {
		if _, ok := cp.new[f]; !ok {
			t.Errorf("%s: %s left behind after the next update", name, f)
		}
	}
	if t.Failed() {
		t.Fatalf("%s (kill after %s): %+v", name, delay, o)
	}
}

// TestConcurrentUpdates runs two `pin update` processes in one project at
// once: the project lock serialises them, both succeed, and the project ends
// as one update leaves it. While the test itself holds the lock, both wait
// and say for which pid; with a short --lock-timeout one gives up, exit 1,
// having written nothing.
func TestConcurrentUpdates(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("flock is Unix")
	}
	cp := newCrashProject(t, 200)
	ctx := context.Background()
	type result struct {
		stderr string
		err    error
	}
	both := func(hold time.Duration, extra ...string) []result {
		t.Helper()
		var release func() error
		if hold > 0 {
			var err error
			release, err = pin.LockProject(ctx, filepath.Join(cp.dir, "pin.yaml"), pin.LockOptions{})
			if err != nil {
				t.Fatal(err)
			}
		}
		res := make([]result, 2)
		var wg sync.WaitGroup
		for i := range res {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var errb bytes.Buffer
				cmd := cp.command(append([]string{"update"}, extra...)...)
				cmd.Stderr = &errb
				res[i].err = cmd.Run()
				res[i].stderr = errb.String()
			}()
		}
		if hold > 0 {
			time.Sleep(hold)
			release()
		}
		wg.Wait()
		return res
	}
	consistent := func(what string) {
		t.Helper()
		after := readTree(t, cp.dir)
		if len(after) != len(cp.new) {
			t.Errorf("%s: %d files in the project, want %d", what, len(after), len(cp.new))
		}
		for name, b := range cp.new {
			if !bytes.Equal(after[name], b) {
				t.Errorf("%s: %s differs from one update's result", what, name)
			}
		}
	}

	waited := 0
	const pairs = 5
	for trial := 0; trial < pairs; trial++ {
		cp.reset(t)
		for i, r := range both(0) {
			if r.err != nil {
				t.Fatalf("trial %d, update %d: %v\n%s", trial, i, r.err, r.stderr)
			}
			if strings.Contains(r.stderr, "waiting for another pin process") {
				waited++
			}
		}
		consistent(fmt.Sprintf("trial %d", trial))
	}
	t.Logf("%d pairs of concurrent updates: all succeeded; one of the pair waited for the other in %d", pairs, waited)

	cp.reset(t)
	pid := fmt.Sprintf("(pid %d)", os.Getpid())
	for i, r := range both(1500 * time.Millisecond) {
		if r.err != nil || !strings.Contains(r.stderr, "waiting for another pin process "+pid) {
			t.Errorf("update %d while the test held the lock: %v, stderr:\n%s\nwant a wait for %s", i, r.err, r.stderr, pid)
		}
	}
	consistent("after waiting")

	cp.reset(t)
	for i, r := range both(3*time.Second, "--lock-timeout", "300ms") {
		code := -1
		if ee, ok := r.err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
		if code != 1 || !strings.Contains(r.stderr, "another pin process is writing") {
			t.Errorf("update %d with --lock-timeout 300ms: exit %d, stderr:\n%s\nwant exit 1 saying another pin process is writing", i, code, r.stderr)
		}
	}
	if after := readTree(t, cp.dir); len(after) != len(cp.old) || !bytes.Equal(after["pin.lock"], cp.old["pin.lock"]) {
		t.Errorf("an update that gave up waiting wrote something")
	}
	for name, b := range cp.old {
		if got, _ := os.ReadFile(filepath.Join(cp.dir, name)); !bytes.Equal(got, b) {
			t.Errorf("an update that gave up waiting changed %s", name)
		}
	}
}

// TestConcurrentReleaseCreate runs two `pin release create` processes on one
// channel at once, for a directory store and OCI stores (the in-memory
// registry, docker-registry 2.8), several times: each must succeed (one waits for the other's
// publishing lock) or fail with a conflict and succeed on retry; the channel
// ends at one sequence per release, listing every one.
func TestConcurrentReleaseCreate(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("flock is Unix")
	}
	bin := buildPin(t)
	for _, c := range []struct {
		name  string
		store func(string, string) string // nil: docker-registry
	}{{"directory", dirStore}, {"oci in-memory", ociStore}, {"oci docker-registry", nil}} {
		name := c.name
		t.Run(name, func(t *testing.T) {
			store := c.store
			if store == nil {
				store = func(string, string) string { return "oci://" + testenv.Registry(t) + "/storage-service-releases" }
			}
			dir, host := producerSetup(t, store)
			create := func(version string) (string, error) {
				var errb bytes.Buffer
				cmd := exec.Command(bin, "release", "create", version, "--channel", "stable", "--key", "release.key")
				cmd.Dir = dir
				cmd.Env = pinEnv("COSIGN_PASSWORD=" + pw["COSIGN_PASSWORD"])
				cmd.Stderr = &errb
				err := cmd.Run()
				return errb.String(), err
			}
			const trials = 2
			var retries, waited atomic.Int64
			for trial := 0; trial < trials; trial++ {
				var wg sync.WaitGroup
				for i := 0; i < 2; i++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						version := fmt.Sprintf("1.%d.0", trial*2+i)
						for attempt := 0; ; attempt++ {
							stderr, err := create(version)
							if strings.Contains(stderr, "waiting for another publisher") {
								waited.Add(1)
							}
							if err == nil {
								return
							}
							if attempt == 2 || !strings.Contains(stderr, "conflict") {
								t.Errorf("create %s (attempt %d): %v\n%s", version, attempt+1, err, stderr)
								return
							}
							retries.Add(1)
						}
					}()
				}
				wg.Wait()
			}
			var out bytes.Buffer
			show := exec.Command(bin, "channel", "show", "stable", "--output", "json")
			show.Dir, show.Env, show.Stdout = dir, pinEnv(), &out
			if err := show.Run(); err != nil {
				t.Fatalf("channel show: %v", err)
			}
			var idx manifest.Channel
			if err := json.Unmarshal(out.Bytes(), &idx); err != nil {
				t.Fatalf("channel show --output json: %v\n%s", err, out.String())
			}
			if idx.Sequence != 2*trials || len(idx.Releases) != 2*trials {
				t.Errorf("stable is at sequence %d listing %d releases after %d creates; want %d and %d", idx.Sequence, len(idx.Releases), 2*trials, 2*trials, 2*trials)
			}
			t.Logf("%s store (images on %s): %d pairs of concurrent creates, %d waited for the other, %d conflicts retried, final sequence %d", name, host, trials, waited.Load(), retries.Load(), idx.Sequence)
		})
	}
}

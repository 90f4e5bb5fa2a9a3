package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/wellcomecollection/pin/manifest"
	"github.com/wellcomecollection/pin/pin"
)

// worldRepo is the managed repository of svc as the attack world's main.tf
// writes it (host:port/y1p3h6z3/svc).
func worldRepo(t *testing.T, w *attackWorld, svc string) string {
	t.Helper()
	m := regexp.MustCompile(`"([^"@:]+(?::\d+)?/[a-z0-9]+/` + svc + `)[@:]`).FindSubmatch(mustRead(t, filepath.Join(w.project(), "main.tf")))
	if m == nil {
		t.Fatalf("main.tf names no %s", svc)
	}
	return string(m[1])
}

// utf16LE encodes s as UTF-16LE, with a byte order mark when bom is set.
func utf16LE(s string, bom bool) []byte {
	var b []byte
	if bom {
		b = []byte{0xff, 0xfe}
	}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}

// TestCheckEvadedBySpelling: a managed reference spelled so that its bytes
// do not hold "/bags_api" (escapes, a line continuation, a wide encoding)
// still runs :latest. pin check must fail on it (exit 4, or exit 2 for an
// encoding pin refuses), never say OK; and neither check nor update may
// change the file.
func TestCheckEvadedBySpelling(t *testing.T) {
	t.Parallel()
	tmpl := attackTemplate(t)
	cases := []struct {
		name, file string
		content    func(repo string) []byte // repo is host/y1p3h6z3/bags_api
		code       int
		want       string
	}{
		{"JSON \\u0062", "task.json", func(r string) []byte {
			return []byte(`{"image": "` + strings.Replace(r, "/bags_api", `/\u0062ags_api`, 1) + `:latest"}` + "\n")
		}, 4, "unrewritable"},
		{"JSON \\/", "task.json", func(r string) []byte {
			return []byte(`{"image": "` + strings.ReplaceAll(r, "/", `\/`) + `:latest"}` + "\n")
		}, 4, "unrewritable"},
		{"YAML \\x62", "deploy.yaml", func(r string) []byte {
			return []byte(`image: "` + strings.Replace(r, "/bags_api", `/\x62ags_api`, 1) + `:latest"` + "\n")
		}, 4, "unrewritable"},
		{"YAML escaped line break", "deploy.yaml", func(r string) []byte {
			return []byte(`image: "` + strings.Replace(r, "/bags_api", "/ba\\\n  gs_api", 1) + `:latest"` + "\n")
		}, 4, "unrewritable"},
		{"HCL \\u0062", "extra.tf", func(r string) []byte {
			return []byte(`locals { evasive = "` + strings.Replace(r, "/bags_api", `/\u0062ags_api`, 1) + `:latest" }` + "\n")
		}, 4, "unrewritable"},
		{"Dockerfile line continuation in FROM", "Dockerfile", func(r string) []byte {
			return []byte("FROM " + strings.Replace(r, "/bags_api", "/ba\\\ngs_api", 1) + ":latest\n")
		}, 4, "unrewritable"},
		{"Dockerfile line continuation in an ARG default", "Dockerfile", func(r string) []byte {
			return []byte("ARG BASE=" + strings.Replace(r, "/bags_api", "/bags\\\n_api", 1) + ":latest\nFROM ${BASE}\n")
		}, 4, "unrewritable"},
		{"Dockerfile shell escape", "Dockerfile", func(r string) []byte {
			return []byte("FROM " + strings.Replace(r, "/bags_api", `/\bags_api`, 1) + ":latest\n")
		}, 4, "unrewritable"},
		{"Dockerfile escape=` continuation", "Dockerfile", func(r string) []byte {
			return []byte("# escape=`\nFROM " + strings.Replace(r, "/bags_api", "/ba`\ngs_api", 1) + ":latest\n")
		}, 4, "unrewritable"},
		{"UTF-16 with a byte order mark", "deploy.yaml", func(r string) []byte {
			return utf16LE("image: "+r+":latest\n", true)
		}, 2, "UTF-16LE"},
		{"UTF-16 without a byte order mark", "deploy.yaml", func(r string) []byte {
			return utf16LE("image: "+r+":latest\n", false)
		}, 2, "UTF-16"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := tmpl.clone(t)
			runPin(t, w.project(), nil, "check").mustSucceed(t, "check before the attack")
			p := filepath.Join(w.project(), tc.file)
			if err := os.WriteFile(p, tc.content(worldRepo(t, w, "bags_api")), 0o644); err != nil {
				t.Fatal(err)
			}
			before := snapshotDir(t, w.project())
			r := runPin(t, w.project(), nil, "check")
			if r.code != tc.code || !strings.Contains(r.out+r.err, tc.want) || !strings.Contains(r.out+r.err, tc.file) {
				t.Fatalf("pin check: exit %d, want %d naming %s and %q:\n%s%s", r.code, tc.code, tc.file, tc.want, r.out, r.err)
			}
			if !equalSnapshots(before, snapshotDir(t, w.project())) {
				t.Fatal("pin check changed a file")
			}
			// update cannot fix the spelling: it pins what it can, leaves the
			// file as it is and says where it is with exit 4, as for every
			// product value it cannot pin (or refuses the encoding).
			old := mustRead(t, p)
			r = runPin(t, w.project(), nil, "update")
			if tc.code == 2 && r.code != 2 || tc.code == 4 && (r.code != 4 || !strings.Contains(r.err, tc.file+":")) {
				t.Fatalf("pin update: exit %d:\n%s%s", r.code, r.out, r.err)
			}
			if !bytes.Equal(old, mustRead(t, p)) {
				t.Fatalf("pin update changed %s", tc.file)
			}
			if tc.code == 4 {
				if r := runPin(t, w.project(), nil, "check"); r.code != 4 {
					t.Fatalf("pin check after update: exit %d, want 4:\n%s%s", r.code, r.out, r.err)
				}
			}
		})
	}
}

// snapshotRegular is snapshotDir that never opens anything but a regular
// file (not through a symlink either): the project may hold FIFOs and links
// to /dev/zero.
func snapshotRegular(t *testing.T, dir string) map[string]string {
	t.Helper()
	s := map[string]string{}
	filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		switch {
		case err != nil || info.IsDir():
		case info.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			s[p] = string(b) + info.ModTime().String()
		default:
			target, _ := os.Readlink(p)
			s[p] = info.Mode().String() + target + info.ModTime().String()
		}
		return nil
	})
	return s
}

// runPinWithin is runPin that fails the test instead of hanging when pin
// does not return within d.
func runPinWithin(t *testing.T, d time.Duration, dir string, args ...string) pinRun {
	t.Helper()
	done := make(chan pinRun, 1)
	go func() { done <- runPin(t, dir, nil, args...) }()
	select {
	case r := <-done:
		return r
	case <-time.After(d):
		t.Fatalf("pin %s did not return within %s", strings.Join(args, " "), d)
		return pinRun{}
	}
}

// TestNoHangOnSpecialFiles: a FIFO or a device planted in the directory
// store or the project, directly or through a symlink, is refused at once
// with a clear error and nothing written; it never blocks pin (holding the
// project lock) or feeds it /dev/zero until memory runs out.
func TestNoHangOnSpecialFiles(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("FIFOs and /dev/zero are Unix")
	}
	tmpl := attackTemplate(t)
	mkfifo := func(t *testing.T, p string) {
		t.Helper()
		os.Remove(p)
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(t *testing.T, target, p string) {
		t.Helper()
		os.Remove(p)
		if err := os.Symlink(target, p); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name   string
		attack func(t *testing.T, w *attackWorld)
		args   []string
		code   int
		want   string
	}{
		{"store: channel index is a FIFO", func(t *testing.T, w *attackWorld) {
			mkfifo(t, w.store("channels/stable.json"))
		}, []string{"update"}, 3, "a FIFO"},
		{"store: signature is a FIFO", func(t *testing.T, w *attackWorld) {
			mkfifo(t, w.store("channels/stable.json.sig"))
		}, []string{"update"}, 3, "a FIFO"},
		{"store: release is a symlink to /dev/zero", func(t *testing.T, w *attackWorld) {
			link(t, "/dev/zero", w.store("releases/1.1.0.json"))
		}, []string{"update"}, 3, "a character device"},
		{"store: channel index is a symlink to a FIFO", func(t *testing.T, w *attackWorld) {
			mkfifo(t, filepath.Join(w.dir, "fifo"))
			link(t, filepath.Join(w.dir, "fifo"), w.store("channels/stable.json"))
		}, []string{"check", "--online"}, 3, "a FIFO"},
		{"project: a managed file is a symlink to /dev/zero", func(t *testing.T, w *attackWorld) {
			link(t, "/dev/zero", filepath.Join(w.project(), "zero.yaml"))
		}, []string{"update"}, 2, "zero.yaml is a symlink that leaves the project directory (to /dev/zero)"},
		{"project: a managed file is a symlink to a FIFO outside", func(t *testing.T, w *attackWorld) {
			mkfifo(t, filepath.Join(w.dir, "fifo"))
			link(t, filepath.Join(w.dir, "fifo"), filepath.Join(w.project(), "fifo.yaml"))
		}, []string{"check"}, 2, "fifo.yaml is a symlink that leaves the project directory"},
		{"project: pin.lock is a FIFO", func(t *testing.T, w *attackWorld) {
			mkfifo(t, filepath.Join(w.project(), "pin.lock"))
		}, []string{"update"}, 1, "pin.lock: not a regular file (a FIFO)"},
		{"project: pin.yaml is a symlink to /dev/zero", func(t *testing.T, w *attackWorld) {
			link(t, "/dev/zero", filepath.Join(w.project(), "pin.yaml"))
		}, []string{"check"}, 2, "pin.yaml: not a regular file (a character device)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := tmpl.clone(t)
			tc.attack(t, w)
			before := snapshotRegular(t, w.project())
			start := time.Now()
			r := runPinWithin(t, 20*time.Second, w.project(), tc.args...)
			if r.code != tc.code || !strings.Contains(r.err, tc.want) {
				t.Fatalf("pin %s: exit %d, want %d with %q:\n%s%s", strings.Join(tc.args, " "), r.code, tc.code, tc.want, r.out, r.err)
			}
			if !equalSnapshots(before, snapshotRegular(t, w.project())) {
				t.Fatal("the refusal changed a file of the project")
			}
			t.Logf("refused in %s", time.Since(start).Round(time.Millisecond))
		})
	}
}

// TestSymlinkedDirectoryOut: a symlinked directory leading out of the
// project is refused like a symlinked file (exit 2, naming the link and its
// target), never skipped with the unpinned references behind it.
func TestSymlinkedDirectoryOut(t *testing.T) {
	t.Parallel()
	tmpl := attackTemplate(t)
	for _, args := range [][]string{{"check"}, {"update"}} {
		t.Run(args[0], func(t *testing.T) {
			w := tmpl.clone(t)
			outside := filepath.Join(w.dir, "elsewhere")
			os.MkdirAll(outside, 0o755)
			app := filepath.Join(outside, "app.yaml")
			os.WriteFile(app, []byte("image: "+worldRepo(t, w, "bags_api")+":latest\n"), 0o644)
			if err := os.Symlink(outside, filepath.Join(w.project(), "deploy")); err != nil {
				t.Fatal(err)
			}
			before := snapshotRegular(t, w.dir)
			r := runPin(t, w.project(), nil, args...)
			if r.code != 2 || !strings.Contains(r.err, "deploy is a symlink that leaves the project directory (to "+outside+")") {
				t.Fatalf("pin %s: exit %d, want 2 naming the link and its target:\n%s%s", args[0], r.code, r.out, r.err)
			}
			if !equalSnapshots(before, snapshotRegular(t, w.dir)) {
				t.Fatal("a file changed")
			}
		})
	}
}

// TestSignalEndsRun sends SIGINT and SIGTERM to the built pin binary while
// `pin update` holds the project lock and waits on a store that never
// answers: it must exit promptly (130 for SIGINT, 143 for SIGTERM), leave
// the project as it was, and release the lock.
func TestSignalEndsRun(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("signals and flock are Unix")
	}
	bin := buildPin(t)
	tmpl := attackTemplate(t)
	for _, tc := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		t.Run(tc.sig.String(), func(t *testing.T) {
			w := tmpl.clone(t)
			asked := make(chan struct{}, 1)
			srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
				select {
				case asked <- struct{}{}:
				default:
				}
				<-r.Context().Done() // never answers
			}))
			t.Cleanup(srv.Close)
			cfg := filepath.Join(w.project(), "pin.yaml")
			os.WriteFile(cfg, bytes.Replace(mustRead(t, cfg), []byte("../store"), []byte(srv.URL), 1), 0o644)
			before := snapshotRegular(t, w.project())

			cmd := exec.Command(bin, "update")
			cmd.Dir, cmd.Env = w.project(), pinEnv()
			var errb bytes.Buffer
			cmd.Stderr = &errb
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-asked:
			case <-time.After(30 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("pin update never asked the store:\n%s", errb.String())
			}
			sent := time.Now()
			cmd.Process.Signal(tc.sig)
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("pin update ignored %s for 10 s", tc.sig)
			}
			took := time.Since(sent)
			if code := cmd.ProcessState.ExitCode(); code != tc.code {
				t.Fatalf("exit %d after %s, want %d:\n%s", code, tc.sig, tc.code, errb.String())
			}
			if !equalSnapshots(before, snapshotRegular(t, w.project())) {
				t.Fatal("the interrupted update changed a file")
			}
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			release, err := pin.LockProject(ctx, cfg, pin.LockOptions{})
			if err != nil {
				t.Fatalf("the project lock was not released: %v", err)
			}
			release()
			t.Logf("%s: exit %d %s after the signal", tc.sig, tc.code, took.Round(time.Millisecond))
		})
	}
}

// TestUpdateKeepsLookalikeFiles: pin update removes only staged files it
// recorded writing; a user's file whose name merely looks staged stays,
// byte for byte, and is warned about.
func TestUpdateKeepsLookalikeFiles(t *testing.T) {
	t.Parallel()
	w := attackTemplate(t).clone(t)
	users := []string{".notes.pin-123", ".main.tf.pin-77"}
	for _, u := range users {
		os.WriteFile(filepath.Join(w.project(), u), []byte("mine: "+u), 0o644)
	}
	r := runPin(t, w.project(), nil, "update").mustSucceed(t, "update to 1.1.0")
	for _, u := range users {
		if b, err := os.ReadFile(filepath.Join(w.project(), u)); err != nil || string(b) != "mine: "+u {
			t.Errorf("%s: %q, %v: pin removed or changed a file it did not write", u, b, err)
		}
		if !strings.Contains(r.err, u+": named like a file pin stages, but pin has no record of writing it") {
			t.Errorf("no warning about %s:\n%s", u, r.err)
		}
	}
}

// hostile is text with terminal controls: clear the screen, set the window
// title, a C1 CSI, a carriage return that overwrites the line, a bidi override.
const hostile = "bad\x1b[2J\x1b]0;pwned\x07\u009b31m\rOK\u202e"

// TestNoTerminalEscapes: text from outside (a validly signed yank reason,
// a file's name and contents quoted in a warning) reaches stdout and stderr
// with its control characters escaped, in text and in JSON (which stays
// valid and keeps the value); the producer refuses to sign such text.
func TestNoTerminalEscapes(t *testing.T) {
	t.Parallel()
	tmpl := attackTemplate(t)
	raw := func(s string) bool { return strings.ContainsAny(s, "\x1b\x07\r\u009b\u202e") }
	t.Run("yank reason, text and JSON", func(t *testing.T) {
		w := tmpl.clone(t)
		resignStable(t, w, func(c *manifest.Channel) {
			c.Sequence++
			for i := range c.Releases {
				if c.Releases[i].Version == "1.0.0" {
					c.Releases[i].Yanked, c.Releases[i].Reason = true, hostile
				}
			}
		})
		r := runPin(t, w.project(), nil, "check", "--online")
		if r.code != 4 || raw(r.out+r.err) || !strings.Contains(r.out+r.err, `bad\u001b[2J\u001b]0;pwned\u0007\u009b31m\u000dOK\u202e`) {
			t.Fatalf("pin check --online: exit %d, want 4 with the reason escaped:\n%q\n%q", r.code, r.out, r.err)
		}
		r = runPin(t, w.project(), nil, "check", "--online", "--output", "json")
		var res struct {
			Findings []struct{ Message string } `json:"findings"`
		}
		if err := json.Unmarshal([]byte(r.out), &res); err != nil || raw(r.out) {
			t.Fatalf("JSON output: %v\n%q", err, r.out)
		}
		found := false
		for _, f := range res.Findings {
			found = found || strings.Contains(f.Message, hostile)
		}
		if !found {
			t.Fatalf("the JSON findings lost the reason's value: %q", r.out)
		}
	})
	t.Run("file name and contents in a warning", func(t *testing.T) {
		w := tmpl.clone(t)
		name := "evil\x1b[2J.yaml"
		os.WriteFile(filepath.Join(w.project(), name), []byte("image: \"${X}/"+worldRepo(t, w, "bags_api")+":"+hostile+"\"\n"), 0o644)
		r := runPin(t, w.project(), nil, "update")
		if raw(r.out+r.err) || !strings.Contains(r.err, `evil\u001b[2J.yaml`) {
			t.Fatalf("pin update: exit %d, want the warning escaped:\n%q\n%q", r.code, r.out, r.err)
		}
	})
	t.Run("producer refuses to sign a hostile yank reason", func(t *testing.T) {
		w := tmpl.clone(t)
		before := snapshotRegular(t, filepath.Join(w.dir, "store"))
		r := runPin(t, w.dir, pw, "release", "yank", "1.1.0", "--channel", "stable", "--reason", hostile, "--key", "release.key")
		if r.code != 2 || !strings.Contains(r.err, "control character") || raw(r.out+r.err) {
			t.Fatalf("pin release yank: exit %d, want 2:\n%q", r.code, r.err)
		}
		if !equalSnapshots(before, snapshotRegular(t, filepath.Join(w.dir, "store"))) {
			t.Fatal("the refused yank changed the store")
		}
	})
}

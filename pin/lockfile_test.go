package pin

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wellcomecollection/pin/channels"
	"github.com/wellcomecollection/pin/internal/atomicfile"
)

// TestUpdateCompletesInterruptedUpdate builds, by hand, each state a kill -9
// can leave Apply in (staged files never renamed; the journal written and
// some files replaced; every file replaced but pin.lock not yet), and checks
// that the next update ignores the staged files as configs, removes them, and
// writes exactly the files and pin.lock that one uninterrupted update writes.
func TestUpdateCompletesInterruptedUpdate(t *testing.T) {
	const files = 6
	type state struct {
		name     string
		replaced int  // files already renamed into place
		journal  bool // the journal was written
		// renamed: the replaced files are the staged ones renamed (so no
		// staged file is left, only the record listing them); otherwise
		// their staged copies are still there.
		renamed bool
	}
	for _, st := range []state{
		{"killed while staging", 0, false, false},
		{"killed after the journal", 0, true, false},
		{"killed between renames", files / 2, true, false},
		{"killed between renames, renamed", files / 2, true, true},
		{"killed before pin.lock", files, true, false},
		{"killed after the last rename, before the record went", files, true, true},
	} {
		t.Run(st.name, func(t *testing.T) {
			f := newFixture(t)
			f.release("1.0.0", channels.Stable, "a")
			f.release("1.1.0", channels.Stable, "b")
			for i := 0; i < files; i++ {
				f.write(fmt.Sprintf("svc%d/compose.yaml", i), fmt.Sprintf("services:\n  app:\n    image: public.ecr.aws/y1p3h6z3/%s:latest\n", services[i%len(services)]))
			}
			f.init(channels.Stable)
			if _, err := f.update(UpdateOptions{To: "1.0.0"}); err != nil {
				t.Fatal(err)
			}
			old := treeBytes(t, f.dir)

			// What one uninterrupted update writes.
			want, err := f.update(UpdateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(want.Changes) != files {
				t.Fatalf("the update changes %d files, want %d", len(want.Changes), files)
			}
			full := treeBytes(t, f.dir)
			restore(t, f.dir, old)

			// The state the kill left.
			plan, err := PlanUpdate(context.Background(), f.cfg, UpdateOptions{Now: f.clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			// As Apply stages: names recorded first, then created.
			var names []string
			for _, c := range plan.Changes {
				n, err := atomicfile.StagedName(c.File.Path)
				if err != nil {
					t.Fatal(err)
				}
				names = append(names, n)
			}
			if err := recordStaged(f.cfg, names); err != nil {
				t.Fatal(err)
			}
			for i, c := range plan.Changes {
				if err := atomicfile.StageAs(names[i], c.New, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if st.journal {
				if err := os.WriteFile(filepath.Join(f.dir, PendingLockName), plan.lockNew, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for i, c := range plan.Changes[:st.replaced] {
				if st.renamed {
					if err := os.Rename(names[i], c.File.Path); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := os.WriteFile(c.File.Path, c.New, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantStaged := files
			if st.renamed {
				wantStaged -= st.replaced
			}
			if n := len(staged(t, f.dir)); n != wantStaged {
				t.Fatalf("%d staged files, want %d", n, wantStaged)
			}

			// Check and a dry run never read the staged files as configs.
			chk, err := Check(context.Background(), f.cfg, CheckOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(chk.Findings) != st.replaced {
				t.Errorf("check reports %d findings, want %d (one per replaced file): %v", len(chk.Findings), st.replaced, chk.Findings)
			}

			again, err := PlanUpdate(context.Background(), f.cfg, UpdateOptions{Now: f.clk.Now})
			if err != nil {
				t.Fatal(err)
			}
			if again.Interrupted != st.journal {
				t.Errorf("Interrupted = %v, want %v", again.Interrupted, st.journal)
			}
			if len(again.Changes) != files-st.replaced {
				t.Errorf("the completing update changes %d files, want %d", len(again.Changes), files-st.replaced)
			}
			if err := again.Apply(); err != nil {
				t.Fatal(err)
			}
			got := treeBytes(t, f.dir)
			for name, b := range full {
				if !bytes.Equal(got[name], b) {
					t.Errorf("%s after completing differs from one uninterrupted update:\n%s\nwant:\n%s", name, got[name], b)
				}
			}
			for name := range got {
				if _, ok := full[name]; !ok {
					t.Errorf("%s left behind", name)
				}
			}
		})
	}
}

// TestUpdateLeavesLookalikes: a file that merely looks like one pin stages
// (.notes.pin-123) and that no update recorded is left alone, with a
// warning; a recorded leftover of a killed update is removed.
func TestUpdateLeavesLookalikes(t *testing.T) {
	f := newFixture(t)
	f.release("1.0.0", channels.Stable, "a")
	f.release("1.1.0", channels.Stable, "b")
	f.write("compose.yaml", "services:\n  app:\n    image: public.ecr.aws/y1p3h6z3/bags_api:latest\n")
	f.init(channels.Stable)
	if _, err := f.update(UpdateOptions{To: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	// Not pin's: a lookalike of a config's staged copy, and one of pin.lock's
	// outside the project's directory (pin owns only its own directory's
	// pin.lock, journal and staged record, and their staged copies).
	users := []string{".notes.pin-123", "sub/.compose.yaml.pin-456", "sub/.pin.lock.pin-9"}
	for _, u := range users {
		f.write(u, "the user's own "+u)
	}
	leftover, err := atomicfile.StagedName(filepath.Join(f.dir, "compose.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := recordStaged(f.cfg, []string{leftover}); err != nil {
		t.Fatal(err)
	}
	if err := atomicfile.StageAs(leftover, []byte("half an update"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A kill while pin wrote its journal, its record or pin.lock leaves a
	// staged copy no record lists (the record cannot list its own staging):
	// under pin's reserved names in the project's directory, it is pin's.
	var own []string
	for _, name := range []string{PendingLockName, StagedRecordName, "pin.lock"} {
		n, err := atomicfile.StagedName(filepath.Join(f.dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := atomicfile.StageAs(n, []byte("killed mid-write"), 0o644); err != nil {
			t.Fatal(err)
		}
		own = append(own, n)
	}
	plan, err := f.update(UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range own {
		if _, err := os.Lstat(n); !os.IsNotExist(err) {
			t.Errorf("pin's own leftover %s is still there: %v", filepath.Base(n), err)
		}
	}
	for _, u := range users {
		if got := f.read(u); got != "the user's own "+u {
			t.Errorf("%s: %q, want the user's bytes", u, got)
		}
		warned := false
		for _, w := range plan.Warnings {
			warned = warned || w.File == u && strings.Contains(w.String(), "no record of writing it: left alone")
		}
		if !warned {
			t.Errorf("no warning names %s: %v", u, plan.Warnings)
		}
	}
	if _, err := os.Lstat(leftover); !os.IsNotExist(err) {
		t.Errorf("the recorded leftover %s is still there: %v", leftover, err)
	}
	if _, err := os.Lstat(filepath.Join(f.dir, StagedRecordName)); !os.IsNotExist(err) {
		t.Errorf("%s is still there after the update: %v", StagedRecordName, err)
	}
}

// treeBytes reads every regular file under dir, by slash path.
func treeBytes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
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

// restore writes snap back over dir and removes every other file.
func restore(t *testing.T, dir string, snap map[string][]byte) {
	t.Helper()
	for name := range treeBytes(t, dir) {
		if _, ok := snap[name]; !ok {
			os.Remove(filepath.Join(dir, name))
		}
	}
	for name, b := range snap {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func staged(t *testing.T, dir string) []string {
	var out []string
	for name := range treeBytes(t, dir) {
		if atomicfile.IsStaged(filepath.Base(name)) {
			out = append(out, name)
		}
	}
	return out
}

func TestLockProjectSerialisesWriters(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "pin.yaml")
	ctx := context.Background()
	release, err := LockProject(ctx, cfg, LockOptions{})
	if err != nil {
		t.Fatal(err)
	}
	waited := 0
	_, err = LockProject(ctx, cfg, LockOptions{Wait: 100 * time.Millisecond, Waiting: func(int) { waited++ }})
	if err == nil || !strings.Contains(err.Error(), "another pin process is writing "+dir) {
		t.Fatalf("second writer: err = %v, want it told another pin process is writing %s", err, dir)
	}
	if waited != 1 {
		t.Errorf("Waiting called %d times, want once", waited)
	}
	if err := release(); err != nil {
		t.Fatal(err)
	}
	again, err := LockProject(ctx, cfg, LockOptions{})
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again()
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("the lock left %d file(s) in the project", len(entries))
	}
	// pin init may name a directory it will create.
	missing := filepath.Join(dir, "new", "pin.yaml")
	if rel, err := LockProject(ctx, missing, LockOptions{}); err != nil {
		t.Errorf("lock for a directory pin init will create: %v", err)
	} else {
		rel()
	}
}

func TestIsStagedFile(t *testing.T) {
	for name, want := range map[string]bool{
		".main.tf.pin-123456":    true,
		"..env.pin-1":            true,
		".pin.lock.pin-99":       true,
		"main.tf.pin-123":        false, // not hidden: a user's file
		".main.tf.pin-":          false,
		".main.tf.pin-12a":       false,
		".pin-123":               false,
		"docker-compose.pin.yml": false,
	} {
		if got := atomicfile.IsStaged(name); got != want {
			t.Errorf("IsStagedFile(%q) = %v, want %v", name, got, want)
		}
	}
}

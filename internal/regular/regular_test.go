//go:build unix

package regular

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	small := write("small", []byte("hello"))
	big := write("big", make([]byte, 2000))
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	zero := filepath.Join(dir, "zero")
	if err := os.Symlink("/dev/zero", zero); err != nil {
		t.Fatal(err)
	}
	linkToFifo := filepath.Join(dir, "link")
	if err := os.Symlink(fifo, linkToFifo); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path string
		want       error
		msg        string
	}{
		{"regular", small, nil, ""},
		{"over the cap", big, ErrTooLarge, "2000 bytes"},
		{"FIFO", fifo, ErrNotRegular, "a FIFO"},
		{"symlink to a FIFO", linkToFifo, ErrNotRegular, "a FIFO"},
		{"symlink to /dev/zero", zero, ErrNotRegular, "a character device"},
		{"directory", dir, ErrNotRegular, "a directory"},
		{"missing", filepath.Join(dir, "nope"), fs.ErrNotExist, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan struct{})
			var b []byte
			var err error
			go func() { b, err = ReadFile(tt.path, 1000); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("ReadFile blocked")
			}
			if tt.want == nil {
				if err != nil || string(b) != "hello" {
					t.Fatalf("%q, %v", b, err)
				}
				return
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) || !strings.Contains(err.Error(), tt.path) {
				t.Fatalf("err %v; want %v naming %s and %q", err, tt.want, tt.path, tt.msg)
			}
		})
	}
}

// Package regular reads files that must be regular files, under a size cap.
//
// pin reads files that others control: a project's configs, a directory
// store, key files. A FIFO there would block a read forever (an open for
// reading waits for a writer, holding the project lock), a device such as
// /dev/zero would be read until memory runs out, and a symlink can lead to
// either. ReadFile opens without blocking, checks on the open file (no race
// between check and read) that it is a regular file, and reads at most the
// cap.
package regular

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// ErrNotRegular is wrapped by ReadFile for a FIFO, device, socket or directory.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooLarge is wrapped by ReadFile for a file over the cap.
var ErrTooLarge = errors.New("over the size cap")

// MaxConfig is the cap on a configuration file pin reads or rewrites
// (pin.yaml, pin.lock, a managed file, a key): far above any real one.
const MaxConfig = 16 << 20

// ReadFile returns the contents of the regular file at path (symlinks
// followed), refusing anything else and anything over max bytes. Errors
// name the path; a missing file wraps fs.ErrNotExist.
func ReadFile(path string, max int64) ([]byte, error) {
	// O_NONBLOCK: opening a FIFO for reading returns at once instead of
	// waiting for a writer; on a regular file it changes nothing.
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w (%s): pin reads only regular files", path, ErrNotRegular, kind(info.Mode()))
	}
	if info.Size() > max {
		return nil, fmt.Errorf("%s: %d bytes, %w of %d bytes", path, info.Size(), ErrTooLarge, max)
	}
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s: grew while read, %w of %d bytes", path, ErrTooLarge, max)
	}
	return b, nil
}

func kind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a FIFO"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	}
	return "mode " + m.String()
}

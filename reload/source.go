package reload

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Source is where a worker's contracts come from: a local directory (DirSource) or an S3
// prefix (S3Source).
//
// Stamp must be cheap — it runs on every poll — and must change whenever the content that
// Fetch would return changes; it may also change when the content did not (a file touched
// without an edit), which only costs a reload that finds the same set. Fetch makes the
// current content available as a local directory for rules.Load and returns the stamp of
// what it fetched; the caller calls cleanup once the directory has been loaded. Both must
// honour ctx. A Source is used by one goroutine at a time.
type Source interface {
	Stamp(ctx context.Context) (string, error)
	Fetch(ctx context.Context) (dir, stamp string, cleanup func(), err error)
	// String names the source in logs: the directory, or s3://bucket/prefix.
	String() string
}

// DirSource is a local directory of contracts, as rules.Load reads it. Its stamp covers
// every file's path, size, modification time and mode, skipping directories whose names
// start with "." like rules.Load does. Symbolic links are followed, so a Kubernetes
// ConfigMap volume, whose files are links into a "..data" directory that is swapped on
// update, is seen to change through its links.
type DirSource struct {
	Dir string
}

// String returns the directory.
func (d DirSource) String() string { return d.Dir }

// Stamp fingerprints the directory's files without reading them.
func (d DirSource) Stamp(ctx context.Context) (string, error) {
	fi, err := os.Stat(d.Dir)
	if err != nil {
		return "", fmt.Errorf("stamp contracts %s: %w", d.Dir, err)
	}
	h := sha256.New()
	if !fi.IsDir() {
		fmt.Fprintf(h, "%d\x00%d\x00%s\x00", fi.Size(), fi.ModTime().UnixNano(), fi.Mode())
		return hex.EncodeToString(h.Sum(nil)), nil
	}
	var entries []string
	err = filepath.WalkDir(d.Dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if e.IsDir() {
			if path != d.Dir && strings.HasPrefix(e.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		st, err := os.Stat(path) // follows links
		if err != nil {
			// A file vanishing between the listing and the stat is a change in progress.
			return fmt.Errorf("stat %s: %w", path, err)
		}
		rel, _ := filepath.Rel(d.Dir, path)
		entries = append(entries, fmt.Sprintf("%s\x00%d\x00%d\x00%s", filepath.ToSlash(rel), st.Size(), st.ModTime().UnixNano(), st.Mode()))
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("stamp contracts %s: %w", d.Dir, err)
	}
	sort.Strings(entries)
	for _, e := range entries {
		h.Write([]byte(e))
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// Fetch returns the directory itself; there is nothing to clean up. The stamp is taken
// before rules.Load reads the files, so an edit racing the load is seen by the next poll.
func (d DirSource) Fetch(ctx context.Context) (string, string, func(), error) {
	stamp, err := d.Stamp(ctx)
	if err != nil {
		return "", "", nil, err
	}
	return d.Dir, stamp, func() {}, nil
}

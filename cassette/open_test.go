package cassette

import (
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// writeCassette makes a closed cassette of n events with bodies of size bytes.
func writeCassette(t *testing.T, path string, n, size int) {
	t.Helper()
	w, err := Create(path, CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Concurrent appends share commits: a fast way to many events.
	appendAll(t, 16, n, func(i int) error { return w.Append(t.Context(), sampleEvent(i, size)) })
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenBadFiles(t *testing.T) {
	tests := []struct {
		name    string
		make    func(t *testing.T, path string) // nil: no file
		want    error
		wantMsg string
	}{
		{name: "missing", want: ErrNotFound},
		{name: "zero-length", make: func(t *testing.T, path string) {
			if err := os.WriteFile(path, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}, want: ErrCorrupt},
		{name: "random bytes", make: func(t *testing.T, path string) {
			if err := os.WriteFile(path, []byte(rand.Text()+rand.Text()), 0o600); err != nil {
				t.Fatal(err)
			}
		}, want: ErrCorrupt},
		{name: "random pages", make: func(t *testing.T, path string) {
			b := make([]byte, 64<<10)
			rand.Read(b)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}, want: ErrCorrupt},
		{name: "directory", make: func(t *testing.T, path string) {
			if err := os.Mkdir(path, 0o700); err != nil {
				t.Fatal(err)
			}
		}, want: ErrCorrupt},
		{name: "truncated to half", make: func(t *testing.T, path string) {
			writeCassette(t, path, 300, 2048)
			truncate(t, path, func(size int64) int64 { return size / 2 })
		}, want: ErrCorrupt},
		{name: "truncated after the meta pages", make: func(t *testing.T, path string) {
			writeCassette(t, path, 300, 2048)
			truncate(t, path, func(int64) int64 { return 2*4096 + 100 })
		}, want: ErrCorrupt},
		{name: "truncated inside the first page", make: func(t *testing.T, path string) {
			writeCassette(t, path, 3, 10)
			truncate(t, path, func(int64) int64 { return 100 })
		}, want: ErrCorrupt},
		{name: "meta pages overwritten", make: func(t *testing.T, path string) {
			writeCassette(t, path, 3, 10)
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			for _, off := range []int64{16 + 20, 4096 + 16 + 20} { // inside each meta: checksum fails
				if _, err := f.WriteAt([]byte{0xAA, 0x55}, off); err != nil {
					t.Fatal(err)
				}
			}
		}, want: ErrCorrupt},
		{name: "bbolt file without meta bucket", make: func(t *testing.T, path string) {
			boltFile(t, path, func(tx *bolt.Tx) error {
				_, err := tx.CreateBucket([]byte("something"))
				return err
			})
		}, want: ErrCorrupt},
		{name: "meta bucket without events bucket", make: func(t *testing.T, path string) {
			boltFile(t, path, func(tx *bolt.Tx) error {
				b, err := tx.CreateBucket(bucketMeta)
				if err != nil {
					return err
				}
				return b.Put(metaFormat, []byte("1"))
			})
		}, want: ErrCorrupt},
		{name: "newer format", make: func(t *testing.T, path string) {
			writeCassette(t, path, 1, 10)
			boltFile(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(bucketMeta).Put(metaFormat, []byte("7"))
			})
		}, want: ErrNewerVersion, wantMsg: "written by a newer graphvcr (format 7); upgrade graphvcr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "c.bolt")
			if tc.make != nil {
				tc.make(t, path)
			}
			before := fileState(t, path)
			r, err := Open(path)
			if err == nil {
				r.Close()
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Open = %v, want %v", err, tc.want)
			}
			t.Log(err)
			if !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not name the path and %q", err, tc.wantMsg)
			}
			if after := fileState(t, path); after != before {
				t.Errorf("Open changed the file: %s -> %s", before, after)
			}
			// A writer appending to it must refuse too (except a missing file, which it creates).
			if tc.want != ErrNotFound && tc.name != "directory" {
				w, err := Create(path, CreateOptions{Append: true})
				if err == nil {
					w.Close()
				}
				if !errors.Is(err, tc.want) {
					t.Errorf("Create(Append) = %v, want %v", err, tc.want)
				}
			}
		})
	}
}

func truncate(t *testing.T, path string, size func(int64) int64) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(path, size(fi.Size())); err != nil {
		t.Fatal(err)
	}
}

// fileState sums up what Open must not change: existence, size, content.
func fileState(t *testing.T, path string) string {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		return "missing"
	}
	if fi.IsDir() {
		return "dir"
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%v %d %x", fi.Mode(), len(b), sha256.Sum256(b))
}

func TestCreateExisting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.bolt")
	writeCassette(t, path, 2, 10)

	if _, err := Create(path, CreateOptions{}); !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Create on existing = %v, want ErrExists naming the path", err)
	}

	w, err := Create(path, CreateOptions{Append: true, Meta: Meta{Version: "ignored"}})
	if err != nil {
		t.Fatal(err)
	}
	appendNext(t, w, 3, "in Append mode")
	w.Close()

	w, err = Create(path, CreateOptions{Force: true, Meta: Meta{Version: "forced"}})
	if err != nil {
		t.Fatal(err)
	}
	if w.Len() != 0 {
		t.Fatalf("Force: Len = %d, want 0", w.Len())
	}
	w.Close()
	r := openReader(t, path)
	if r.Len() != 0 || r.Meta().Version != "forced" {
		t.Fatalf("after Force: Len %d, Version %q", r.Len(), r.Meta().Version)
	}

	t.Run("Force over garbage", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "g.bolt")
		if err := os.WriteFile(p, []byte("not a cassette"), 0o600); err != nil {
			t.Fatal(err)
		}
		w, err := Create(p, CreateOptions{Force: true})
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		openReader(t, p)
	})
	t.Run("Append to missing file creates it", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "new.bolt")
		w, err := Create(p, CreateOptions{Append: true})
		if err != nil {
			t.Fatal(err)
		}
		w.Close()
		openReader(t, p)
	})
}

func TestLocking(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.bolt")
	writeCassette(t, path, 1, 10)

	t.Run("two readers at once", func(t *testing.T) {
		a := openReader(t, path)
		b := openReader(t, path)
		if a.Len() != 1 || b.Len() != 1 {
			t.Fatalf("Len = %d, %d", a.Len(), b.Len())
		}
	})
	t.Run("reader while a writer holds the file", func(t *testing.T) {
		w, err := Create(path, CreateOptions{Append: true})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		start := time.Now()
		_, err = Open(path)
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "stop it or wait") {
			t.Fatalf("Open = %v, want ErrLocked", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("Open took %v to give up, want about 1s", d)
		}
	})
	t.Run("writer while a reader holds the file", func(t *testing.T) {
		openReader(t, path)
		for _, opts := range []CreateOptions{{Append: true}, {Force: true}} {
			opts.LockTimeout = 50 * time.Millisecond
			start := time.Now()
			_, err := Create(path, opts)
			if !errors.Is(err, ErrLocked) {
				t.Fatalf("Create(%+v) = %v, want ErrLocked", opts, err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Fatalf("Create took %v to give up", d)
			}
		}
		// Force did not truncate a file a reader holds.
		if r := openReader(t, path); r.Len() != 1 {
			t.Fatalf("Len = %d after a refused Force", r.Len())
		}
	})
}

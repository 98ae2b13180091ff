package httpd

import (
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// DefaultCacheBytes is the default budget of the small-file cache.
const DefaultCacheBytes = 4 << 20

// fileCache keeps the bytes of small files (≤ 16 KiB) so that serving one
// costs one stat(2) instead of open, fstat, pread and close. An entry is
// used only while the file's device, inode, size and modification time (ns)
// are unchanged, checked by that stat on every request, so an edited file is
// never served stale. Entries are added until the budget is spent; a changed
// file replaces its entry. Safe for concurrent use.
type fileCache struct {
	entries sync.Map // rel path → *cachedFile
	used    atomic.Int64
	max     int64
}

type cachedFile struct {
	dev, ino uint64
	size     int64
	mod      time.Time
	src      source
}

func (c *cachedFile) matches(fi os.FileInfo) bool {
	dev, ino := fileID(fi)
	return c.dev == dev && c.ino == ino && c.size == fi.Size() && c.mod.Equal(fi.ModTime())
}

func fileID(fi os.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), st.Ino
	}
	return 0, 0
}

// stat stats rel under the same rules as open.
func (s *Server) stat(rel string) (os.FileInfo, error) {
	if s.cfg.FollowSymlinks {
		return os.Stat(filepath.Join(s.rootDir, filepath.FromSlash(rel)))
	}
	return s.root.Stat(rel)
}

// cached returns a small regular file's bytes from the cache, loading them
// if needed; ok is false for anything else (directories, large files,
// errors), which takes the open path.
func (s *Server) cached(rel string) (source, bool) {
	if s.cache.max <= 0 {
		return source{}, false
	}
	fi, err := s.stat(rel)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() > smallBody {
		return source{}, false
	}
	if v, ok := s.cache.entries.Load(rel); ok && v.(*cachedFile).matches(fi) {
		return v.(*cachedFile).src, true
	}
	f, err := s.open(rel)
	if err != nil {
		return source{}, false
	}
	defer f.Close()
	ffi, err := f.Stat()
	if err != nil || !sameFile(fi, ffi) {
		return source{}, false // changed between stat and open
	}
	data := make([]byte, ffi.Size())
	if n, _ := f.ReadAt(data, 0); n != len(data) {
		return source{}, false // shrank while read
	}
	src := source{mem: data, size: ffi.Size(), mod: ffi.ModTime(), etag: makeETag(ffi.ModTime(), ffi.Size()),
		ctype: contentType(rel, func() []byte { return data[:min(len(data), 512)] })}
	s.remember(rel, ffi, src)
	return src, true
}

// sameFile reports whether two stats are of the same, unchanged file.
func sameFile(a, b os.FileInfo) bool {
	da, ia := fileID(a)
	db, ib := fileID(b)
	return da == db && ia == ib && a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// remember stores an entry if the budget allows.
func (s *Server) remember(rel string, fi os.FileInfo, src source) {
	size := int64(len(src.mem)) + int64(len(rel)) + 256
	if s.cache.used.Add(size) > s.cache.max {
		s.cache.used.Add(-size)
		return
	}
	dev, ino := fileID(fi)
	old, loaded := s.cache.entries.Swap(rel, &cachedFile{dev: dev, ino: ino, size: fi.Size(), mod: fi.ModTime(), src: src})
	if loaded {
		o := old.(*cachedFile)
		s.cache.used.Add(-(int64(len(o.src.mem)) + int64(len(rel)) + 256))
	}
}

//! Segment files: naming, listing, directory fsync, a chunked positional reader and a
//! read-only memory map.
//!
//! A segment is named by the sequence of its first record, zero-padded to 20 digits, so
//! that a plain directory listing sorts in log order and a reader can find the segment
//! holding a sequence without opening any file.

use memmap2::{Advice, Mmap, MmapOptions};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

pub const SEGMENT_SUFFIX: &str = ".seg";

/// Bytes read per refill by the scan: big enough that syscalls are noise next to checksums.
pub const SCAN_CHUNK_BYTES: usize = 4 << 20;

pub fn segment_file_name(first_seq: u64) -> String {
    format!("{first_seq:020}{SEGMENT_SUFFIX}")
}

pub fn segment_path(journal_dir: &Path, first_seq: u64) -> PathBuf {
    journal_dir.join(segment_file_name(first_seq))
}

/// The first sequence encoded in a segment file name, if it is one.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// First sequences of every segment in `journal_dir`, ascending. Other files are ignored.
pub fn list_segments(journal_dir: &Path) -> io::Result<Vec<u64>> {
    let mut firsts = Vec::new();
    for entry in std::fs::read_dir(journal_dir)? {
        let entry = entry?;
        if let Some(first) = entry.file_name().to_str().and_then(parse_segment_name) {
            if entry.file_type()?.is_file() {
                firsts.push(first);
            }
        }
    }
    firsts.sort_unstable();
    Ok(firsts)
}

/// fsyncs a directory, so that a file created (or removed) in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Reads a file through one large buffer at arbitrary offsets (mostly forward).
///
/// Why not `BufReader`: the scan needs to look back at the start of the current write and
/// search forward after damage, and wants a slice of a whole record without copying.
pub struct ChunkReader {
    file: File,
    len: u64,
    buf: Vec<u8>,
    buf_start: u64,
}

impl ChunkReader {
    pub fn open(path: &Path) -> io::Result<Self> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Self { file, len, buf: Vec::new(), buf_start: 0 })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// The bytes from `offset` to the end of what is buffered (at least what
    /// `bytes(offset, 1)` would read): for looking ahead without moving the buffer.
    pub fn buffered_from(&mut self, offset: u64) -> io::Result<&[u8]> {
        self.bytes(offset, 1)?;
        let start = (offset - self.buf_start) as usize;
        Ok(&self.buf[start.min(self.buf.len())..])
    }

    /// Bytes `[offset, offset + n)`, cut short at the end of the file.
    pub fn bytes(&mut self, offset: u64, n: usize) -> io::Result<&[u8]> {
        let end = offset.saturating_add(n as u64).min(self.len);
        let want = end.saturating_sub(offset) as usize;
        let buf_end = self.buf_start + self.buf.len() as u64;
        if offset < self.buf_start || end > buf_end {
            let fill = (want.max(SCAN_CHUNK_BYTES) as u64).min(self.len.saturating_sub(offset)) as usize;
            self.buf.resize(fill, 0);
            self.file.read_exact_at(&mut self.buf, offset)?;
            self.buf_start = offset;
        }
        let start = (offset - self.buf_start) as usize;
        Ok(&self.buf[start..start + want])
    }
}

/// Bytes per page, the unit `madvise` works in (x86-64 and aarch64 Linux: 4 KiB; a larger
/// page only makes the advice cover a little more).
const PAGE_BYTES: usize = 4 << 10;

/// A segment mapped read-only from its start to the length the file had when mapped.
///
/// Why: replay reads every byte of a long range once; `read()` copied it all from the page
/// cache into a buffer first (the largest single cost of replay in `perf`, issue 22), while
/// a map hands out slices of the page cache itself.
///
/// The invariant that makes the map sound: a mapped file that shrinks underneath the map
/// raises SIGBUS on a read past its new end, so segment files are never cut while a
/// reader exists. Segments are only appended to while the journal is open (`writer.rs`
/// never truncates); the only cuts are `recovery::cut_torn_tail`, at open, before the
/// `Journal` and so before any reader exists, and [`crate::truncate_after`], which runs
/// on a closed journal (sled's lock on the index keeps other processes out; an iterator
/// left over from the closed journal in the same process must not be used after it).
/// Removing a segment file is harmless: the map keeps its pages. Bytes appended after
/// the map was made lie beyond it, and readers never need them: they stop at the durable
/// sequence captured before mapping, whose bytes the file already held.
pub struct SegmentMap {
    map: Mmap,
    /// End of the range already asked to be mapped in (`populate_ahead`).
    populated_to: usize,
}

impl SegmentMap {
    pub fn open(path: &Path) -> io::Result<SegmentMap> {
        let file = File::open(path)?;
        let len = usize::try_from(file.metadata()?.len()).map_err(|_| io::Error::other("segment larger than memory"))?;
        // SAFETY: read-only, private to this process, and never cut while mapped (the
        // invariant above); the length is the file's now, so every mapped byte exists.
        let map = unsafe { MmapOptions::new().len(len).map(&file)? };
        assert_eq!(map.len(), len, "mapped the whole segment");
        // Hint only: a failure just leaves the kernel's default readahead.
        let _ = map.advise(Advice::Sequential);
        Ok(SegmentMap { map, populated_to: 0 })
    }

    pub fn bytes(&self) -> &[u8] {
        &self.map
    }

    /// Asks the kernel to map in `[offset, offset + window)` at once (one call instead of
    /// a page fault every few pages), once the reader gets past what it asked for before.
    /// A hint: kernels before 5.14 reject `MADV_POPULATE_READ` and the pages fault in as read.
    pub fn populate_ahead(&mut self, offset: usize, window: usize) {
        if offset < self.populated_to || offset >= self.map.len() {
            return;
        }
        let start = offset - offset % PAGE_BYTES;
        let end = offset.saturating_add(window).min(self.map.len());
        let _ = self.map.advise_range(Advice::PopulateRead, start, end - start);
        self.populated_to = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort() {
        assert_eq!(segment_file_name(1), "00000000000000000001.seg");
        assert_eq!(parse_segment_name(&segment_file_name(u64::MAX)), Some(u64::MAX));
        assert_eq!(parse_segment_name("1.seg"), None);
        assert_eq!(parse_segment_name("0000000000000000000a.seg"), None);
        assert!(segment_file_name(9) < segment_file_name(10));
    }

    #[test]
    fn chunk_reader_clips_at_eof_and_refills() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(SCAN_CHUNK_BYTES + 100)).map(|i| i as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let mut r = ChunkReader::open(&path).unwrap();
        assert_eq!(r.bytes(0, 10).unwrap(), &data[..10]);
        let off = SCAN_CHUNK_BYTES as u64 - 5;
        assert_eq!(r.bytes(off, 50).unwrap(), &data[off as usize..off as usize + 50]);
        assert_eq!(r.bytes(r.len() - 3, 10).unwrap().len(), 3);
        assert_eq!(r.bytes(3, 4).unwrap(), &data[3..7]);
    }
}

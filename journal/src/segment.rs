//! Segment files: naming, listing, directory fsync and a chunked positional reader.
//!
//! A segment is named by the sequence of its first record, zero-padded to 20 digits, so
//! that a plain directory listing sorts in log order and a reader can find the segment
//! holding a sequence without opening any file.

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

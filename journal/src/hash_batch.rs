//! Chain hashes of many records at once, for replay and the open scan.
//!
//! Why: a record's hash (`format::record_hash`) is one blake3 of a few hundred bytes, and
//! blake3 hashes one short input a block at a time: on replay it was about half of all the
//! CPU time (`perf`, issue 22). Each record's hash depends only on bytes stored in that
//! record (its header's `prev_hash`, its sequence, its payload), so the hashes of a run of
//! records are independent and can be computed side by side; the chain is then checked by
//! comparing each hash with the next record's stored `prev_hash`, as before.
//!
//! How: records are queued as their `prev_hash`, sequence and where their payload lies in
//! the reader's buffer, then sorted by their number of blocks so that inputs hashed side
//! by side are mostly of one length. With AVX-512, `blake3_lanes.rs` hashes sixteen at a
//! time straight from the buffer, each lane with its own length. Otherwise each input is
//! copied behind its prefix and blake3's `hash_many` compresses up to 16 equal-length
//! inputs' full blocks in parallel SIMD lanes (chunk-start flag, no end flag: the chaining
//! value mid-chunk), then each last (possibly partial) block alone with the chunk-end and
//! root flags, which is exactly what blake3 does for a one-chunk input. Inputs longer than
//! one chunk (1024 bytes) take `format::record_hash`.
//!
//! `blake3::platform` is public but documented as unstable: `Cargo.lock` pins blake3, and
//! the tests below compare every length from 0 to past one chunk, on both paths, with
//! `record_hash`, so a blake3 upgrade that changed these functions fails to build or fails
//! those tests.

use crate::format::{self, Hash};
use blake3::platform::{self, Platform};
use blake3::{IncrementCounter, BLOCK_LEN};
use std::ops::Range;

/// blake3's IV (the SHA-256 IV): the key words of the plain (unkeyed) hash mode. These
/// constants serve `blake3_lanes.rs` too.
pub(crate) const IV: [u32; 8] = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19];
/// blake3's block flags (fixed by its specification).
pub(crate) const CHUNK_START: u8 = 1 << 0;
pub(crate) const CHUNK_END: u8 = 1 << 1;
pub(crate) const ROOT: u8 = 1 << 3;
/// One blake3 chunk; longer inputs take the ordinary hasher.
pub(crate) const CHUNK_BYTES: usize = 1024;
/// Most blocks of a one-chunk input.
const CHUNK_BLOCKS: usize = CHUNK_BYTES / BLOCK_LEN;
/// Bytes hashed before the payload: prev_hash, then the sequence (u64 LE).
pub(crate) const PREFIX_BYTES: usize = 32 + 8;

/// One queued record hash: `record_hash(prev_hash, sequence, buf[payload])`.
struct Input {
    prev_hash: Hash,
    sequence: u64,
    payload: Range<usize>,
}

impl Input {
    /// Bytes hashed.
    fn len(&self) -> usize {
        PREFIX_BYTES + self.payload.len()
    }

    /// Blocks hashed (at least 1), or 0 for an input longer than one chunk.
    fn blocks(&self) -> usize {
        if self.len() > CHUNK_BYTES {
            0
        } else {
            self.len().div_ceil(BLOCK_LEN).max(1)
        }
    }
}

/// Reusable buffers for hashing records in batches (one per reader, no allocation per record).
pub(crate) struct BatchHasher {
    platform: Platform,
    /// Whether `blake3_lanes` may run (AVX-512 F and BW).
    lanes: bool,
    inputs: Vec<Input>,
    /// Indices into `inputs`, by block count (longer-than-a-chunk ones first).
    order: Vec<u32>,
    /// Without `lanes`: each input of a group behind its prefix, zero-padded to whole
    /// blocks, and the group's chaining values.
    messages: Vec<u8>,
    cvs: Vec<u8>,
    /// Results, in the order inputs were queued.
    pub hashes: Vec<Hash>,
}

impl BatchHasher {
    pub fn new() -> BatchHasher {
        BatchHasher {
            platform: Platform::detect(),
            lanes: lanes_available(),
            inputs: Vec::new(),
            order: Vec::new(),
            messages: Vec::new(),
            cvs: Vec::new(),
            hashes: Vec::new(),
        }
    }

    /// Forgets the previous batch.
    pub fn clear(&mut self) {
        self.inputs.clear();
        self.hashes.clear();
    }

    /// Queues `record_hash(prev_hash, sequence, buf[payload])`, `buf` being the buffer
    /// [`BatchHasher::finish`] is given; `finish` computes it.
    pub fn push(&mut self, prev_hash: &Hash, sequence: u64, payload: Range<usize>) {
        self.inputs.push(Input { prev_hash: *prev_hash, sequence, payload });
    }

    /// Computes every queued hash into `self.hashes`, reading the payloads from `buf`.
    pub fn finish(&mut self, buf: &[u8]) {
        self.hashes.clear();
        self.hashes.resize(self.inputs.len(), [0; 32]);
        // Counting sort by block count: `starts[b]` is where inputs of `b` blocks begin.
        let mut starts = [0usize; CHUNK_BLOCKS + 2];
        for input in &self.inputs {
            starts[input.blocks() + 1] += 1;
        }
        for b in 1..starts.len() {
            starts[b] += starts[b - 1];
        }
        let runs = starts;
        self.order.clear();
        self.order.resize(self.inputs.len(), 0);
        for (i, input) in self.inputs.iter().enumerate() {
            let slot = &mut starts[input.blocks()];
            self.order[*slot] = i as u32;
            *slot += 1;
        }
        for &i in &self.order[..runs[1]] {
            let input = &self.inputs[i as usize];
            self.hashes[i as usize] = format::record_hash(&input.prev_hash, input.sequence, &buf[input.payload.clone()]);
        }
        #[cfg(target_arch = "x86_64")]
        if self.lanes {
            for group in self.order[runs[1]..].chunks(crate::blake3_lanes::LANES) {
                hash_lanes(&self.inputs, group, buf, &mut self.hashes);
            }
            return;
        }
        for blocks in 1..=CHUNK_BLOCKS {
            let group = runs[blocks]..runs[blocks + 1];
            if !group.is_empty() {
                self.hash_run(group, blocks, buf);
            }
        }
    }

    /// Without `lanes`: hashes `order[run]`, inputs of `blocks` blocks each.
    fn hash_run(&mut self, run: Range<usize>, blocks: usize, buf: &[u8]) {
        let block_bytes = blocks * BLOCK_LEN;
        self.messages.clear();
        for &i in &self.order[run.clone()] {
            let input = &self.inputs[i as usize];
            let start = self.messages.len();
            self.messages.extend_from_slice(&input.prev_hash);
            self.messages.extend_from_slice(&input.sequence.to_le_bytes());
            self.messages.extend_from_slice(&buf[input.payload.clone()]);
            self.messages.resize(start + block_bytes, 0);
        }
        let prefix_blocks = blocks - 1;
        self.cvs.clear();
        if prefix_blocks == 0 {
            for _ in run.clone() {
                self.cvs.extend_from_slice(&words_to_bytes(&IV));
            }
        } else {
            self.cvs.resize(run.len() * 32, 0);
            prefix_cvs(self.platform, &self.messages, block_bytes, prefix_blocks, &mut self.cvs);
        }
        for (k, &i) in self.order[run].iter().enumerate() {
            let last_start = k * block_bytes + prefix_blocks * BLOCK_LEN;
            let block: &[u8; BLOCK_LEN] = self.messages[last_start..last_start + BLOCK_LEN].try_into().expect("padded");
            let cv_bytes: &[u8; 32] = self.cvs[k * 32..k * 32 + 32].try_into().expect("32 bytes");
            let mut cv = platform::words_from_le_bytes_32(cv_bytes);
            let flags = CHUNK_END | ROOT | if prefix_blocks == 0 { CHUNK_START } else { 0 };
            let block_len = (self.inputs[i as usize].len() - prefix_blocks * BLOCK_LEN) as u8;
            self.platform.compress_in_place(&mut cv, block, block_len, 0, flags);
            self.hashes[i as usize] = words_to_bytes(&cv);
        }
    }
}

fn lanes_available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bw")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Hashes up to `LANES` one-chunk inputs (`group`: indices into `inputs`) side by side,
/// in place in `buf`; a short group repeats its last input in the spare lanes.
#[cfg(target_arch = "x86_64")]
fn hash_lanes(inputs: &[Input], group: &[u32], buf: &[u8], hashes: &mut [Hash]) {
    use crate::blake3_lanes::{self, Lane, LANES};
    let lanes: [Lane; LANES] = std::array::from_fn(|l| {
        let input = &inputs[group[l.min(group.len() - 1)] as usize];
        Lane { prev_hash: &input.prev_hash, sequence: input.sequence, payload: &buf[input.payload.clone()] }
    });
    let mut out = [[0u8; 32]; LANES];
    // SAFETY: `lanes_available` found AVX-512 F and BW.
    unsafe { blake3_lanes::hash16(&lanes, &mut out) };
    for (&i, hash) in group.iter().zip(&out) {
        hashes[i as usize] = *hash;
    }
}

/// Chaining values after the first `prefix_blocks` blocks of each message (one every
/// `stride` bytes of `messages`).
fn prefix_cvs(platform: Platform, messages: &[u8], stride: usize, prefix_blocks: usize, out: &mut [u8]) {
    fn run<const N: usize>(platform: Platform, messages: &[u8], stride: usize, out: &mut [u8]) {
        let inputs: Vec<&[u8; N]> = messages.chunks_exact(stride).map(|m| m[..N].try_into().expect("in bounds")).collect();
        platform.hash_many(&inputs, &IV, 0, IncrementCounter::No, 0, CHUNK_START, 0, out);
    }
    const B: usize = BLOCK_LEN;
    match prefix_blocks {
        1 => run::<B>(platform, messages, stride, out),
        2 => run::<{ 2 * B }>(platform, messages, stride, out),
        3 => run::<{ 3 * B }>(platform, messages, stride, out),
        4 => run::<{ 4 * B }>(platform, messages, stride, out),
        5 => run::<{ 5 * B }>(platform, messages, stride, out),
        6 => run::<{ 6 * B }>(platform, messages, stride, out),
        7 => run::<{ 7 * B }>(platform, messages, stride, out),
        8 => run::<{ 8 * B }>(platform, messages, stride, out),
        9 => run::<{ 9 * B }>(platform, messages, stride, out),
        10 => run::<{ 10 * B }>(platform, messages, stride, out),
        11 => run::<{ 11 * B }>(platform, messages, stride, out),
        12 => run::<{ 12 * B }>(platform, messages, stride, out),
        13 => run::<{ 13 * B }>(platform, messages, stride, out),
        14 => run::<{ 14 * B }>(platform, messages, stride, out),
        15 => run::<{ 15 * B }>(platform, messages, stride, out),
        n => unreachable!("a one-chunk input has at most {} full blocks before its last, not {n}", CHUNK_BLOCKS - 1),
    }
}

fn words_to_bytes(words: &[u32; 8]) -> Hash {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(words) {
        chunk.copy_from_slice(&word.to_le_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hashers for every path and blake3 platform this CPU can run.
    fn hashers() -> Vec<BatchHasher> {
        let mut hashers = Vec::new();
        for platform in [Some(Platform::portable()), Platform::sse41(), Platform::avx2(), Platform::avx512()].into_iter().flatten() {
            let mut hasher = BatchHasher::new();
            hasher.platform = platform;
            hasher.lanes = false;
            hashers.push(hasher);
        }
        if lanes_available() {
            hashers.push(BatchHasher::new());
        }
        hashers
    }

    #[test]
    fn every_length_and_path_matches_record_hash() {
        // Payloads at odd offsets of one buffer, so that blocks read in place are unaligned.
        let buf: Vec<u8> = (0..4 * CHUNK_BYTES).map(|i| (i * 7 + 3) as u8).collect();
        for mut hasher in hashers() {
            let path = format!("{:?}, lanes {}", hasher.platform, hasher.lanes);
            let mut expected = Vec::new();
            // Interleave lengths so that groups are not contiguous in the batch.
            for round in 0..2 {
                for len in (0..CHUNK_BYTES + 200).filter(|l| l % 2 == round) {
                    let prev = [len as u8; 32];
                    let payload = len * 3 % 1001..len * 3 % 1001 + len;
                    hasher.push(&prev, len as u64 * 31, payload.clone());
                    expected.push(format::record_hash(&prev, len as u64 * 31, &buf[payload]));
                }
            }
            hasher.finish(&buf);
            assert_eq!(hasher.hashes.len(), expected.len());
            for (i, (got, want)) in hasher.hashes.iter().zip(&expected).enumerate() {
                assert_eq!(got, want, "{path}: input {i}");
            }
            hasher.clear();
            hasher.push(&[9; 32], 1, 5..10);
            hasher.finish(&buf);
            assert_eq!(hasher.hashes, vec![format::record_hash(&[9; 32], 1, &buf[5..10])], "{path}");
        }
    }

    #[test]
    fn short_batches_of_mixed_lengths() {
        let buf = vec![0x5a; 2000];
        for n in 0..40usize {
            for mut hasher in hashers() {
                for k in 0..n {
                    hasher.push(&[k as u8; 32], k as u64, k..k + (k * 37) % 1100);
                }
                hasher.finish(&buf);
                for k in 0..n {
                    let want = format::record_hash(&[k as u8; 32], k as u64, &buf[k..k + (k * 37) % 1100]);
                    assert_eq!(hasher.hashes[k], want, "{:?}, lanes {}: {n} inputs, input {k}", hasher.platform, hasher.lanes);
                }
            }
        }
    }
}

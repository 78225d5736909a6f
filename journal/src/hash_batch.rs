//! Chain hashes of many records at once, for replay.
//!
//! Why: a record's hash (`format::record_hash`) is one blake3 of a few hundred bytes, and
//! blake3 hashes one short input a block at a time: on replay it was about half of all the
//! CPU time (`perf`, issue 22). Each record's hash depends only on bytes stored in that
//! record (its header's `prev_hash`, its sequence, its payload), so the hashes of a run of
//! records are independent and can be computed side by side; the chain is then checked by
//! comparing each hash with the next record's stored `prev_hash`, as before.
//!
//! How: blake3's `hash_many` compresses up to 16 equal-length inputs in parallel SIMD
//! lanes. An input of up to one chunk (1024 bytes) is hashed as its full 64-byte blocks
//! (`hash_many`, chunk-start flag, no end flag: the chaining value mid-chunk), then its last
//! (possibly partial) block alone with the chunk-end and root flags, which is exactly what
//! blake3 does for a one-chunk input. Inputs are grouped by their number of full blocks;
//! longer inputs fall back to `format::record_hash`.
//!
//! `blake3::platform` is public but documented as unstable: `Cargo.lock` pins blake3, and
//! the tests below compare every length from 0 to past one chunk with `record_hash`, so a
//! blake3 upgrade that changed these functions fails to build or fails those tests.

use crate::format::{self, Hash};
use blake3::platform::{self, Platform};
use blake3::{IncrementCounter, BLOCK_LEN};

/// blake3's IV (the SHA-256 IV): the key words of the plain (unkeyed) hash mode.
const IV: [u32; 8] = [0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A, 0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19];
/// blake3's block flags (fixed by its specification).
const CHUNK_START: u8 = 1 << 0;
const CHUNK_END: u8 = 1 << 1;
const ROOT: u8 = 1 << 3;
/// One blake3 chunk; longer inputs take the ordinary hasher.
const CHUNK_BYTES: usize = 1024;
/// Largest number of full blocks before the last block, for a one-chunk input.
const PREFIX_BLOCKS_MAX: usize = CHUNK_BYTES / BLOCK_LEN - 1;
/// Bytes hashed before the payload: prev_hash, then the sequence (u64 LE).
const PREFIX_BYTES: usize = 32 + 8;

/// Reusable buffers for hashing records in batches (one per reader, no allocation per record).
pub(crate) struct BatchHasher {
    platform: Platform,
    /// Each queued input, zero-padded to whole blocks.
    messages: Vec<u8>,
    /// Per queued input: start in `messages`, length in bytes (0 = hashed already).
    inputs: Vec<(usize, usize)>,
    cvs: Vec<u8>,
    /// Results, in the order inputs were queued.
    pub hashes: Vec<Hash>,
}

impl BatchHasher {
    pub fn new() -> BatchHasher {
        BatchHasher { platform: Platform::detect(), messages: Vec::new(), inputs: Vec::new(), cvs: Vec::new(), hashes: Vec::new() }
    }

    /// Forgets the previous batch.
    pub fn clear(&mut self) {
        self.messages.clear();
        self.inputs.clear();
        self.hashes.clear();
    }

    /// Queues `record_hash(prev_hash, sequence, payload)`; [`BatchHasher::finish`] computes it.
    pub fn push(&mut self, prev_hash: &Hash, sequence: u64, payload: &[u8]) {
        let len = PREFIX_BYTES + payload.len();
        if len > CHUNK_BYTES {
            self.inputs.push((0, 0));
            self.hashes.push(format::record_hash(prev_hash, sequence, payload));
            return;
        }
        let start = self.messages.len();
        self.messages.extend_from_slice(prev_hash);
        self.messages.extend_from_slice(&sequence.to_le_bytes());
        self.messages.extend_from_slice(payload);
        self.messages.resize(start + len.div_ceil(BLOCK_LEN) * BLOCK_LEN, 0);
        self.inputs.push((start, len));
        self.hashes.push([0; 32]);
    }

    /// Computes every queued hash into `self.hashes`.
    pub fn finish(&mut self) {
        for prefix_blocks in 0..=PREFIX_BLOCKS_MAX {
            let group: Vec<usize> =
                (0..self.inputs.len()).filter(|&i| self.inputs[i].1 > 0 && (self.inputs[i].1 - 1) / BLOCK_LEN == prefix_blocks).collect();
            if group.is_empty() {
                continue;
            }
            self.cvs.clear();
            self.cvs.resize(group.len() * 32, 0);
            if prefix_blocks == 0 {
                for cv in self.cvs.chunks_exact_mut(32) {
                    cv.copy_from_slice(&words_to_bytes(&IV));
                }
            } else {
                let starts: Vec<usize> = group.iter().map(|&i| self.inputs[i].0).collect();
                prefix_cvs(self.platform, &self.messages, &starts, prefix_blocks, &mut self.cvs);
            }
            for (k, &i) in group.iter().enumerate() {
                let (start, len) = self.inputs[i];
                let last_start = start + prefix_blocks * BLOCK_LEN;
                let block: &[u8; BLOCK_LEN] = self.messages[last_start..last_start + BLOCK_LEN].try_into().expect("padded");
                let cv_bytes: &[u8; 32] = self.cvs[k * 32..k * 32 + 32].try_into().expect("32 bytes");
                let mut cv = platform::words_from_le_bytes_32(cv_bytes);
                let flags = CHUNK_END | ROOT | if prefix_blocks == 0 { CHUNK_START } else { 0 };
                let block_len = (len - prefix_blocks * BLOCK_LEN) as u8;
                self.platform.compress_in_place(&mut cv, block, block_len, 0, flags);
                self.hashes[i] = words_to_bytes(&cv);
            }
        }
    }
}

/// Chaining values after the first `prefix_blocks` blocks of each message at `starts`.
fn prefix_cvs(platform: Platform, messages: &[u8], starts: &[usize], prefix_blocks: usize, out: &mut [u8]) {
    fn run<const N: usize>(platform: Platform, messages: &[u8], starts: &[usize], out: &mut [u8]) {
        let inputs: Vec<&[u8; N]> = starts.iter().map(|&s| messages[s..s + N].try_into().expect("in bounds")).collect();
        platform.hash_many(&inputs, &IV, 0, IncrementCounter::No, 0, CHUNK_START, 0, out);
    }
    const B: usize = BLOCK_LEN;
    match prefix_blocks {
        1 => run::<B>(platform, messages, starts, out),
        2 => run::<{ 2 * B }>(platform, messages, starts, out),
        3 => run::<{ 3 * B }>(platform, messages, starts, out),
        4 => run::<{ 4 * B }>(platform, messages, starts, out),
        5 => run::<{ 5 * B }>(platform, messages, starts, out),
        6 => run::<{ 6 * B }>(platform, messages, starts, out),
        7 => run::<{ 7 * B }>(platform, messages, starts, out),
        8 => run::<{ 8 * B }>(platform, messages, starts, out),
        9 => run::<{ 9 * B }>(platform, messages, starts, out),
        10 => run::<{ 10 * B }>(platform, messages, starts, out),
        11 => run::<{ 11 * B }>(platform, messages, starts, out),
        12 => run::<{ 12 * B }>(platform, messages, starts, out),
        13 => run::<{ 13 * B }>(platform, messages, starts, out),
        14 => run::<{ 14 * B }>(platform, messages, starts, out),
        15 => run::<{ 15 * B }>(platform, messages, starts, out),
        n => unreachable!("a one-chunk input has at most {PREFIX_BLOCKS_MAX} full blocks before its last, not {n}"),
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

    #[test]
    fn every_length_matches_record_hash() {
        let payload: Vec<u8> = (0..CHUNK_BYTES + 200).map(|i| (i * 7 + 3) as u8).collect();
        let mut hasher = BatchHasher::new();
        let mut expected = Vec::new();
        // Interleave lengths so that groups are not contiguous in the batch.
        for round in 0..2 {
            for len in (0..payload.len()).filter(|l| l % 2 == round) {
                let prev = [len as u8; 32];
                hasher.push(&prev, len as u64 * 31, &payload[..len]);
                expected.push(format::record_hash(&prev, len as u64 * 31, &payload[..len]));
            }
        }
        hasher.finish();
        assert_eq!(hasher.hashes.len(), expected.len());
        for (i, (got, want)) in hasher.hashes.iter().zip(&expected).enumerate() {
            assert_eq!(got, want, "input {i}");
        }
        hasher.clear();
        hasher.push(&[9; 32], 1, b"again");
        hasher.finish();
        assert_eq!(hasher.hashes, vec![format::record_hash(&[9; 32], 1, b"again")]);
    }

    #[test]
    fn every_platform_agrees() {
        let payload = vec![0x5a; 700];
        for platform in [Some(Platform::portable()), Platform::sse41(), Platform::avx2(), Platform::avx512()].into_iter().flatten() {
            let mut hasher = BatchHasher::new();
            hasher.platform = platform;
            for n in 0..40 {
                hasher.push(&[n as u8; 32], n, &payload[..(n as usize * 17) % 700]);
            }
            hasher.finish();
            for n in 0..40u64 {
                assert_eq!(hasher.hashes[n as usize], format::record_hash(&[n as u8; 32], n, &payload[..(n as usize * 17) % 700]));
            }
        }
    }
}

//! blake3 of sixteen short inputs side by side (AVX-512), each input with its own length.
//!
//! Why: replay and the open scan hash every record (`format::record_hash`), a few hundred
//! bytes each. blake3's own `hash_many` takes whole blocks and one key for all its lanes,
//! so with it every record's last (partial) block went through a one-lane compression
//! (8-10 % of replay in `perf`), and every payload had to be copied behind its prefix
//! first (`hash_many` wants each input contiguous). Here every lane has its own chaining
//! value, block length and flags, and each block is loaded straight from where its bytes
//! are (the reader's buffer; a partial block with a masked load, which reads nothing past
//! the input's end), so neither the one-lane compressions nor the copy remain.
//!
//! How: the compression function of the blake3 specification (block counter 0: inputs of
//! one chunk, 1024 bytes, at most) on sixteen lanes of 32-bit words, one 512-bit register
//! per state word, as blake3's own AVX-512 code does; the sixteen blocks of a step are
//! loaded one per lane and transposed into message words. `hash_batch.rs` uses it when the
//! CPU has AVX-512 (F and BW), and compares it with the `blake3` crate in its tests.

#![cfg(target_arch = "x86_64")]

use crate::format::Hash;
use crate::hash_batch::{CHUNK_BYTES, CHUNK_END, CHUNK_START, IV, PREFIX_BYTES, ROOT};
use blake3::BLOCK_LEN as BLOCK_BYTES;
use std::arch::x86_64::*;

/// Inputs hashed side by side: one 512-bit register of 32-bit words.
pub(crate) const LANES: usize = 16;

/// The specification's message permutation, applied between rounds.
const MSG_PERMUTATION: [usize; 16] = [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8];

/// Message word order of each of the seven rounds (the permutation applied 0..7 times).
const MSG_SCHEDULE: [[usize; 16]; 7] = {
    let mut schedule = [[0usize; 16]; 7];
    let mut i = 0;
    while i < 16 {
        schedule[0][i] = i;
        i += 1;
    }
    let mut r = 1;
    while r < 7 {
        let mut i = 0;
        while i < 16 {
            schedule[r][i] = schedule[r - 1][MSG_PERMUTATION[i]];
            i += 1;
        }
        r += 1;
    }
    schedule
};

/// Payload bytes in a record's first block, after the prefix.
const HEAD_BYTES: usize = BLOCK_BYTES - PREFIX_BYTES;

/// One record's hash input, `prev_hash ‖ sequence LE ‖ payload` (at most one chunk).
#[derive(Clone, Copy)]
pub(crate) struct Lane<'a> {
    pub prev_hash: &'a [u8; 32],
    pub sequence: u64,
    pub payload: &'a [u8],
}

impl Lane<'_> {
    fn len(&self) -> usize {
        PREFIX_BYTES + self.payload.len()
    }

    /// Index of the input's last block.
    fn last_block(&self) -> usize {
        (self.len() - 1) / BLOCK_BYTES
    }
}

/// The blake3 hash of each lane's input into `out`: `out[i] = format::record_hash(..)`
/// of lane `i`.
///
/// # Safety
/// The CPU must have AVX-512 F and BW. Panics if an input is longer than one chunk.
#[target_feature(enable = "avx512f,avx512bw")]
pub(crate) unsafe fn hash16(lanes: &[Lane; LANES], out: &mut [Hash; LANES]) {
    assert!(lanes.iter().all(|lane| lane.len() <= CHUNK_BYTES), "an input longer than one chunk");
    let last: [usize; LANES] = std::array::from_fn(|l| lanes[l].last_block());
    let mut cv = [_mm512_setzero_si512(); 8];
    for (v, &word) in cv.iter_mut().zip(&IV) {
        *v = _mm512_set1_epi32(word as i32);
    }
    for step in 0..=last.iter().copied().max().unwrap_or(0) {
        let mut block_len = [0u32; LANES];
        let mut flags = [0u32; LANES];
        let mut m = [_mm512_setzero_si512(); 16];
        for (l, row) in m.iter_mut().enumerate() {
            // A lane past its last block repeats it; its result is not read again.
            let (lane, block) = (&lanes[l], step.min(last[l]));
            let bytes = (lane.len() - block * BLOCK_BYTES).min(BLOCK_BYTES);
            block_len[l] = bytes as u32;
            flags[l] = u32::from(if block == 0 { CHUNK_START } else { 0 } | if block == last[l] { CHUNK_END | ROOT } else { 0 });
            *row = if block == 0 {
                first_block(lane)
            } else {
                let src = &lane.payload[block * BLOCK_BYTES - PREFIX_BYTES..];
                assert!(src.len() >= bytes, "lane input shorter than its length");
                let mask = if bytes == BLOCK_BYTES { u64::MAX } else { (1u64 << bytes) - 1 };
                // Masked: the bytes past `bytes` are neither read nor kept.
                _mm512_maskz_loadu_epi8(mask, src.as_ptr().cast())
            };
        }
        transpose(&mut m);
        let block_len = _mm512_loadu_si512(block_len.as_ptr().cast());
        let flags = _mm512_loadu_si512(flags.as_ptr().cast());
        compress(&mut cv, &m, block_len, flags);
        if last.contains(&step) {
            let mut words = [[0u32; LANES]; 8];
            for (row, v) in words.iter_mut().zip(&cv) {
                _mm512_storeu_si512(row.as_mut_ptr().cast(), *v);
            }
            for l in (0..LANES).filter(|&l| last[l] == step) {
                out[l] = std::array::from_fn(|b| words[b / 4][l].to_le_bytes()[b % 4]);
            }
        }
    }
}

/// A record's first block, `prev_hash ‖ sequence LE ‖ payload[..24]` (zero-padded),
/// assembled in registers (no bytes copied through memory).
#[inline(always)]
unsafe fn first_block(lane: &Lane) -> __m512i {
    let head = lane.payload.len().min(HEAD_BYTES);
    let prev = _mm512_castsi256_si512(_mm256_loadu_si256(lane.prev_hash.as_ptr().cast()));
    // Masked: only the payload's own bytes are read.
    let payload = _mm512_maskz_loadu_epi8((1u64 << head) - 1, lane.payload.as_ptr().cast());
    // Words 0..8 from `prev`, 10..16 from the payload's words 0..6 (16 + i picks `payload`);
    // words 8 and 9 are the sequence, set next.
    let idx = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 0, 0, 16, 17, 18, 19, 20, 21);
    let block = _mm512_permutex2var_epi32(prev, idx, payload);
    _mm512_mask_set1_epi64(block, 1 << 4, lane.sequence as i64)
}

#[inline(always)]
unsafe fn g(v: &mut [__m512i; 16], [a, b, c, d]: [usize; 4], x: __m512i, y: __m512i) {
    v[a] = _mm512_add_epi32(_mm512_add_epi32(v[a], v[b]), x);
    v[d] = _mm512_ror_epi32::<16>(_mm512_xor_si512(v[d], v[a]));
    v[c] = _mm512_add_epi32(v[c], v[d]);
    v[b] = _mm512_ror_epi32::<12>(_mm512_xor_si512(v[b], v[c]));
    v[a] = _mm512_add_epi32(_mm512_add_epi32(v[a], v[b]), y);
    v[d] = _mm512_ror_epi32::<8>(_mm512_xor_si512(v[d], v[a]));
    v[c] = _mm512_add_epi32(v[c], v[d]);
    v[b] = _mm512_ror_epi32::<7>(_mm512_xor_si512(v[b], v[c]));
}

/// One round: the columns, then the diagonals, with the message words in order `s`.
#[inline(always)]
unsafe fn round(v: &mut [__m512i; 16], m: &[__m512i; 16], s: &[usize; 16]) {
    g(v, [0, 4, 8, 12], m[s[0]], m[s[1]]);
    g(v, [1, 5, 9, 13], m[s[2]], m[s[3]]);
    g(v, [2, 6, 10, 14], m[s[4]], m[s[5]]);
    g(v, [3, 7, 11, 15], m[s[6]], m[s[7]]);
    g(v, [0, 5, 10, 15], m[s[8]], m[s[9]]);
    g(v, [1, 6, 11, 12], m[s[10]], m[s[11]]);
    g(v, [2, 7, 8, 13], m[s[12]], m[s[13]]);
    g(v, [3, 4, 9, 14], m[s[14]], m[s[15]]);
}

/// Compresses one block per lane into that lane's chaining value (block counter 0).
#[inline(always)]
unsafe fn compress(cv: &mut [__m512i; 8], m: &[__m512i; 16], block_len: __m512i, flags: __m512i) {
    let zero = _mm512_setzero_si512();
    let iv = [
        _mm512_set1_epi32(IV[0] as i32),
        _mm512_set1_epi32(IV[1] as i32),
        _mm512_set1_epi32(IV[2] as i32),
        _mm512_set1_epi32(IV[3] as i32),
    ];
    // Words 12 and 13 are the block counter: 0 for the first (and only) chunk.
    let mut v = [cv[0], cv[1], cv[2], cv[3], cv[4], cv[5], cv[6], cv[7], iv[0], iv[1], iv[2], iv[3], zero, zero, block_len, flags];
    // Spelled out, not a loop, so that every index is a constant and the state stays in
    // registers.
    round(&mut v, m, &MSG_SCHEDULE[0]);
    round(&mut v, m, &MSG_SCHEDULE[1]);
    round(&mut v, m, &MSG_SCHEDULE[2]);
    round(&mut v, m, &MSG_SCHEDULE[3]);
    round(&mut v, m, &MSG_SCHEDULE[4]);
    round(&mut v, m, &MSG_SCHEDULE[5]);
    round(&mut v, m, &MSG_SCHEDULE[6]);
    for i in 0..8 {
        cv[i] = _mm512_xor_si512(v[i], v[i + 8]);
    }
}

/// Transposes sixteen rows of sixteen words: `rows[l][w]` becomes `rows[w][l]` (lane `l`'s
/// block in, message word `w` of every lane out).
#[inline(always)]
unsafe fn transpose(rows: &mut [__m512i; 16]) {
    // 32-bit, then 64-bit interleaves within each 128-bit quarter: for each group of four
    // rows `4g..4g+4`, `x[g][j]` holds in quarter `q` the words `4q + j` of those rows.
    let mut x = [[_mm512_setzero_si512(); 4]; 4];
    for (g, x) in x.iter_mut().enumerate() {
        let [a, b, c, d] = [rows[4 * g], rows[4 * g + 1], rows[4 * g + 2], rows[4 * g + 3]];
        let (ab_lo, ab_hi) = (_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
        let (cd_lo, cd_hi) = (_mm512_unpacklo_epi32(c, d), _mm512_unpackhi_epi32(c, d));
        *x = [
            _mm512_unpacklo_epi64(ab_lo, cd_lo),
            _mm512_unpackhi_epi64(ab_lo, cd_lo),
            _mm512_unpacklo_epi64(ab_hi, cd_hi),
            _mm512_unpackhi_epi64(ab_hi, cd_hi),
        ];
    }
    // Then whole quarters: word `4q + j` gathers quarter `q` of `x[0..4][j]`.
    for j in 0..4 {
        let p = _mm512_shuffle_i32x4::<0x88>(x[0][j], x[1][j]);
        let q = _mm512_shuffle_i32x4::<0xdd>(x[0][j], x[1][j]);
        let r = _mm512_shuffle_i32x4::<0x88>(x[2][j], x[3][j]);
        let s = _mm512_shuffle_i32x4::<0xdd>(x[2][j], x[3][j]);
        rows[j] = _mm512_shuffle_i32x4::<0x88>(p, r);
        rows[4 + j] = _mm512_shuffle_i32x4::<0x88>(q, s);
        rows[8 + j] = _mm512_shuffle_i32x4::<0xdd>(p, r);
        rows[12 + j] = _mm512_shuffle_i32x4::<0xdd>(q, s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn have_avx512() -> bool {
        std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bw")
    }

    #[test]
    fn schedule_matches_the_specification() {
        // Rounds 2 and 7 as printed in the blake3 reference implementation.
        assert_eq!(MSG_SCHEDULE[1], [2, 6, 3, 10, 7, 0, 4, 13, 1, 11, 12, 5, 9, 14, 15, 8]);
        assert_eq!(MSG_SCHEDULE[6], [11, 15, 5, 0, 1, 9, 8, 6, 14, 10, 2, 12, 3, 4, 7, 13]);
    }

    #[test]
    fn transpose_swaps_rows_and_words() {
        if !have_avx512() {
            return;
        }
        let input: [[u32; 16]; 16] = std::array::from_fn(|r| std::array::from_fn(|w| (r * 100 + w) as u32));
        // SAFETY: AVX-512 F and BW were detected above.
        let output = unsafe {
            let mut rows: [__m512i; 16] = std::array::from_fn(|r| _mm512_loadu_si512(input[r].as_ptr().cast()));
            transpose(&mut rows);
            rows.map(|v| std::mem::transmute::<__m512i, [u32; 16]>(v))
        };
        for r in 0..16 {
            for w in 0..16 {
                assert_eq!(output[w][r], input[r][w], "row {r} word {w}");
            }
        }
    }

    #[test]
    fn every_length_matches_blake3() {
        if !have_avx512() {
            return;
        }
        let bytes: Vec<u8> = (0..2048u32).map(|i| (i.wrapping_mul(2654435761) >> 11) as u8).collect();
        for base in (0..=1024usize).step_by(LANES) {
            let prev: [[u8; 32]; LANES] = std::array::from_fn(|l| [l as u8 * 5; 32]);
            let lane = |l: usize| {
                let len = (base + l * 7) % (CHUNK_BYTES - PREFIX_BYTES + 1);
                Lane { prev_hash: &prev[l], sequence: (base * 1000 + l) as u64, payload: &bytes[l * 3..l * 3 + len] }
            };
            let lanes: [Lane; LANES] = std::array::from_fn(lane);
            let mut out = [[0u8; 32]; LANES];
            // SAFETY: AVX-512 F and BW were detected above.
            unsafe { hash16(&lanes, &mut out) };
            for (l, got) in out.iter().enumerate() {
                let lane = &lanes[l];
                assert_eq!(
                    *got,
                    crate::format::record_hash(lane.prev_hash, lane.sequence, lane.payload),
                    "payload of {}",
                    lane.payload.len()
                );
            }
        }
    }
}

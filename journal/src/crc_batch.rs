//! Record crcs of several records side by side, for replay.
//!
//! Why: a record's crc32c (`format::record_crc`) is one chain of `crc32` instructions, each
//! waiting for the one before; the instruction's latency is three times its throughput, so
//! one record at a time leaves two thirds of the unit idle; crc was 12% of replay's time in
//! `perf` (issue 22).
//! Three records' chains interleaved keep the unit busy (and three streams of loads in
//! flight), with the very same result per record.
//!
//! How: the crc covers the header without its crc field (bytes 4..8), then the payload,
//! which is `record[0..4]` then `record[8..]`. The three records advance eight bytes at a
//! time in lockstep over the length they share, then each finishes alone. Without
//! SSE 4.2 (or off x86-64) each record takes `format::record_crc` instead.

use crate::format::{record_crc, HEADER_BYTES};

/// Records whose crc chains are interleaved: the `crc32` instruction's latency (3 cycles)
/// over its throughput (1 per cycle).
const CRC_LANES: usize = 3;

/// The crc32c of each record of `records` (whole records: header, then payload), in
/// order, into `out` (cleared first): what `format::record_crc` computes for each.
pub(crate) fn record_crcs<'a>(records: impl Iterator<Item = &'a [u8]>, out: &mut Vec<u32>) {
    out.clear();
    let mut records = records.inspect(|record| assert!(record.len() >= HEADER_BYTES, "a record holds at least its header"));
    let one = |r: &[u8]| record_crc(&r[..HEADER_BYTES], &r[HEADER_BYTES..]);
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("sse4.2") {
            loop {
                match [records.next(), records.next(), records.next()] {
                    [Some(a), Some(b), Some(c)] => {
                        // SAFETY: SSE 4.2 was detected just above.
                        out.extend(unsafe { hw::crc_lanes([a, b, c]) });
                    }
                    rest => {
                        out.extend(rest.into_iter().flatten().map(one));
                        return;
                    }
                }
            }
        }
    }
    out.extend(records.map(one));
}

#[cfg(target_arch = "x86_64")]
mod hw {
    use super::CRC_LANES;
    use std::arch::x86_64::{_mm_crc32_u32, _mm_crc32_u64, _mm_crc32_u8};

    /// The record crcs of `CRC_LANES` records, their chains interleaved.
    #[target_feature(enable = "sse4.2")]
    pub(super) fn crc_lanes(records: [&[u8]; CRC_LANES]) -> [u32; CRC_LANES] {
        // crc32c starts from all ones and ends inverted (as the `crc32c` crate does).
        let mut crcs = records.map(|r| _mm_crc32_u32(!0, u32::from_le_bytes(r[0..4].try_into().expect("4 bytes"))));
        let tails = records.map(|r| &r[8..]);
        let shared = tails.iter().map(|t| t.len()).min().expect("lanes") / 8 * 8;
        let [t0, t1, t2] = tails.map(|t| t[..shared].chunks_exact(8));
        let mut wide = crcs.map(u64::from);
        for ((w0, w1), w2) in t0.zip(t1).zip(t2) {
            wide[0] = _mm_crc32_u64(wide[0], u64::from_le_bytes(w0.try_into().expect("8 bytes")));
            wide[1] = _mm_crc32_u64(wide[1], u64::from_le_bytes(w1.try_into().expect("8 bytes")));
            wide[2] = _mm_crc32_u64(wide[2], u64::from_le_bytes(w2.try_into().expect("8 bytes")));
        }
        for lane in 0..CRC_LANES {
            // _mm_crc32_u64 keeps the crc in the low 32 bits.
            crcs[lane] = !finish(wide[lane] as u32, &tails[lane][shared..]);
        }
        crcs
    }

    /// Continues `crc` over `bytes`, alone.
    #[target_feature(enable = "sse4.2")]
    fn finish(crc: u32, bytes: &[u8]) -> u32 {
        let words = bytes.chunks_exact(8);
        let rest = words.remainder();
        let mut wide = u64::from(crc);
        for w in words {
            wide = _mm_crc32_u64(wide, u64::from_le_bytes(w.try_into().expect("8 bytes")));
        }
        rest.iter().fold(wide as u32, |c, &b| _mm_crc32_u8(c, b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_length_and_grouping_matches_record_crc() {
        let bytes: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
        // Lengths from a bare header to past a few words, at odd starts, in groups whose
        // lengths differ (so lanes finish at different points) and a short last group.
        let records: Vec<&[u8]> =
            (0..200usize).map(|i| &bytes[i * 7 % 61..][..HEADER_BYTES + (i * 37) % 300 + usize::from(i % 5 == 0) * i]).collect();
        for n in 0..records.len() {
            let mut out = Vec::new();
            record_crcs(records[..n].iter().copied(), &mut out);
            assert_eq!(out.len(), n);
            for (got, r) in out.iter().zip(&records) {
                assert_eq!(*got, record_crc(&r[..HEADER_BYTES], &r[HEADER_BYTES..]), "record of {} bytes", r.len());
            }
        }
    }
}

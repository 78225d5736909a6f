//! Failure reasons short enough for a journal record: a background job (backtest, ML
//! training, RL training) journals why it failed, and a library's error text has no
//! length limit of its own.

/// Longest failure reason journaled, in bytes (then `...`).
pub const REASON_BYTES_MAX: usize = 1_000;

/// `s` cut to [`REASON_BYTES_MAX`] bytes at a character boundary, with `...` when cut.
pub fn journal_reason(s: &str) -> String {
    if s.len() <= REASON_BYTES_MAX {
        return s.to_string();
    }
    let mut end = REASON_BYTES_MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}...", &s[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_reasons_are_cut_at_a_character_boundary() {
        assert_eq!(journal_reason("short"), "short");
        let long = "é".repeat(REASON_BYTES_MAX); // 2 bytes each
        let cut = journal_reason(&long);
        assert!(cut.ends_with("...") && cut.len() <= REASON_BYTES_MAX + 3, "{}", cut.len());
        assert_eq!(journal_reason(&"a".repeat(REASON_BYTES_MAX)).len(), REASON_BYTES_MAX);
    }
}

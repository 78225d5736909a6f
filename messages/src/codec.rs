//! Encodings: JSON for the outside world, versioned rkyv for the journal and the bus.
//!
//! Binary layout: `[FORMAT_VERSION: u8][rkyv archive of the value]`. Decoding checks the
//! version, copies the archive into an aligned buffer and validates it (bytecheck) before
//! deserializing, so corrupt or hostile bytes give an error, never undefined behaviour.

use crate::envelope::Envelope;
use rkyv::rancor;
use rkyv::util::AlignedVec;

/// Version of the binary layout. Bump when `event.rs`'s change rules are broken.
pub const FORMAT_VERSION: u8 = 1;

#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    #[error("empty input")]
    Empty,
    #[error("unsupported binary format version {found} (this build reads {FORMAT_VERSION})")]
    UnsupportedVersion { found: u8 },
    #[error("invalid binary record: {0}")]
    Invalid(String),
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The rkyv archive after the version byte, once the version is this build's.
fn archive_of(bytes: &[u8]) -> Result<&[u8], CodecError> {
    let (&version, body) = bytes.split_first().ok_or(CodecError::Empty)?;
    if version != FORMAT_VERSION {
        return Err(CodecError::UnsupportedVersion { found: version });
    }
    Ok(body)
}

macro_rules! binary_codec {
    ($encode:ident, $decode:ident, $ty:ty) => {
        pub fn $encode(value: &$ty) -> Vec<u8> {
            let archived = rkyv::to_bytes::<rancor::Error>(value).expect("serializing to a Vec cannot fail for these types");
            let mut out = Vec::with_capacity(archived.len() + 1);
            out.push(FORMAT_VERSION);
            out.extend_from_slice(&archived);
            out
        }

        pub fn $decode(bytes: &[u8]) -> Result<$ty, CodecError> {
            let body = archive_of(bytes)?;
            let mut aligned = AlignedVec::<16>::with_capacity(body.len());
            aligned.extend_from_slice(body);
            rkyv::from_bytes::<$ty, rancor::Error>(&aligned).map_err(|e| CodecError::Invalid(e.to_string()))
        }
    };
}

binary_codec!(encode_envelope, decode_envelope, Envelope);

/// Capacity an [`EnvelopeDecoder`] keeps between calls, in bytes: a larger buffer (left by
/// one unusually large record) is freed after use rather than held for the reader's life.
const DECODER_BUFFER_BYTES_KEPT: usize = 64 << 10;

/// [`decode_envelope`] through one reusable aligned buffer, for readers that decode many
/// envelopes in a row (journal replay): the same checks and result, without allocating
/// and freeing a buffer per envelope.
#[derive(Default)]
pub struct EnvelopeDecoder {
    aligned: AlignedVec<16>,
}

impl EnvelopeDecoder {
    pub fn new() -> EnvelopeDecoder {
        EnvelopeDecoder::default()
    }

    // Inline, and no `map_err` on the decoded value: an `Envelope` is over 500 bytes, and
    // each conversion of a `Result` holding one was a copy of it on replay's path.
    #[inline(always)]
    pub fn decode(&mut self, bytes: &[u8]) -> Result<Envelope, CodecError> {
        let body = archive_of(bytes)?;
        self.aligned.clear();
        self.aligned.extend_from_slice(body);
        let decoded = rkyv::from_bytes::<Envelope, rancor::Error>(&self.aligned);
        if self.aligned.capacity() > DECODER_BUFFER_BYTES_KEPT {
            self.aligned = AlignedVec::new();
        }
        match decoded {
            Ok(envelope) => Ok(envelope),
            Err(e) => Err(CodecError::Invalid(e.to_string())),
        }
    }
}

pub fn to_json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("these types always serialize to JSON")
}

pub fn from_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, CodecError> {
    Ok(serde_json::from_slice(bytes)?)
}

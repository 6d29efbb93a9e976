//! Envelopes: per-entry keys, ChaCha20-Poly1305 with the entry header as
//! associated data, and plaintext padded to size buckets.
//!
//! Layout: `0x02 || salt (16) || ciphertext (bucket + 16-byte tag)`.
//! Per-entry key: HKDF-SHA256(ikm = conversation key, salt = salt,
//! info = label || conversation || author || be64(clock)). Associated data:
//! label || the entry's header bytes. Padded plaintext:
//! `be32(len) || signed message || zeros` to the smallest bucket that fits.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use hkdf::Hkdf;
use kaichi_identity::IpnsPublicKey;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::ids::ConversationId;
use crate::keys::ConversationKeys;

/// Envelope format version (1 was bound to the protobuf entry fields).
const VERSION: u8 = 2;
/// Random salt per entry.
pub const SALT_BYTES: usize = 16;
const TAG_BYTES: usize = 16;
/// Padding buckets (bytes of padded plaintext).
const BUCKETS: [usize; 11] = [
    64, 128, 256, 512, 1024, 2048, 4096, 8192, 16_384, 32_768, 65_536,
];
/// Largest message (encoded `Message`) an envelope carries.
pub const MAX_PLAINTEXT_BYTES: usize = 65_536 - 4;
/// Largest envelope.
pub const MAX_ENVELOPE_BYTES: usize = 1 + SALT_BYTES + 65_536 + TAG_BYTES;

const KEY_INFO: &[u8] = b"kaichi-privatelog-v2 entry key";
const AAD_LABEL: &[u8] = b"kaichi-privatelog-v2 envelope";

/// An envelope could not be sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvelopeError {
    /// The message is larger than the largest bucket.
    #[error("message is {actual} bytes (max {max})")]
    TooLarge {
        /// Bytes.
        actual: usize,
        /// The limit.
        max: usize,
    },
    /// Shorter than any envelope, or not a bucket size.
    #[error("envelope of {0} bytes is not a valid size")]
    BadSize(usize),
    /// A version this crate does not read.
    #[error("unsupported envelope version {0}")]
    UnsupportedVersion(u8),
    /// Authentication failed: wrong key, wrong header or tampered.
    #[error("envelope does not decrypt (wrong conversation, header or tampered)")]
    Decrypt,
    /// The padded plaintext's length prefix is inconsistent.
    #[error("bad padding")]
    BadPadding,
}

/// The entry fields the envelope is bound to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Header<'a> {
    pub(crate) conversation: &'a ConversationId,
    pub(crate) author: &'a IpnsPublicKey,
    pub(crate) clock: u64,
    /// The entry map without `env`, as DAG-CBOR.
    pub(crate) bytes: &'a [u8],
}

impl Header<'_> {
    fn aad(&self) -> Vec<u8> {
        [AAD_LABEL, self.bytes].concat()
    }

    fn cipher(&self, keys: &ConversationKeys, salt: &[u8]) -> ChaCha20Poly1305 {
        let hk = Hkdf::<Sha256>::new(Some(salt), keys.key());
        let mut info = Vec::with_capacity(KEY_INFO.len() + 72);
        info.extend_from_slice(KEY_INFO);
        info.extend_from_slice(self.conversation.as_bytes());
        info.extend_from_slice(&self.author.to_bytes());
        info.extend_from_slice(&self.clock.to_be_bytes());
        let mut key = Zeroizing::new([0u8; 32]);
        // 32 bytes is a valid HKDF-SHA256 output length.
        #[allow(clippy::expect_used)]
        hk.expand(&info, key.as_mut()).expect("32-byte HKDF output");
        ChaCha20Poly1305::new(&(*key).into())
    }
}

/// The padded size for a message of `len` bytes.
fn bucket(len: usize) -> Option<usize> {
    BUCKETS.iter().copied().find(|b| *b >= len + 4)
}

/// Encrypts `message` for the conversation, bound to `header`.
pub(crate) fn seal(
    keys: &ConversationKeys,
    header: &Header<'_>,
    message: &[u8],
    salt: &[u8; SALT_BYTES],
) -> Result<Vec<u8>, EnvelopeError> {
    let size = bucket(message.len()).ok_or(EnvelopeError::TooLarge {
        actual: message.len(),
        max: MAX_PLAINTEXT_BYTES,
    })?;
    let mut padded = Zeroizing::new(vec![0u8; size]);
    let len = u32::try_from(message.len()).map_err(|_| EnvelopeError::TooLarge {
        actual: message.len(),
        max: MAX_PLAINTEXT_BYTES,
    })?;
    padded[..4].copy_from_slice(&len.to_be_bytes());
    padded[4..4 + message.len()].copy_from_slice(message);
    let aad = header.aad();
    let ct = header
        .cipher(keys, salt)
        .encrypt(
            &[0u8; 12].into(),
            Payload {
                msg: &padded,
                aad: &aad,
            },
        )
        .map_err(|_| EnvelopeError::Decrypt)?;
    let mut out = Vec::with_capacity(1 + SALT_BYTES + ct.len());
    out.push(VERSION);
    out.extend_from_slice(salt);
    out.extend_from_slice(&ct);
    Ok(out)
}

/// Decrypts an envelope bound to `header`; returns the message bytes.
pub(crate) fn open(
    keys: &ConversationKeys,
    header: &Header<'_>,
    envelope: &[u8],
) -> Result<Zeroizing<Vec<u8>>, EnvelopeError> {
    let (&version, rest) = envelope
        .split_first()
        .ok_or(EnvelopeError::BadSize(envelope.len()))?;
    if version != VERSION {
        return Err(EnvelopeError::UnsupportedVersion(version));
    }
    if rest.len() < SALT_BYTES + TAG_BYTES
        || !BUCKETS.contains(&(rest.len() - SALT_BYTES - TAG_BYTES))
    {
        return Err(EnvelopeError::BadSize(envelope.len()));
    }
    let (salt, ct) = rest.split_at(SALT_BYTES);
    let aad = header.aad();
    let padded = Zeroizing::new(
        header
            .cipher(keys, salt)
            .decrypt(&[0u8; 12].into(), Payload { msg: ct, aad: &aad })
            .map_err(|_| EnvelopeError::Decrypt)?,
    );
    let len_bytes: [u8; 4] = padded
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or(EnvelopeError::BadPadding)?;
    let len = u32::from_be_bytes(len_bytes) as usize;
    let body = padded.get(4..4 + len).ok_or(EnvelopeError::BadPadding)?;
    if padded
        .get(4 + len..)
        .is_some_and(|tail| tail.iter().any(|b| *b != 0))
    {
        return Err(EnvelopeError::BadPadding);
    }
    Ok(Zeroizing::new(body.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets() {
        assert_eq!(bucket(0), Some(64));
        assert_eq!(bucket(60), Some(64));
        assert_eq!(bucket(61), Some(128));
        assert_eq!(bucket(MAX_PLAINTEXT_BYTES), Some(65_536));
        assert_eq!(bucket(MAX_PLAINTEXT_BYTES + 1), None);
    }
}

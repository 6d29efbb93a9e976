//! Values a person carries from one device to another: written to a file,
//! or printed as one line to paste (`kaichi-<kind>:` and base64url).

use std::path::Path;

use anyhow::{Context as _, bail};
use cid::multibase::{self, Base};

/// The most a pasted value or its file may hold (an identity document is
/// at most 64 KiB; its base64 text about 86 KiB).
const MAX_INPUT_BYTES: u64 = 128 * 1024;

/// `bytes` as one line: `kaichi-<kind>:u<base64url>`.
pub(crate) fn encode(kind: &str, bytes: &[u8]) -> String {
    format!(
        "kaichi-{kind}:{}",
        multibase::encode(Base::Base64Url, bytes)
    )
}

/// The bytes `input` carries: a pasted line of `kind`, or a file holding
/// either such a line or the raw bytes.
pub(crate) fn read(input: &str, kind: &str) -> anyhow::Result<Vec<u8>> {
    let prefix = format!("kaichi-{kind}:");
    let input = input.trim();
    if input.starts_with("kaichi-") {
        return decode(input, &prefix);
    }
    let path = Path::new(input);
    let len = path
        .metadata()
        .with_context(|| format!("{input} is neither a file nor a pasted `{prefix}...` value"))?
        .len();
    if len > MAX_INPUT_BYTES {
        bail!("{input} is {len} bytes, over {MAX_INPUT_BYTES}");
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {input}"))?;
    match std::str::from_utf8(&bytes) {
        Ok(text) if text.trim().starts_with("kaichi-") => decode(text.trim(), &prefix),
        _ => Ok(bytes),
    }
}

fn decode(text: &str, prefix: &str) -> anyhow::Result<Vec<u8>> {
    if text.len() as u64 > MAX_INPUT_BYTES {
        bail!(
            "the pasted value is {} bytes, over {MAX_INPUT_BYTES}",
            text.len()
        );
    }
    let Some(encoded) = text.strip_prefix(prefix) else {
        let kind = text.split(':').next().unwrap_or(text);
        bail!("expected a `{prefix}...` value, got a `{kind}:...` one");
    };
    let (base, bytes) =
        multibase::decode(encoded).with_context(|| format!("the `{prefix}` value is damaged"))?;
    if base != Base::Base64Url {
        bail!("the `{prefix}` value is not base64url");
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_survives_the_round_trip_as_text_and_in_a_file() {
        let bytes = b"\x00\x01 any bytes \xff".to_vec();
        let line = encode("device-request", &bytes);
        assert!(line.starts_with("kaichi-device-request:u"));
        assert_eq!(read(&line, "device-request").unwrap(), bytes);
        let dir = tempfile::tempdir().unwrap();
        let text = dir.path().join("text");
        std::fs::write(&text, format!("{line}\n")).unwrap();
        assert_eq!(
            read(text.to_str().unwrap(), "device-request").unwrap(),
            bytes
        );
        let raw = dir.path().join("raw");
        std::fs::write(&raw, &bytes).unwrap();
        assert_eq!(
            read(raw.to_str().unwrap(), "device-request").unwrap(),
            bytes
        );
    }

    #[test]
    fn the_wrong_kind_or_damaged_text_is_refused() {
        let line = encode("device-link", b"doc");
        let e = read(&line, "device-request").unwrap_err().to_string();
        assert!(e.contains("kaichi-device-link"), "{e}");
        let e = read("kaichi-device-request:u@@@", "device-request").unwrap_err();
        assert!(e.to_string().contains("damaged"), "{e}");
        assert!(read("/no/such/file", "device-request").is_err());
    }
}

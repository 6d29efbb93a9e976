//! IPNS records received from the network, validated.

use kaichi_identity::IpnsName;
use kaichi_identity::ipns::validate_record;
use wasm_bindgen::prelude::*;

use crate::error::js;

/// What a valid record says.
#[wasm_bindgen]
pub struct IpnsRecordInfo {
    value: String,
    sequence: u64,
    valid_until_ms: f64,
}

#[wasm_bindgen]
impl IpnsRecordInfo {
    /// The path it points to (`/ipfs/<cid>`).
    #[wasm_bindgen(getter)]
    pub fn value(&self) -> String {
        self.value.clone()
    }

    /// Its sequence number.
    #[wasm_bindgen(getter)]
    pub fn sequence(&self) -> u64 {
        self.sequence
    }

    /// When it stops being valid, Unix milliseconds.
    #[wasm_bindgen(getter, js_name = validUntilMs)]
    pub fn valid_until_ms(&self) -> f64 {
        self.valid_until_ms
    }
}

/// Validates a record for `name` at `nowMs`, every step of the IPNS spec.
#[wasm_bindgen(js_name = validateIpnsRecord)]
pub fn validate_ipns_record(
    record: &[u8],
    name: &str,
    now_ms: f64,
) -> Result<IpnsRecordInfo, JsError> {
    let name: IpnsName = name.parse().map_err(|e| js(&e))?;
    let record = validate_record(record, &name, crate::at_ms(now_ms)?).map_err(|e| js(&e))?;
    Ok(IpnsRecordInfo {
        value: String::from_utf8_lossy(record.value()).into_owned(),
        sequence: record.sequence(),
        valid_until_ms: (record.validity().unix_nanos() / 1_000_000) as f64,
    })
}

//! An identity derived from one wallet signature.

use kaichi_identity::ipns::{RecordParams, create_record};
use kaichi_identity::{IdentityKeys, KeyEpoch, WalletAddress, WalletSignature};
use wasm_bindgen::prelude::*;

use crate::error::js;

/// The message the wallet signs (`signMessage`) to derive the identity of
/// `wallet` (base58) at key `epoch` (0 unless keys were rotated).
#[wasm_bindgen(js_name = derivationMessage)]
pub fn derivation_message(wallet: &str, epoch: u32) -> Result<Vec<u8>, JsError> {
    let wallet: WalletAddress = wallet.parse().map_err(|e| js(&e))?;
    Ok(kaichi_identity::derivation_message(
        &wallet,
        KeyEpoch::new(epoch),
    ))
}

/// Derives the identity from the wallet's signature over
/// [`derivation_message`] (64 bytes, as `signMessage` returns it). The
/// signature is checked against the wallet first.
#[wasm_bindgen(js_name = deriveIdentity)]
pub fn derive_identity(wallet: &str, epoch: u32, signature: &[u8]) -> Result<Identity, JsError> {
    let wallet: WalletAddress = wallet.parse().map_err(|e| js(&e))?;
    let bytes: [u8; 64] = signature.try_into().map_err(|_| {
        JsError::new(&format!(
            "a wallet signature is 64 bytes, not {}",
            signature.len()
        ))
    })?;
    let signature = WalletSignature::from_bytes(bytes);
    let keys = IdentityKeys::from_wallet_signature(wallet, KeyEpoch::new(epoch), &signature)
        .map_err(|e| js(&e))?;
    Ok(Identity { keys })
}

/// A Kaichi identity: its keys live in this object (call `free()` when
/// done; they are wiped).
#[wasm_bindgen]
pub struct Identity {
    pub(crate) keys: IdentityKeys,
}

#[wasm_bindgen]
impl Identity {
    /// The identity's IPNS name (`k51…`): its address on the network.
    #[wasm_bindgen(getter, js_name = ipnsName)]
    pub fn ipns_name(&self) -> String {
        self.keys.ipns().name().to_string()
    }

    /// The same name as a libp2p PeerId (`12D3Koo…`).
    #[wasm_bindgen(getter, js_name = peerId)]
    pub fn peer_id(&self) -> String {
        self.keys.ipns().name().to_peer_id_string()
    }

    /// The X25519 public key others encrypt to, hex.
    #[wasm_bindgen(getter, js_name = dmPublicKey)]
    pub fn dm_public_key(&self) -> String {
        hex(&self.keys.dm().public().to_bytes())
    }

    /// The wallet (base58).
    #[wasm_bindgen(getter)]
    pub fn wallet(&self) -> String {
        self.keys.wallet().to_string()
    }

    /// The key epoch.
    #[wasm_bindgen(getter)]
    pub fn epoch(&self) -> u32 {
        self.keys.epoch().get()
    }

    /// A signed IPNS record (the IPNS spec's protobuf) pointing this
    /// identity's name at `value` (e.g. `/ipfs/<cid>`), valid until
    /// `validUntilMs`.
    #[wasm_bindgen(js_name = ipnsRecord)]
    pub fn ipns_record(
        &self,
        value: &str,
        sequence: u64,
        valid_until_ms: f64,
    ) -> Result<Vec<u8>, JsError> {
        let params = RecordParams::new(value.as_bytes(), sequence, crate::at_ms(valid_until_ms)?);
        create_record(self.keys.ipns(), &params).map_err(|e| js(&e))
    }

    /// Starts this identity's signed identity document, created at `nowMs`
    /// and valid for `lifetimeSecs`: the wallet signs its `message`, then
    /// `finish(signature)` gives the document.
    #[wasm_bindgen(js_name = prepareDocument)]
    pub fn prepare_document(
        &self,
        now_ms: f64,
        lifetime_secs: u32,
    ) -> Result<crate::PreparedDocument, JsError> {
        crate::document::prepare(self, now_ms, lifetime_secs)
    }
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_two_digits() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
    }
}

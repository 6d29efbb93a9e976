//! Identity documents: signed in two steps (the wallet signs in between),
//! and verified.

use std::cell::RefCell;
use std::time::Duration;

use kaichi_identity::document::DocumentBuilder;
use kaichi_identity::wallet::SignError;
use kaichi_identity::{IdentityPublic, WalletAddress, WalletSignature, WalletSigner};
use wasm_bindgen::prelude::*;

use crate::error::js;
use crate::identity::{Identity, hex};

/// A wallet that cannot sign here: it records what it was asked to sign
/// (first pass), or answers with the signature the page brought back for
/// exactly that message (second pass).
struct PageWallet {
    address: WalletAddress,
    asked: RefCell<Option<Vec<u8>>>,
    signature: Option<WalletSignature>,
}

impl WalletSigner for PageWallet {
    fn address(&self) -> WalletAddress {
        self.address
    }

    fn sign_message(&self, message: &[u8]) -> Result<WalletSignature, SignError> {
        let mut asked = self.asked.borrow_mut();
        match (&*asked, self.signature) {
            (Some(m), Some(s)) if m == message => Ok(s),
            (Some(_), Some(_)) => Err(SignError::Unavailable(
                "the document changed between prepare and finish".into(),
            )),
            (_, _) => {
                *asked = Some(message.to_vec());
                Err(SignError::Declined)
            }
        }
    }
}

/// An identity document waiting for the wallet's signature over
/// [`Self::message`].
#[wasm_bindgen]
pub struct PreparedDocument {
    keys: kaichi_identity::IdentityKeys,
    now_ms: f64,
    lifetime_secs: u32,
    message: Vec<u8>,
}

pub(crate) fn prepare(
    identity: &Identity,
    now_ms: f64,
    lifetime_secs: u32,
) -> Result<PreparedDocument, JsError> {
    let wallet = PageWallet {
        address: identity.keys.wallet(),
        asked: RefCell::new(None),
        signature: None,
    };
    let builder = DocumentBuilder::new(
        &identity.keys,
        crate::at_ms(now_ms)?,
        Duration::from_secs(lifetime_secs.into()),
    );
    match builder.sign(&wallet) {
        Err(kaichi_identity::document::BuildError::Sign(SignError::Declined)) => {}
        Err(e) => return Err(js(&e)),
        Ok(_) => return Err(JsError::new("the document was signed without the wallet")),
    }
    let message = wallet
        .asked
        .into_inner()
        .ok_or_else(|| JsError::new("the document asked for no wallet signature"))?;
    Ok(PreparedDocument {
        keys: identity.keys.clone(),
        now_ms,
        lifetime_secs,
        message,
    })
}

#[wasm_bindgen]
impl PreparedDocument {
    /// What the wallet must sign (`signMessage`).
    #[wasm_bindgen(getter)]
    pub fn message(&self) -> Vec<u8> {
        self.message.clone()
    }

    /// The signed document (give it to contacts; publish it), from the
    /// wallet's 64-byte signature over [`Self::message`].
    pub fn finish(&self, signature: &[u8]) -> Result<Vec<u8>, JsError> {
        let signature = WalletSignature::try_from_slice(signature).map_err(|e| js(&e))?;
        let wallet = PageWallet {
            address: self.keys.wallet(),
            asked: RefCell::new(Some(self.message.clone())),
            signature: Some(signature),
        };
        DocumentBuilder::new(
            &self.keys,
            crate::at_ms(self.now_ms)?,
            Duration::from_secs(self.lifetime_secs.into()),
        )
        .sign(&wallet)
        .map_err(|e| js(&e))
    }
}

/// Verifies a signed identity document at `nowMs`: a contact to talk to.
#[wasm_bindgen(js_name = verifyDocument)]
pub fn verify_document(bytes: &[u8], now_ms: f64) -> Result<Contact, JsError> {
    let verified = kaichi_identity::document::verify_document(bytes, crate::at_ms(now_ms)?)
        .map_err(|e| js(&e))?;
    Ok(Contact {
        public: *verified.public(),
        document: bytes.to_vec(),
    })
}

/// Someone's verified identity.
#[wasm_bindgen]
pub struct Contact {
    pub(crate) public: IdentityPublic,
    /// The signed document it was read from (empty if not kept).
    pub(crate) document: Vec<u8>,
}

#[wasm_bindgen]
impl Contact {
    /// Their IPNS name.
    #[wasm_bindgen(getter, js_name = ipnsName)]
    pub fn ipns_name(&self) -> String {
        self.public.ipns_name().to_string()
    }

    /// Their wallet (base58).
    #[wasm_bindgen(getter)]
    pub fn wallet(&self) -> String {
        self.public.wallet.to_string()
    }

    /// The signed identity document it was checked from (empty when the
    /// store kept none).
    #[wasm_bindgen(getter)]
    pub fn document(&self) -> Vec<u8> {
        self.document.clone()
    }

    /// Their X25519 public key, hex.
    #[wasm_bindgen(getter, js_name = dmPublicKey)]
    pub fn dm_public_key(&self) -> String {
        hex(&self.public.dm.to_bytes())
    }
}

//! What the page needs to collect the notifications a Kaichi relay held
//! while it was offline: its libp2p key (the identity's IPNS key: a relay
//! hands an inbox's mailbox to that PeerId), and the `/kaichi/blocks/1.0.0`
//! mailbox request and response (4-byte big-endian length, then the
//! protobuf; see `kaichi_transport::exchange`).

use prost::Message as _;
use wasm_bindgen::prelude::*;

use crate::error::js;
use crate::identity::Identity;

/// The request-response protocol a relay answers mailbox requests on.
#[wasm_bindgen(js_name = MAILBOX_PROTOCOL)]
pub fn mailbox_protocol() -> String {
    "/kaichi/blocks/1.0.0".to_owned()
}

/// Most bytes of a mailbox response (as the relay bounds it).
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// `kaichi_transport::exchange::BlockRequest`, its mailbox field only.
#[derive(Clone, PartialEq, prost::Message)]
struct MailboxRequest {
    #[prost(bool, tag = "2")]
    mailbox: bool,
}

/// `kaichi_transport::exchange::BlockResponse`, its notifications only
/// (other fields are skipped).
#[derive(Clone, PartialEq, prost::Message)]
struct MailboxResponse {
    #[prost(bytes = "vec", repeated, tag = "2")]
    notifications: Vec<Vec<u8>>,
}

/// The framed mailbox request to write on a `/kaichi/blocks/1.0.0` stream.
#[wasm_bindgen(js_name = mailboxRequest)]
pub fn mailbox_request() -> Vec<u8> {
    frame(&MailboxRequest { mailbox: true }.encode_to_vec())
}

fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(4 + body.len());
    out.extend_from_slice(&u32::try_from(body.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// The sealed notifications in a framed mailbox response (everything
/// read from the stream); open each with `Identity.openNotification`.
#[wasm_bindgen(js_name = mailboxNotifications)]
pub fn mailbox_notifications(response: &[u8]) -> Result<Vec<js_sys::Uint8Array>, JsError> {
    Ok(decode(response)
        .map_err(|e| JsError::new(&e))?
        .iter()
        .map(|n| js_sys::Uint8Array::from(&n[..]))
        .collect())
}

/// The notifications of a framed response, or why it is not one.
fn decode(response: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    let (len, body) = response
        .split_first_chunk::<4>()
        .ok_or("a mailbox response starts with its 4-byte length")?;
    let len = u32::from_be_bytes(*len) as usize;
    if len > MAX_RESPONSE_BYTES || body.len() != len {
        return Err(format!(
            "a mailbox response of {} bytes, framed as {len}",
            body.len()
        ));
    }
    MailboxResponse::decode(body)
        .map(|r| r.notifications)
        .map_err(|e| format!("not a mailbox response: {e}"))
}

#[wasm_bindgen]
impl Identity {
    /// The page's libp2p private key (protobuf, for js-libp2p's
    /// `privateKeyFromProtobuf`): the identity's IPNS key, so the page's
    /// PeerId is its IPNS name and relays hand it its mailbox. Only one
    /// node may run as an identity at a time.
    #[wasm_bindgen(js_name = libp2pPrivateKey)]
    pub fn libp2p_private_key(&self) -> Result<Vec<u8>, JsError> {
        self.keys
            .ipns()
            .to_libp2p()
            .map_err(|e| js(&e))?
            .to_protobuf_encoding()
            .map_err(|e| JsError::new(&e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The request and response agree with the relay's own definitions.
    #[test]
    fn the_mailbox_messages_are_the_relays() {
        use kaichi_transport::exchange::{BlockRequest, BlockResponse};
        let request = BlockRequest::decode(&mailbox_request()[4..]).unwrap();
        assert!(request.mailbox && request.pin.is_empty() && request.group.is_empty());
        let response = BlockResponse {
            notifications: vec![vec![1, 2, 3], vec![4; 300]],
            group_messages: vec![vec![9]],
            ..Default::default()
        };
        let framed = frame(&response.encode_to_vec());
        assert_eq!(decode(&framed).unwrap(), response.notifications);
        assert!(decode(&framed[..framed.len() - 1]).is_err());
    }
}

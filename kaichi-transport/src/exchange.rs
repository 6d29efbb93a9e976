//! `/kaichi/blocks`: the request-response protocol for what Bitswap cannot
//! do: a relay handing its held notifications to their inbox's owner,
//! pinning a user's new entries, and a group's log from an epoch on. Blocks
//! by CID go over Bitswap. Size limits on both sides.

use std::io;

use futures::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use libp2p::StreamProtocol;
use prost::Message as _;

/// The protocol id.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/kaichi/blocks/1.0.0");
/// Largest request accepted: the blocks to pin and their framing.
const MAX_REQUEST_BYTES: usize = MAX_PIN_BYTES + 16 * 1024;
/// Most bytes of blocks one request may ask a relay to pin.
pub const MAX_PIN_BYTES: usize = 256 * 1024;
/// Largest response accepted or sent (held notifications, a group's log).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Asks a relay for the requester's held notifications, a relay to pin
/// blocks, or a member or relay for a group's log. (Tag 1, CIDs wanted, is
/// retired: blocks by CID go over Bitswap.)
#[derive(Clone, PartialEq, prost::Message)]
pub struct BlockRequest {
    /// Also return the sealed notifications a relay holds for the requester's
    /// inbox (the requester's PeerId is its IPNS name, or it is a device
    /// `mailbox_document` lists).
    #[prost(bool, tag = "2")]
    pub mailbox: bool,
    /// Also return this group's logged MLS messages (32-byte group id;
    /// answered only to members of the group).
    #[prost(bytes = "vec", tag = "3")]
    pub group: Vec<u8>,
    /// With `group`: from this epoch on.
    #[prost(uint64, tag = "4")]
    pub since_epoch: u64,
    /// Entry blocks for a relay to pin (the requester's own new entries).
    #[prost(bytes = "vec", repeated, tag = "5")]
    pub pin: Vec<Vec<u8>>,
    /// Also return the token-holder groups the answering node sequences
    /// gated on this mint (32 bytes).
    #[prost(bytes = "vec", tag = "6")]
    pub token_groups: Vec<u8>,
    /// Blobs (CIDs: raw blocks, or chunked blobs' manifests) for a relay to
    /// fetch from the requester over Bitswap and pin: a Welcome and its
    /// ratchet tree, for a new member who comes online when the inviter is
    /// gone. At most [`MAX_PIN_ROOTS`] a request.
    #[prost(bytes = "vec", repeated, tag = "7")]
    pub pin_roots: Vec<Vec<u8>>,
    /// With `mailbox`, from an identity with devices: its signed identity
    /// document. The relay then hands the inbox's held notifications to
    /// each peer it names (the identity's own, and each device's signing
    /// key), every one taking them for itself, instead of to the
    /// identity's own PeerId alone.
    #[prost(bytes = "vec", tag = "8")]
    pub mailbox_document: Vec<u8>,
}

/// Held notifications (for a mailbox request to a relay) and a group's log.
/// (Tag 1, blocks, is retired with the request's wants.)
#[derive(Clone, PartialEq, prost::Message)]
pub struct BlockResponse {
    /// Sealed notifications for the requester's inbox, oldest first.
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub notifications: Vec<Vec<u8>>,
    /// The requested group's MLS messages, in the order they apply.
    #[prost(bytes = "vec", repeated, tag = "3")]
    pub group_messages: Vec<Vec<u8>>,
    /// The token-holder groups asked for (`BlockRequest.token_groups`).
    #[prost(message, repeated, tag = "4")]
    pub token_groups: Vec<TokenGroupAnnouncement>,
}

/// Most blob CIDs one request asks a relay to pin.
pub const MAX_PIN_ROOTS: usize = 16;

/// A token-holder group its sequencer (the answering peer) announces.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TokenGroupAnnouncement {
    /// The group's 32-byte id.
    #[prost(bytes = "vec", tag = "1")]
    pub group: Vec<u8>,
    /// Its name.
    #[prost(string, tag = "2")]
    pub name: String,
    /// The mint it is gated on (32 bytes).
    #[prost(bytes = "vec", tag = "3")]
    pub mint: Vec<u8>,
    /// The least balance, in base units.
    #[prost(uint64, tag = "4")]
    pub minimum: u64,
}

/// Length-prefixed protobuf framing with limits.
#[derive(Debug, Clone, Default)]
pub struct BlockCodec;

async fn read_limited<T: AsyncRead + Unpin + Send>(io: &mut T, max: usize) -> io::Result<Vec<u8>> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("message of {len} bytes exceeds {max}"),
        ));
    }
    let mut buf = vec![0u8; len];
    io.read_exact(&mut buf).await?;
    Ok(buf)
}

async fn write_framed<T: AsyncWrite + Unpin + Send>(io: &mut T, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "too large"))?;
    io.write_all(&len.to_be_bytes()).await?;
    io.write_all(bytes).await?;
    io.close().await
}

fn invalid(e: impl std::fmt::Display) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, e.to_string())
}

impl libp2p::request_response::Codec for BlockCodec {
    type Protocol = StreamProtocol;
    type Request = BlockRequest;
    type Response = BlockResponse;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<BlockRequest> {
        let req = BlockRequest::decode(read_limited(io, MAX_REQUEST_BYTES).await?.as_slice())
            .map_err(invalid)?;
        if req.pin.iter().map(Vec::len).sum::<usize>() > MAX_PIN_BYTES {
            return Err(invalid("too many bytes to pin"));
        }
        Ok(req)
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<BlockResponse> {
        BlockResponse::decode(read_limited(io, MAX_RESPONSE_BYTES).await?.as_slice())
            .map_err(invalid)
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: BlockRequest,
    ) -> io::Result<()> {
        write_framed(io, &req.encode_to_vec()).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: BlockResponse,
    ) -> io::Result<()> {
        write_framed(io, &res.encode_to_vec()).await
    }
}

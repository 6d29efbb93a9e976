//! Block exchange: a request-response protocol fetching blocks by CID, with
//! size limits on both sides.

use std::io;

use futures::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use libp2p::StreamProtocol;
use prost::Message as _;

/// The protocol id.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/kaichi/blocks/1.0.0");
/// Most CIDs one request may ask for.
pub const MAX_WANT: usize = 64;
/// Largest request accepted.
const MAX_REQUEST_BYTES: usize = MAX_WANT * 64 + 64 + MAX_PIN_BYTES;
/// Most bytes of blocks one request may ask a relay to pin.
pub const MAX_PIN_BYTES: usize = 256 * 1024;
/// Largest response accepted or sent (a Welcome and ratchet tree for a
/// 20,000-member group are 3.0 MB and 4.7 MB).
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// Asks for blocks, and (from a relay) for the requester's held notifications.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BlockRequest {
    /// Binary CIDs wanted.
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub want: Vec<Vec<u8>>,
    /// Also return the sealed notifications a relay holds for the requester's
    /// inbox (the requester's PeerId is its IPNS name).
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
}

/// The blocks the peer holds (each to be checked against its CID by the
/// caller) and, for a mailbox request to a relay, held notifications.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BlockResponse {
    /// Blocks, in any order.
    #[prost(bytes = "vec", repeated, tag = "1")]
    pub blocks: Vec<Vec<u8>>,
    /// Sealed notifications for the requester's inbox, oldest first.
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub notifications: Vec<Vec<u8>>,
    /// The requested group's MLS messages, in the order they apply.
    #[prost(bytes = "vec", repeated, tag = "3")]
    pub group_messages: Vec<Vec<u8>>,
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
        if req.want.len() > MAX_WANT {
            return Err(invalid("too many CIDs wanted"));
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

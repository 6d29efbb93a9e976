//! libp2p over WebSocket (`/ws` listen addresses), the transport browsers
//! have: the same noise handshake and yamux streams as TCP, so a page's
//! js-libp2p (`@libp2p/websockets`) or a wasm libp2p dials a Kaichi node
//! like any peer. Plain `ws` here; put a TLS-terminating proxy in front
//! for `wss` on the public web.

use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::Boxed;
use libp2p::core::upgrade::Version;
use libp2p::{PeerId, Transport as _, noise, tcp, yamux};

/// The WebSocket transport for `key`'s node.
pub(crate) fn transport(
    key: &libp2p::identity::Keypair,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, Box<dyn std::error::Error + Send + Sync>> {
    let tcp = tcp::tokio::Transport::new(tcp::Config::default().nodelay(true));
    Ok(libp2p_websocket::Config::new(tcp)
        .upgrade(Version::V1Lazy)
        .authenticate(noise::Config::new(key)?)
        .multiplex(yamux::Config::default())
        .map(|(peer, muxer), _| (peer, StreamMuxerBox::new(muxer)))
        .boxed())
}

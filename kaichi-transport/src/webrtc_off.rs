//! Built without the `webrtc` feature: no WebRTC-direct transport (a
//! `/webrtc-direct` listen address is refused as unsupported).

use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::{Boxed, dummy::DummyTransport};
use libp2p::{PeerId, Transport as _};

/// A transport that supports no address.
pub(crate) fn transport(
    _key: &libp2p::identity::Keypair,
    _config: &crate::NodeConfig,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, Box<dyn std::error::Error + Send + Sync>> {
    Ok(DummyTransport::<(PeerId, StreamMuxerBox)>::new().boxed())
}

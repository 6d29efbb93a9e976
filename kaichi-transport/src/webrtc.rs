//! libp2p over WebRTC-direct (`/ip4/…/udp/<port>/webrtc-direct` listen
//! addresses), the browser transport that needs no certificate authority:
//! the node's DTLS certificate is self-signed, and its SHA-256 is the
//! `/certhash` in the address a page dials, which the browser checks. The
//! libp2p noise handshake then authenticates the peers as on any
//! transport, and streams are data channels (rust-libp2p's
//! `libp2p-webrtc`, interoperable with js-libp2p's `webRTCDirect`).

use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::Boxed;
use libp2p::multiaddr::Protocol;
use libp2p::{PeerId, Transport as _};
use libp2p_webrtc::tokio::{Certificate, Transport};
use zeroize::Zeroizing;

/// The DTLS certificate a node's WebRTC-direct listeners present. Its
/// SHA-256 is the `/certhash` of their addresses: keep it (see
/// [`Self::to_pem`]) to keep the addresses across restarts; a node without
/// one makes a new one each start.
#[derive(Clone)]
pub struct WebRtcCertificate(Certificate);

/// A WebRTC certificate could not be made or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebRtcCertificateError {
    /// Generating the key pair or certificate failed.
    #[error("cannot generate a WebRTC certificate: {0}")]
    Generate(String),
    /// The PEM text is not a certificate and its private key.
    #[error("not a WebRTC certificate PEM: {0}")]
    Pem(String),
}

impl WebRtcCertificate {
    /// A new self-signed certificate (ECDSA P-256).
    pub fn generate() -> Result<Self, WebRtcCertificateError> {
        Certificate::generate(&mut rand010::rng())
            .map(Self)
            .map_err(|e| WebRtcCertificateError::Generate(e.to_string()))
    }

    /// A certificate kept with [`Self::to_pem`].
    pub fn from_pem(pem: &str) -> Result<Self, WebRtcCertificateError> {
        Certificate::from_pem(pem)
            .map(Self)
            .map_err(|e| WebRtcCertificateError::Pem(e.to_string()))
    }

    /// The certificate and its private key, PEM (keep it private).
    pub fn to_pem(&self) -> Zeroizing<String> {
        Zeroizing::new(self.0.serialize_pem())
    }

    /// The `/certhash/…` address component browsers check.
    pub fn certhash(&self) -> Protocol<'static> {
        Protocol::Certhash(self.0.fingerprint().to_multihash())
    }
}

impl std::fmt::Debug for WebRtcCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("WebRtcCertificate")
            .field(&self.certhash().to_string())
            .finish()
    }
}

/// Makes ring rustls's process-wide default crypto provider unless the
/// program installed one: WebRTC's DTLS builds certificate verifiers with
/// the default provider, and with both of rustls's providers linked (QUIC
/// brings aws-lc-rs, WebSocket and DTLS ring) rustls cannot pick one.
fn install_crypto_provider() {
    // An error means a provider is installed already: that one is used.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The WebRTC-direct transport for `key`'s node, with the configured
/// certificate or a new one.
pub(crate) fn transport(
    key: &libp2p::identity::Keypair,
    config: &crate::NodeConfig,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, Box<dyn std::error::Error + Send + Sync>> {
    install_crypto_provider();
    let certificate = match &config.webrtc_certificate {
        Some(c) => c.clone(),
        None => WebRtcCertificate::generate()?,
    };
    Ok(Transport::new(key.clone(), certificate.0)
        .map(|(peer, connection), _| (peer, StreamMuxerBox::new(connection)))
        .boxed())
}

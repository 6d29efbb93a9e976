//! Why a peer's message or block was rejected: counted per reason by the
//! node ([`crate::Node::rejections`]) and logged at debug with the detail.

/// Why a peer's notification, block or invitation was rejected (and the
/// forwarding peer penalised through gossipsub validation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// Over the notification size bound.
    #[error("oversized notification")]
    Oversized,
    /// Not sealed to this identity's DM key, or malformed once opened.
    #[error("notification could not be opened")]
    Unopenable,
    /// The sender's identity document does not verify (or has expired).
    #[error("the sender's identity document is invalid")]
    BadDocument,
    /// The notification names a conversation other than the sender's with us.
    #[error("notification names another conversation")]
    WrongConversation,
    /// An entry block failed its checks (CID, signature, author, clock, decryption).
    #[error("invalid entry block")]
    BadEntry,
    /// A relay's peer published past its rate so long that it was
    /// disconnected.
    #[error("disconnected for flooding")]
    RateLimited,
    /// From a wallet this node blocked (nothing of it is kept).
    #[error("from a blocked wallet")]
    Blocked,
    /// A delivery receipt with too many entries or an unreadable CID.
    #[error("malformed delivery receipt")]
    BadReceipt,
    /// A group invitation with an unreadable group id or CID.
    #[error("malformed group invitation")]
    BadInvitation,
    /// A DHT provider record for a wallet's key whose provider's document
    /// is another identity's (the provider is dropped from the routing
    /// table).
    #[error("spoofed wallet provider record")]
    SpoofedProvider,
    /// This node could not process it (its store, randomness or keys failed):
    /// not the peer's fault, but the message is not accepted.
    #[error("local failure while processing")]
    Local,
}

impl Rejection {
    /// A closure mapping any error to this reason, logging its detail at debug.
    pub(crate) fn because<E: std::fmt::Display>(self) -> impl FnOnce(E) -> Self {
        move |e| {
            tracing::debug!(reason = %self, detail = %e, "rejected");
            self
        }
    }
}

//! The `IpnsEntry` protobuf (field numbers from the IPNS record spec).

/// `IpnsEntry` as on the wire. Every field is optional at the protobuf level;
/// [`super::validate`] enforces what the spec requires.
#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct IpnsEntry {
    /// Legacy V1 copy of `data[Value]`.
    #[prost(bytes = "vec", optional, tag = "1")]
    pub(crate) value: Option<Vec<u8>>,
    /// Legacy V1 signature (never used for verification).
    #[prost(bytes = "vec", optional, tag = "2")]
    pub(crate) signature_v1: Option<Vec<u8>>,
    /// Legacy V1 copy of `data[ValidityType]` (0 = EOL).
    #[prost(int32, optional, tag = "3")]
    pub(crate) validity_type: Option<i32>,
    /// Legacy V1 copy of `data[Validity]`.
    #[prost(bytes = "vec", optional, tag = "4")]
    pub(crate) validity: Option<Vec<u8>>,
    /// Legacy V1 copy of `data[Sequence]`.
    #[prost(uint64, optional, tag = "5")]
    pub(crate) sequence: Option<u64>,
    /// Legacy V1 copy of `data[TTL]`.
    #[prost(uint64, optional, tag = "6")]
    pub(crate) ttl: Option<u64>,
    /// The signer's libp2p public key protobuf, when not inlined in the name.
    #[prost(bytes = "vec", optional, tag = "7")]
    pub(crate) pub_key: Option<Vec<u8>>,
    /// Signature over `"ipns-signature:" || data`.
    #[prost(bytes = "vec", optional, tag = "8")]
    pub(crate) signature_v2: Option<Vec<u8>>,
    /// DAG-CBOR record data.
    #[prost(bytes = "vec", optional, tag = "9")]
    pub(crate) data: Option<Vec<u8>>,
}

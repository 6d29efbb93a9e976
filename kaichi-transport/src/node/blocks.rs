//! Blocks by CID and IPNS names: whatever the node holds, or can fetch over
//! Bitswap from its peers and resolve in the DHT (IPFS nodes included).

use super::{Command, Node, NodeError};

impl Node {
    /// The block `cid`: from the local store, or fetched over Bitswap from
    /// the connected peers and the providers the DHT names (checked against
    /// its CID before it is returned and stored). Fails with
    /// [`NodeError::BlockNotFound`] after 30 seconds.
    pub async fn get_block(&self, cid: &cid::Cid) -> Result<Vec<u8>, NodeError> {
        let cid = *cid;
        self.ask(|reply| Command::GetBlock { cid, reply }).await?
    }

    /// Resolves an IPNS name through the DHT: the best record found (the
    /// spec's validation and selection: highest sequence, then latest
    /// validity) within 30 seconds.
    pub async fn resolve(
        &self,
        name: kaichi_identity::IpnsName,
    ) -> Result<kaichi_identity::ipns::IpnsRecord, NodeError> {
        self.ask(|reply| Command::Resolve { name, reply }).await?
    }
}

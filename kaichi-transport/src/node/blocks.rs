//! Blocks by CID: whatever the node holds, or can fetch over Bitswap from
//! its peers (IPFS nodes included).

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
}

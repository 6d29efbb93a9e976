//! `kaichi node`'s options. Each may also be set in the profile's
//! `config.toml` under the same name (`kaichi config set KEY VALUE`), or in
//! the `KAICHI_*` variable given with it; a flag overrides the variable,
//! which overrides the file. Defaults are in brackets.

use clap::Args;
use serde::{Deserialize, Serialize};

/// The options, as flags and as the keys of `config.toml` (kebab-case,
/// the flags' names).
#[derive(Debug, Clone, Args, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub(crate) struct NodeArgs {
    /// Listen address, repeatable [default: /ip4/127.0.0.1/tcp/0].
    #[arg(
        long,
        env = "KAICHI_LISTEN",
        value_delimiter = ',',
        value_name = "MULTIADDR"
    )]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) listen: Vec<String>,
    /// A peer to dial at start and whenever it drops, repeatable (replaces
    /// the file's list; the built-in peers are dialled too unless
    /// --no-default-bootstrap).
    #[arg(
        long,
        env = "KAICHI_BOOTSTRAP",
        value_delimiter = ',',
        value_name = "MULTIADDR"
    )]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) bootstrap: Vec<String>,
    /// Do not dial the built-in bootstrap peers (the public IPFS ones that
    /// `kaichi config show` lists).
    #[arg(long, env = "KAICHI_NO_DEFAULT_BOOTSTRAP")]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) no_default_bootstrap: bool,
    /// Relay/store mode: follow connected peers' inboxes and hold their
    /// notifications while they are offline.
    #[arg(long, env = "KAICHI_RELAY")]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) relay: bool,
    /// With --relay: how long held notifications are kept [default: 7d].
    #[arg(long, env = "KAICHI_RETENTION", value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) retention: Option<String>,
    /// With --relay: what one publisher may send to the inboxes followed,
    /// `PER_SECOND/BURST` (a flooding publisher is refused, then
    /// disconnected) [default: 100/500].
    #[arg(long, env = "KAICHI_RELAY_PUBLISHER_RATE", value_name = "RATE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) relay_publisher_rate: Option<String>,
    /// With --relay: what one inbox may receive, `PER_SECOND/BURST`
    /// [default: 400/1000].
    #[arg(long, env = "KAICHI_RELAY_INBOX_RATE", value_name = "RATE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) relay_inbox_rate: Option<String>,
    /// With --relay: what one connected peer may send to the inboxes
    /// followed, whoever signed it, `PER_SECOND/BURST` (many keys made up
    /// by one peer share it; past it the peer is disconnected)
    /// [default: 1000/2000].
    #[arg(long, env = "KAICHI_RELAY_CONNECTION_RATE", value_name = "RATE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) relay_connection_rate: Option<String>,
    /// With --relay: most bytes held per inbox, the oldest go first
    /// [default: 33554432].
    #[arg(long, env = "KAICHI_RELAY_HELD_BYTES", value_name = "BYTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) relay_held_bytes: Option<usize>,
    /// Most inbound connections from one IP address, refused before any
    /// handshake [default: 32].
    #[arg(long, env = "KAICHI_MAX_CONNECTIONS_PER_IP", value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) max_connections_per_ip: Option<u32>,
    /// DHT mode: `auto` serves while AutoNAT (peers dialling back) or an
    /// --external-address confirms that others can reach this node,
    /// `server` always answers queries (a LAN, loopback), `client` only
    /// asks [default: auto].
    #[arg(long, env = "KAICHI_DHT_MODE", value_parser = ["auto", "server", "client"])]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) dht_mode: Option<String>,
    /// The MLS engine of the groups this node creates and of the KeyPackage
    /// it publishes: `mls-rs` or `openmls` [default: mls-rs].
    #[arg(long, env = "KAICHI_GROUP_ENGINE", value_name = "ENGINE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) group_engine: Option<String>,
    /// Let AutoNAT confirm private and loopback addresses (a LAN, or tests
    /// on one machine); by default only global addresses count.
    #[arg(long, env = "KAICHI_AUTONAT_PRIVATE_IPS")]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(crate) autonat_private_ips: bool,
    /// An address others reach this node at, repeatable: announced to
    /// peers; makes an `auto` node a DHT server.
    #[arg(
        long,
        env = "KAICHI_EXTERNAL_ADDRESS",
        value_delimiter = ',',
        value_name = "MULTIADDR"
    )]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub(crate) external_address: Vec<String>,
    /// SPL token balances for admitting members to token-holder groups
    /// this node sequences: a JSON snapshot `{"<wallet>": {"<mint>": amount}}`.
    #[arg(long, env = "KAICHI_TOKEN_BALANCES", value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) token_balances: Option<std::path::PathBuf>,
    /// A Solana JSON-RPC endpoint (http:// or https://) to read SPL token
    /// balances from: this node then admits join requests to the
    /// token-holder groups it sequences and re-checks their members
    /// (replaces --token-balances).
    #[arg(long, value_name = "URL", env = "KAICHI_SOLANA_RPC")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) solana_rpc: Option<String>,
    /// With --solana-rpc: the commitment of the balances read
    /// (processed, confirmed, finalized) [default: confirmed].
    #[arg(long, env = "KAICHI_SOLANA_COMMITMENT", value_name = "LEVEL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) solana_commitment: Option<String>,
    /// With --solana-rpc: most requests a second to the RPC (bursts of
    /// twice that); a re-check of N members takes about N / RATE seconds
    /// [default: 20].
    #[arg(long, env = "KAICHI_SOLANA_RATE", value_name = "RATE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) solana_rate: Option<u32>,
    /// With --solana-rpc: how often members' balances are re-checked
    /// (those under the minimum are removed) [default: 10m].
    #[arg(long, env = "KAICHI_TOKEN_RECHECK", value_name = "DURATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) token_recheck: Option<String>,
}

impl NodeArgs {
    /// These options (flags and variables) over `file`'s: a list given
    /// here replaces the file's, a switch given here turns it on.
    pub(crate) fn over(self, file: NodeArgs) -> NodeArgs {
        fn list(given: Vec<String>, file: Vec<String>) -> Vec<String> {
            if given.is_empty() { file } else { given }
        }
        NodeArgs {
            listen: list(self.listen, file.listen),
            bootstrap: list(self.bootstrap, file.bootstrap),
            no_default_bootstrap: self.no_default_bootstrap || file.no_default_bootstrap,
            relay: self.relay || file.relay,
            retention: self.retention.or(file.retention),
            relay_publisher_rate: self.relay_publisher_rate.or(file.relay_publisher_rate),
            relay_inbox_rate: self.relay_inbox_rate.or(file.relay_inbox_rate),
            relay_connection_rate: self.relay_connection_rate.or(file.relay_connection_rate),
            relay_held_bytes: self.relay_held_bytes.or(file.relay_held_bytes),
            max_connections_per_ip: self.max_connections_per_ip.or(file.max_connections_per_ip),
            dht_mode: self.dht_mode.or(file.dht_mode),
            group_engine: self.group_engine.or(file.group_engine),
            autonat_private_ips: self.autonat_private_ips || file.autonat_private_ips,
            external_address: list(self.external_address, file.external_address),
            token_balances: self.token_balances.or(file.token_balances),
            solana_rpc: self.solana_rpc.or(file.solana_rpc),
            solana_commitment: self.solana_commitment.or(file.solana_commitment),
            solana_rate: self.solana_rate.or(file.solana_rate),
            token_recheck: self.token_recheck.or(file.token_recheck),
        }
    }
}

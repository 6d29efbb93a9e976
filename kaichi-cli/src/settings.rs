//! `config.toml` in the profile: the settings `kaichi node` starts with.
//!
//! Its keys are `kaichi node`'s flags ([`NodeArgs`], kebab-case); a flag
//! or its `KAICHI_*` variable overrides the file ([`NodeArgs::over`]).
//! Every value is checked when it is set, and again when the node starts:
//! both go through [`NodeOptions::parse`], the one parser of the options.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use kaichi_transport::{ConnectionLimits, DhtMode, Multiaddr, NodeConfigBuilder, RateLimit};

use crate::cli::NodeArgs;

/// The file's name in the profile directory.
pub(crate) const SETTINGS_FILE: &str = "config.toml";

/// The peers a node dials unless told not to (`no-default-bootstrap`):
/// the public IPFS bootstrap node that has fixed IP addresses (Kaichi
/// speaks the IPFS DHT, `/ipfs/kad/1.0.0`). The `/dnsaddr/` ones of
/// kubo's list need DNS, which the node does not resolve.
pub(crate) const DEFAULT_BOOTSTRAP: &[&str] = &[
    "/ip4/104.131.131.82/tcp/4001/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
    "/ip4/104.131.131.82/udp/4001/quic-v1/p2p/QmaCpDMGvV2BGHeYERUEnRQAwe3N8SzbUtfsmvsqQLuvuJ",
];

/// Keys holding lists: `set` adds a value, `unset KEY VALUE` removes one.
const LIST_KEYS: &[&str] = &["listen", "bootstrap", "external-address"];
/// Keys holding `true` or `false`.
const SWITCH_KEYS: &[&str] = &["no-default-bootstrap", "relay", "autonat-private-ips"];
/// Keys holding whole numbers.
const NUMBER_KEYS: &[&str] = &["relay-held-bytes", "max-connections-per-ip", "solana-rate"];

/// The settings file of the profile at `home`.
pub(crate) fn path(home: &Path) -> PathBuf {
    home.join(SETTINGS_FILE)
}

/// Reads the settings (none when the file does not exist), checked.
pub(crate) fn load(home: &Path) -> anyhow::Result<NodeArgs> {
    let path = path(home);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(NodeArgs::default()),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    parse_file(&text).with_context(|| format!("in {}", path.display()))
}

/// Parses and checks a settings file's text.
pub(crate) fn parse_file(text: &str) -> anyhow::Result<NodeArgs> {
    let settings: NodeArgs = toml::from_str(text)?;
    NodeOptions::parse(&settings)?;
    Ok(settings)
}

/// Writes the settings (owner-only, replaced atomically).
pub(crate) fn save(home: &Path, settings: &NodeArgs) -> anyhow::Result<()> {
    let text = toml::to_string(settings).context("writing the settings as TOML")?;
    crate::profile::write_private(&path(home), text.as_bytes())
}

/// `settings` with `key` set to `value` (added, for a list), checked.
pub(crate) fn set(settings: &NodeArgs, key: &str, value: &str) -> anyhow::Result<NodeArgs> {
    let mut table = toml::Table::try_from(settings)?;
    let value = if LIST_KEYS.contains(&key) {
        let mut list = match table.remove(key) {
            Some(toml::Value::Array(a)) => a,
            _ => Vec::new(),
        };
        let new = toml::Value::String(value.to_owned());
        if !list.contains(&new) {
            list.push(new);
        }
        toml::Value::Array(list)
    } else if SWITCH_KEYS.contains(&key) {
        match value {
            "true" | "yes" | "on" | "1" => toml::Value::Boolean(true),
            "false" | "no" | "off" | "0" => toml::Value::Boolean(false),
            _ => bail!("{key} is true or false, not {value:?}"),
        }
    } else if NUMBER_KEYS.contains(&key) {
        let n: i64 = value
            .parse()
            .ok()
            .filter(|n| *n >= 0)
            .with_context(|| format!("{key} is a whole number, not {value:?}"))?;
        toml::Value::Integer(n)
    } else {
        toml::Value::String(value.to_owned())
    };
    table.insert(key.to_owned(), value);
    checked(table, key)
}

/// `settings` without `key`, or (for a list) without `value` in it.
pub(crate) fn unset(
    settings: &NodeArgs,
    key: &str,
    value: Option<&str>,
) -> anyhow::Result<NodeArgs> {
    let mut table = toml::Table::try_from(settings)?;
    known(key)?;
    match (value, table.get_mut(key)) {
        (Some(v), Some(toml::Value::Array(list))) => {
            let before = list.len();
            list.retain(|x| x.as_str() != Some(v));
            if list.len() == before {
                bail!("{key} does not hold {v:?}");
            }
        }
        (Some(_), _) if !LIST_KEYS.contains(&key) => bail!("{key} holds one value: unset it whole"),
        (Some(v), _) => bail!("{key} does not hold {v:?}"),
        _ => {
            table.remove(key);
        }
    }
    checked(table, key)
}

/// The keys a settings file may hold.
pub(crate) fn keys() -> Vec<String> {
    // Every option has a value in this one, so every key is listed.
    let all = NodeArgs {
        listen: vec![String::new()],
        bootstrap: vec![String::new()],
        no_default_bootstrap: true,
        relay: true,
        retention: Some(String::new()),
        relay_publisher_rate: Some(String::new()),
        relay_inbox_rate: Some(String::new()),
        relay_connection_rate: Some(String::new()),
        relay_held_bytes: Some(0),
        max_connections_per_ip: Some(0),
        dht_mode: Some(String::new()),
        group_engine: Some(String::new()),
        autonat_private_ips: true,
        external_address: vec![String::new()],
        token_balances: Some(PathBuf::new()),
        solana_rpc: Some(String::new()),
        solana_commitment: Some(String::new()),
        solana_rate: Some(0),
        token_recheck: Some(String::new()),
    };
    toml::Table::try_from(all)
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default()
}

fn known(key: &str) -> anyhow::Result<()> {
    let keys = keys();
    if !keys.iter().any(|k| k == key) {
        bail!("no setting {key:?}; the settings are: {}", keys.join(", "));
    }
    Ok(())
}

fn checked(table: toml::Table, key: &str) -> anyhow::Result<NodeArgs> {
    known(key)?;
    let settings: NodeArgs = table.try_into().with_context(|| format!("setting {key}"))?;
    NodeOptions::parse(&settings)?;
    Ok(settings)
}

/// A relay's limits, parsed and checked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RelayOptions {
    /// How long held notifications are kept.
    pub(crate) retention: Duration,
    /// Per publisher key.
    pub(crate) publisher: RateLimit,
    /// Per inbox.
    pub(crate) inbox: RateLimit,
    /// Per connected peer, whoever signed.
    pub(crate) connection: RateLimit,
    /// Bytes held per inbox.
    pub(crate) held: usize,
}

/// The options parsed and checked: what the node is configured with.
#[derive(Debug)]
pub(crate) struct NodeOptions {
    pub(crate) listen: Vec<Multiaddr>,
    /// The bootstrap peers given, then the built-in ones unless turned off.
    pub(crate) bootstrap: Vec<Multiaddr>,
    pub(crate) external: Vec<Multiaddr>,
    /// What a relay keeps and takes (with `relay`).
    pub(crate) relay: Option<RelayOptions>,
    pub(crate) max_per_ip: Option<u32>,
    pub(crate) dht_mode: DhtMode,
    pub(crate) engine: kaichi_groups::GroupEngine,
    pub(crate) autonat_private_ips: bool,
    /// The RPC endpoint and how often members are re-checked.
    pub(crate) solana: Option<(kaichi_transport::solana::SolanaRpcConfig, Duration)>,
}

impl NodeOptions {
    /// Parses every option, whether it is used or not (a bad value in the
    /// file is reported when it is set, not when it is first needed).
    pub(crate) fn parse(a: &NodeArgs) -> anyhow::Result<Self> {
        let addrs = |flag: &str, list: &[String]| -> anyhow::Result<Vec<Multiaddr>> {
            list.iter()
                .map(|a| {
                    a.parse()
                        .with_context(|| format!("{flag} {a}: not a multiaddr"))
                })
                .collect()
        };
        let mut bootstrap = addrs("--bootstrap", &a.bootstrap)?;
        if !a.no_default_bootstrap {
            for d in DEFAULT_BOOTSTRAP {
                bootstrap.push(d.parse().context("a built-in bootstrap address")?);
            }
        }
        let duration = |flag: &str, v: &Option<String>, default: &str| {
            crate::duration::parse(v.as_deref().unwrap_or(default)).context(flag.to_owned())
        };
        let retention = duration("--retention", &a.retention, "7d")?;
        let publisher = rate(a.relay_publisher_rate.as_deref().unwrap_or("100/500"))
            .context("--relay-publisher-rate")?;
        let inbox = rate(a.relay_inbox_rate.as_deref().unwrap_or("400/1000"))
            .context("--relay-inbox-rate")?;
        let connection = rate(a.relay_connection_rate.as_deref().unwrap_or("1000/2000"))
            .context("--relay-connection-rate")?;
        let held = a.relay_held_bytes.unwrap_or(32 * 1024 * 1024);
        if held == 0 {
            bail!("--relay-held-bytes: 0 holds nothing");
        }
        if a.max_connections_per_ip == Some(0) {
            bail!("--max-connections-per-ip: 0 refuses every peer");
        }
        let dht_mode = match a.dht_mode.as_deref().unwrap_or("auto") {
            "auto" => DhtMode::Auto,
            "server" => DhtMode::Server,
            "client" => DhtMode::Client,
            other => bail!("--dht-mode {other:?}: auto, server or client"),
        };
        let engine = a
            .group_engine
            .as_deref()
            .unwrap_or("mls-rs")
            .parse()
            .context("--group-engine")?;
        let commitment: kaichi_groups::token::Commitment = a
            .solana_commitment
            .as_deref()
            .unwrap_or("confirmed")
            .parse()
            .context("--solana-commitment")?;
        let solana_rate = a.solana_rate.unwrap_or(20);
        let recheck = duration("--token-recheck", &a.token_recheck, "10m")?;
        let solana = match &a.solana_rpc {
            None => None,
            Some(url) => {
                let config = kaichi_transport::solana::SolanaRpcConfig::new(url)
                    .context("--solana-rpc")?
                    .commitment(commitment)
                    .rate(solana_rate, solana_rate.saturating_mul(2))
                    .context("--solana-rate")?;
                Some((config, recheck))
            }
        };
        Ok(Self {
            listen: addrs("--listen", &a.listen)?,
            bootstrap,
            external: addrs("--external-address", &a.external_address)?,
            relay: a.relay.then_some(RelayOptions {
                retention,
                publisher,
                inbox,
                connection,
                held,
            }),
            max_per_ip: a.max_connections_per_ip,
            dht_mode,
            engine,
            autonat_private_ips: a.autonat_private_ips,
            solana,
        })
    }

    /// The node configuration with these options applied (all but the
    /// token balance sources, which the node command opens).
    pub(crate) fn configure(&self, mut c: NodeConfigBuilder) -> NodeConfigBuilder {
        for addr in &self.listen {
            c = c.listen(addr.clone());
        }
        for addr in &self.bootstrap {
            c = c.bootstrap(addr.clone());
        }
        for addr in &self.external {
            c = c.external_address(addr.clone());
        }
        if let Some(r) = self.relay {
            c = c
                .relay(r.retention)
                .relay_rates(r.publisher, r.inbox)
                .relay_connection_rate(r.connection)
                .relay_held_bytes(r.held);
        }
        if let Some(n) = self.max_per_ip {
            c = c.connection_limits(ConnectionLimits {
                max_per_ip: n,
                ..ConnectionLimits::default()
            });
        }
        c.dht_mode(self.dht_mode)
            .group_engine(self.engine)
            .autonat_private_ips(self.autonat_private_ips)
    }
}

/// A rate as `PER_SECOND/BURST` (both at least 1).
fn rate(text: &str) -> anyhow::Result<RateLimit> {
    let (per_second, burst) = text
        .split_once('/')
        .with_context(|| format!("{text:?} is not PER_SECOND/BURST"))?;
    let parse = |n: &str| -> anyhow::Result<u32> {
        let v: u32 = n
            .trim()
            .parse()
            .with_context(|| format!("{n:?} is not a whole number"))?;
        anyhow::ensure!(v > 0, "a rate of 0 refuses everything");
        Ok(v)
    };
    Ok(RateLimit {
        per_second: parse(per_second)?,
        burst: parse(burst)?,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// Any value for any key is either refused or kept so that the file
        /// reads back to the same settings; any file text is either read
        /// or refused, never a panic.
        #[test]
        fn any_value_is_checked_and_round_trips(
            key in prop::sample::select(keys()),
            value in prop_oneof!["\\PC{0,40}", "[0-9]{1,6}(/[0-9]{1,4})?", Just("true".to_owned())],
            file in "\\PC{0,200}",
        ) {
            if let Ok(s) = set(&NodeArgs::default(), &key, &value) {
                let text = toml::to_string(&s).unwrap();
                prop_assert_eq!(parse_file(&text).unwrap(), s);
            }
            let _ = parse_file(&file);
        }
    }

    #[test]
    fn set_adds_to_lists_checks_values_and_unset_removes() {
        let s = NodeArgs::default();
        let addr = "/ip4/127.0.0.1/tcp/4001";
        let s = set(&s, "bootstrap", addr).unwrap();
        let s = set(&s, "bootstrap", addr).unwrap();
        assert_eq!(s.bootstrap, vec![addr.to_owned()]);
        let s = set(&s, "relay", "true").unwrap();
        let s = set(&s, "relay-held-bytes", "1024").unwrap();
        assert!(s.relay);
        assert_eq!(s.relay_held_bytes, Some(1024));
        // Bad values and unknown keys change nothing: the error is returned.
        for (k, v) in [
            ("bootstrap", "not an address"),
            ("relay", "maybe"),
            ("relay-held-bytes", "-1"),
            ("relay-publisher-rate", "0/5"),
            ("relay-connection-rate", "10"),
            ("dht-mode", "sometimes"),
            ("retention", "7 weeks"),
            ("solana-rpc", "ftp://x"),
            ("no-such-key", "1"),
        ] {
            assert!(set(&s, k, v).is_err(), "{k} = {v} was taken");
        }
        let text = toml::to_string(&s).unwrap();
        assert_eq!(parse_file(&text).unwrap(), s);
        let s = unset(&s, "bootstrap", Some(addr)).unwrap();
        assert!(s.bootstrap.is_empty());
        assert!(unset(&s, "bootstrap", Some(addr)).is_err());
        let s = unset(&s, "relay", None).unwrap();
        assert!(!s.relay);
        assert!(parse_file("unknown = 1").is_err());
        assert!(parse_file("relay = \"yes\"").is_err());
    }

    #[test]
    fn flags_override_the_file_and_defaults_can_be_turned_off() {
        let file = set(&NodeArgs::default(), "bootstrap", "/ip4/127.0.0.1/tcp/1").unwrap();
        let file = set(&file, "retention", "1d").unwrap();
        let flags = NodeArgs {
            retention: Some("2h".into()),
            ..NodeArgs::default()
        };
        let merged = flags.over(file.clone());
        assert_eq!(merged.retention.as_deref(), Some("2h"));
        assert_eq!(merged.bootstrap, file.bootstrap);
        let o = NodeOptions::parse(&merged).unwrap();
        assert_eq!(o.bootstrap.len(), 1 + DEFAULT_BOOTSTRAP.len());
        let off = NodeArgs {
            no_default_bootstrap: true,
            ..merged
        };
        assert_eq!(NodeOptions::parse(&off).unwrap().bootstrap.len(), 1);
        assert!(keys().len() >= 18, "{:?}", keys());
    }
}

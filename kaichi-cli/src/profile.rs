//! The profile directory: the wallet file and a small public config.
//!
//! Layout (all files owner-only):
//! - `wallet.json`: the wallet, solana-keygen format (mode 0600);
//! - `profile.json`: key epoch, wallet address and the last IPNS sequence;
//!   on a device, the identity it is a device of;
//! - `identity-document.bin`: the identity's signed document once it lists
//!   devices (on the primary, as `kaichi device approve` last signed it; on
//!   a device, the one it joined with: its grant is in it).
//!
//! Identity keys are never stored: the primary re-derives them from its
//! wallet; a device opens its grant with keys derived from its own wallet.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use kaichi_identity::wallet::{KeypairWallet, WalletSigner as _};
use kaichi_identity::{IdentityKeys, KeyEpoch};
use kaichi_privatelog::store::{Durability, SqliteStore};
use serde::{Deserialize, Serialize};

const WALLET_FILE: &str = "wallet.json";
const CONFIG_FILE: &str = "profile.json";
const DOCUMENT_FILE: &str = "identity-document.bin";
/// The profile database file: the node builder's, so CLI and node share it.
const DATABASE_FILE: &str = kaichi_transport::DATABASE_FILE;
/// The WebRTC-direct certificate and key, PEM.
#[cfg(feature = "webrtc")]
const WEBRTC_CERTIFICATE_FILE: &str = "webrtc.pem";
const CONFIG_VERSION: u32 = 1;

/// Public, non-secret profile settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Config {
    /// Format version of this file.
    pub(crate) version: u32,
    /// The wallet address (a check that wallet.json was not swapped).
    pub(crate) wallet: String,
    /// The current key epoch.
    pub(crate) epoch: u32,
    /// The last IPNS record sequence this profile used.
    #[serde(default)]
    pub(crate) ipns_sequence: Option<u64>,
    /// Set when this profile is a device of another wallet's identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) device_of: Option<DeviceOf>,
}

/// The identity a device profile belongs to (public values only).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub(crate) struct DeviceOf {
    /// The identity's IPNS name.
    pub(crate) identity: String,
    /// The identity's primary wallet.
    pub(crate) wallet: String,
}

/// A profile directory.
#[derive(Debug, Clone)]
pub(crate) struct Profile {
    home: PathBuf,
}

impl Profile {
    /// The profile at `home`, or the platform default.
    pub(crate) fn at(home: Option<PathBuf>) -> anyhow::Result<Self> {
        let home = match home {
            Some(h) => h,
            None => dirs::data_dir()
                .context("no platform data directory; pass --home DIR or set KAICHI_HOME")?
                .join("kaichi"),
        };
        Ok(Self { home })
    }

    /// The directory.
    pub(crate) fn home(&self) -> &Path {
        &self.home
    }

    fn wallet_path(&self) -> PathBuf {
        self.home.join(WALLET_FILE)
    }

    /// The node's WebRTC-direct certificate (`webrtc.pem`, owner-only),
    /// made on first use: kept, the `/certhash` of the node's
    /// `/webrtc-direct` addresses stays the same across restarts.
    #[cfg(feature = "webrtc")]
    pub(crate) fn webrtc_certificate(&self) -> anyhow::Result<kaichi_transport::WebRtcCertificate> {
        let path = self.home.join(WEBRTC_CERTIFICATE_FILE);
        match fs::read_to_string(&path) {
            Ok(pem) => {
                let pem = zeroize::Zeroizing::new(pem);
                kaichi_transport::WebRtcCertificate::from_pem(&pem).with_context(|| {
                    format!(
                        "{} is damaged; delete it to make a new certificate (the /certhash of the node's WebRTC addresses changes)",
                        path.display()
                    )
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let certificate = kaichi_transport::WebRtcCertificate::generate()?;
                create_private_dir(&self.home)?;
                write_private(&path, certificate.to_pem().as_bytes())?;
                Ok(certificate)
            }
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    fn config_path(&self) -> PathBuf {
        self.home.join(CONFIG_FILE)
    }

    /// Stores `wallet` as this profile's wallet (epoch 0).
    pub(crate) fn set_wallet(&self, wallet: &KeypairWallet, force: bool) -> anyhow::Result<()> {
        if self.wallet_path().exists() && !force {
            bail!(
                "{} already has a wallet; pass --force to replace it (back it up first)",
                self.home.display()
            );
        }
        create_private_dir(&self.home)?;
        write_private(&self.wallet_path(), wallet.to_keypair_json().as_bytes())?;
        self.save_config(&Config {
            version: CONFIG_VERSION,
            wallet: wallet.address().to_string(),
            epoch: 0,
            ipns_sequence: None,
            device_of: None,
        })
    }

    /// The profile's config.
    pub(crate) fn config(&self) -> anyhow::Result<Config> {
        let path = self.config_path();
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
                "no wallet in {}: run `kaichi wallet new` or `kaichi wallet import` first",
                self.home.display()
            ),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let config: Config = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a Kaichi profile", path.display()))?;
        if config.version != CONFIG_VERSION {
            bail!(
                "{} has version {}, this kaichi reads version {CONFIG_VERSION}",
                path.display(),
                config.version
            );
        }
        Ok(config)
    }

    /// Writes the config.
    pub(crate) fn save_config(&self, config: &Config) -> anyhow::Result<()> {
        let mut text = serde_json::to_string_pretty(config)?;
        text.push('\n');
        write_private(&self.config_path(), text.as_bytes())
    }

    /// The profile's database (blocks, logs; shared with later layers).
    pub(crate) fn store(&self) -> anyhow::Result<SqliteStore> {
        create_private_dir(&self.home)?;
        let path = self.home.join(DATABASE_FILE);
        SqliteStore::open(&path, Durability::Full)
            .with_context(|| format!("opening {}", path.display()))
    }

    /// The profile's group database (the same file as the store).
    pub(crate) fn groups(&self) -> anyhow::Result<kaichi_groups::GroupDatabase> {
        create_private_dir(&self.home)?;
        let path = self.home.join(DATABASE_FILE);
        kaichi_groups::GroupDatabase::open(&path)
            .with_context(|| format!("opening {}", path.display()))
    }

    /// The identity document this profile keeps, if any (see the layout).
    pub(crate) fn document(&self) -> anyhow::Result<Option<Vec<u8>>> {
        let path = self.home.join(DOCUMENT_FILE);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Replaces the identity document this profile keeps.
    pub(crate) fn save_document(&self, document: &[u8]) -> anyhow::Result<()> {
        write_private(&self.home.join(DOCUMENT_FILE), document)
    }

    /// Forgets the identity document (a new key epoch starts without one).
    pub(crate) fn remove_document(&self) -> anyhow::Result<()> {
        let path = self.home.join(DOCUMENT_FILE);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(e).with_context(|| format!("removing {}", path.display()))
            }
            _ => Ok(()),
        }
    }

    /// The wallet and the keys derived from it at the profile's epoch (on a
    /// device, the device's own keys, not the identity's).
    pub(crate) fn own_keys(&self) -> anyhow::Result<(KeypairWallet, IdentityKeys, Config)> {
        let config = self.config()?;
        let path = self.wallet_path();
        let bytes = crate::secrets::read_file(&path)?;
        let wallet = KeypairWallet::from_keypair_json(&bytes)
            .with_context(|| format!("reading {}", path.display()))?;
        if wallet.address().to_string() != config.wallet {
            bail!(
                "{} holds wallet {}, but the profile is for {}",
                path.display(),
                wallet.address(),
                config.wallet
            );
        }
        let keys = IdentityKeys::derive(&wallet, KeyEpoch::new(config.epoch))?;
        Ok((wallet, keys, config))
    }

    /// The wallet and the identity's keys: derived from the wallet at the
    /// current epoch, or, on a device, opened from the device's grant.
    pub(crate) fn identity(&self) -> anyhow::Result<(KeypairWallet, IdentityKeys, Config)> {
        let (wallet, own, config) = self.own_keys()?;
        match &config.device_of {
            None => Ok((wallet, own, config)),
            Some(of) => {
                let keys = crate::device_link::open(self, of, &own)?;
                Ok((wallet, keys, config))
            }
        }
    }
}

/// Creates `dir` (and parents) with mode 0700.
pub(crate) fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder
        .create(dir)
        .with_context(|| format!("creating {}", dir.display()))
}

/// Atomically replaces `path` with `bytes`, owner-only (0600), fsynced.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .context("path has no file name")?
        .to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        opts.mode(0o600);
    }
    let result = (|| {
        let mut f = opts
            .open(&tmp)
            .with_context(|| format!("creating {}", tmp.display()))?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        // The rename is durable once the directory is synced; where a
        // directory cannot be opened or synced (some filesystems), the file
        // itself already is.
        if let Ok(d) = fs::File::open(dir)
            && let Err(e) = d.sync_all()
        {
            eprintln!("warning: syncing {}: {e}", dir.display());
        }
        Ok(())
    })();
    if result.is_err() && tmp.exists() {
        // Best effort: the write already failed; a stray temporary file is
        // replaced by the next write.
        fs::remove_file(&tmp).ok();
    }
    result
}

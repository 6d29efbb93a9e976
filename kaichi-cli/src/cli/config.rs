//! `kaichi config …`.

use clap::Subcommand;

/// `kaichi config …`: the profile's `config.toml`, whose keys are `kaichi
/// node`'s flags (`listen`, `bootstrap`, `relay`, `solana-rpc`, …).
#[derive(Debug, Subcommand)]
pub(crate) enum ConfigCommand {
    /// Show every setting: the file's value, else the default.
    Show,
    /// Print one setting's value (as the file holds it; nothing when unset).
    Get {
        /// The key (a `kaichi node` flag without its dashes, e.g. `bootstrap`).
        key: String,
    },
    /// Set a key; for a list (`listen`, `bootstrap`, `external-address`),
    /// add a value. The value is checked as `kaichi node` would.
    Set {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
    /// Remove a key, or one value of a list.
    Unset {
        /// The key.
        key: String,
        /// For a list: the value to remove (all of them when left out).
        value: Option<String>,
    },
    /// Edit the file in $VISUAL or $EDITOR (else `vi`); it is checked
    /// before it replaces the old one.
    Edit,
    /// Print the file's path.
    Path,
}

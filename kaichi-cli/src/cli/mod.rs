//! Command-line syntax.

mod config;
mod node;

pub(crate) use config::ConfigCommand;
pub(crate) use node::NodeArgs;

use std::path::PathBuf;

use clap::{ArgGroup, Args, Parser, Subcommand};

/// Kaichi: end-to-end encrypted messages between Solana wallets, with no server.
#[derive(Debug, Parser)]
#[command(name = "kaichi", version, about, propagate_version = true)]
pub(crate) struct Cli {
    /// Profile directory (default: the platform data dir, e.g. ~/.local/share/kaichi).
    #[arg(long, global = true, env = "KAICHI_HOME", value_name = "DIR")]
    pub(crate) home: Option<PathBuf>,
    /// Machine-readable JSON output.
    #[arg(long, global = true)]
    pub(crate) json: bool,
    /// More log output on standard error (-v info, -vv debug, -vvv trace;
    /// RUST_LOG, when set, decides instead).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub(crate) verbose: u8,
    /// Only errors in the log output.
    #[arg(short, long, global = true)]
    pub(crate) quiet: bool,
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Create or import the wallet this profile uses.
    #[command(subcommand)]
    Wallet(WalletCommand),
    /// Show this profile's identity.
    #[command(subcommand)]
    Id(IdCommand),
    /// Link this identity's devices: each its own wallet, one identity.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// List the identity's devices (`--json`: wallet, signing key, added).
    Devices,
    /// Create and verify IPNS records.
    #[command(subcommand)]
    Ipns(IpnsCommand),
    /// List contacts, or add one from their identity document.
    Contacts {
        #[command(subcommand)]
        command: Option<ContactsCommand>,
    },
    /// Message requests: people who wrote (or invited you to a group)
    /// without being contacts. List them, accept one, or block one.
    Requests {
        #[command(subcommand)]
        command: Option<RequestsCommand>,
    },
    /// Local conversation logs: append, show, export, import and verify CAR files.
    #[command(subcommand)]
    Log(LogCommand),
    /// Run the node: listen, deliver and receive messages, serve the other
    /// commands. Its options may be kept in the profile (`kaichi config`).
    Node(NodeArgs),
    /// The settings `kaichi node` starts with (the profile's config.toml;
    /// flags and KAICHI_* variables override it).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Is the node up, who is it connected to, what is waiting (`--json`
    /// for scripts).
    Status,
    /// Chat with a contact or in a group, live, in the terminal (through
    /// the running node).
    Chat {
        /// The contact (wallet address or IPNS name) or the group (id or
        /// unique name).
        with: String,
        /// Messages shown when the chat opens (older ones by scrolling).
        #[arg(long, default_value_t = 500)]
        history: usize,
    },
    /// Print a shell completion script (e.g. `kaichi completions bash >
    /// ~/.local/share/bash-completion/completions/kaichi`).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page, or with --out write one page per command.
    Man {
        /// A directory for `kaichi.1`, `kaichi-node.1`, ….
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Direct messages through the running node.
    #[command(subcommand)]
    Dm(DmCommand),
    /// Group chats (MLS, RFC 9420).
    #[command(subcommand)]
    Group(GroupCommand),
    /// List the groups this profile is in (`--json`: id, name, epoch, members).
    Groups,
    /// Run a self-contained demonstration in a temporary directory.
    Demo {
        /// Run it in this (new or empty) directory and keep the profiles
        /// it made, to look at them afterwards.
        #[arg(long, value_name = "DIR")]
        keep: Option<PathBuf>,
    },
    /// IPFS blocks by CID.
    #[command(subcommand)]
    Block(BlockCommand),
}

/// `kaichi group …`. A group is named by its id (hex) or, when unique, its name.
/// These commands work on the profile's database and on files, with no node.
#[derive(Debug, Subcommand)]
pub(crate) enum GroupCommand {
    /// Create a group (you are its admin and sequencer); prints its id.
    Create {
        /// The group's name.
        name: String,
        /// A description.
        #[arg(long, default_value = "")]
        description: String,
        /// A token-holder group: members' wallets must hold this SPL token
        /// (its mint address); the sequencer's node checks balances
        /// (`kaichi node --token-balances`).
        #[arg(long, requires = "token_minimum")]
        token_mint: Option<String>,
        /// With --token-mint: the least balance, in base units.
        #[arg(long, requires = "token_mint")]
        token_minimum: Option<u64>,
        /// The MLS engine holding the group here: `mls-rs` (the default:
        /// linear in the group size) or `openmls`.
        #[arg(long)]
        engine: Option<String>,
    },
    /// Write this identity's KeyPackage (an MLSMessage) for an inviter.
    Keypackage {
        /// Where to write it.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        /// A last-resort KeyPackage (may be used more than once).
        #[arg(long)]
        last_resort: bool,
    },
    /// Add a member. Through the running node: `invite GROUP MEMBER` (wallet
    /// address or IPNS name of a contact; their KeyPackage is fetched and the
    /// Welcome delivered to their inbox). With files: `invite GROUP
    /// --keypackage FILE --welcome-out FILE [--tree-out FILE] [--commit-out FILE]`.
    Invite {
        /// The group.
        group: String,
        /// The contact to invite (through the node).
        #[arg(required_unless_present = "keypackage", conflicts_with = "keypackage")]
        member: Option<String>,
        /// The invitee's KeyPackage (an MLSMessage file).
        #[arg(long, value_name = "FILE", requires = "welcome_out")]
        keypackage: Option<PathBuf>,
        /// Where to write the Welcome.
        #[arg(long, value_name = "FILE")]
        welcome_out: Option<PathBuf>,
        /// Where to write the ratchet tree (the invitee needs it beside the Welcome).
        #[arg(long, value_name = "FILE")]
        tree_out: Option<PathBuf>,
        /// Where to write the commit (or, from a non-sequencer, the proposal) for the other members.
        #[arg(long, value_name = "FILE")]
        commit_out: Option<PathBuf>,
        /// Token balances for a token-holder group (a JSON snapshot
        /// `{wallet: {mint: amount}}`, as `kaichi node --token-balances`).
        #[arg(long, value_name = "FILE", requires = "keypackage")]
        token_balances: Option<PathBuf>,
    },
    /// Ask a token-holder group's sequencer to let this wallet in (through
    /// the running node): `request GROUP --sequencer PEER`, or `request
    /// --mint M` to find the groups gated on a mint and ask each. The
    /// sequencer checks the wallet's balance and adds it, or refuses with
    /// the reason ("holds 3, needs 10"). Prints each outcome, or that it is
    /// pending when none came within --wait; exits 1 if any was refused.
    Request {
        /// The group's id (or give --mint instead).
        #[arg(required_unless_present = "mint", requires = "sequencer")]
        group: Option<String>,
        /// Its sequencer (wallet address or IPNS name).
        #[arg(long)]
        sequencer: Option<String>,
        /// Find the groups gated on this mint in the DHT and ask each.
        #[arg(long, conflicts_with = "group")]
        mint: Option<String>,
        /// How long to wait for the answer.
        #[arg(long, default_value = "30s")]
        wait: String,
    },
    /// Join a group from a Welcome file; prints its id.
    Join {
        /// The Welcome (an MLSMessage file).
        #[arg(long, value_name = "FILE")]
        welcome: PathBuf,
        /// The ratchet tree, when the Welcome does not carry it.
        #[arg(long, value_name = "FILE")]
        tree: Option<PathBuf>,
    },
    /// Send a message to the group: through the running node, or with
    /// `--out FILE` encrypted into a file (an MLSMessage).
    Send {
        /// The group.
        group: String,
        /// The text.
        text: String,
        /// Write the MLSMessage here instead of sending it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Process a received MLSMessage file: show a message, apply a commit, queue a proposal.
    Decrypt {
        /// The group.
        group: String,
        /// The message file.
        file: PathBuf,
    },
    /// Show the group's messages received so far.
    Read {
        /// The group.
        group: String,
        /// How many (the newest).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// List the members.
    Members {
        /// The group.
        group: String,
    },
    /// Remove a member (IPNS name, or a contact's wallet through the node).
    Remove {
        /// The group.
        group: String,
        /// The member.
        member: String,
        /// Write the commit (or proposal) here instead of sending it.
        #[arg(long, value_name = "FILE")]
        commit_out: Option<PathBuf>,
    },
    /// Make a member an admin (admins invite and remove), or with
    /// `--revoke` no longer one. Through the running node.
    Admin {
        /// The group.
        group: String,
        /// The member (IPNS name, or a contact's wallet).
        member: String,
        /// Take the role away instead.
        #[arg(long)]
        revoke: bool,
    },
    /// Refresh your leaf keys (post-compromise security): the sequencer
    /// commits, anyone else proposes. Through the running node.
    Update {
        /// The group.
        group: String,
    },
    /// Leave the group (a proposal the sequencer commits).
    Leave {
        /// The group.
        group: String,
        /// Write the proposal here instead of sending it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Sequencer: commit the proposals received so far; writes the commit.
    Commit {
        /// The group.
        group: String,
        /// Where to write the commit (and, for adds, `<FILE>.welcome` and `<FILE>.tree`).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum WalletCommand {
    /// Generate a new wallet, write it as a solana-keygen keypair file and use it.
    New {
        /// Also write the keypair to this file (solana-keygen format, mode 0600).
        #[arg(long, short = 'o', value_name = "FILE")]
        outfile: Option<PathBuf>,
        /// Replace an existing wallet in this profile.
        #[arg(long)]
        force: bool,
    },
    /// Import a wallet. Secrets are read from a file or standard input, never from arguments.
    Import(ImportArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("source").required(true).args(["keypair", "seed_phrase", "base58"])))]
pub(crate) struct ImportArgs {
    /// A solana-keygen keypair file (JSON array of 64 numbers).
    #[arg(long, value_name = "FILE")]
    pub(crate) keypair: Option<PathBuf>,
    /// Read a BIP39 seed phrase from standard input.
    #[arg(long)]
    pub(crate) seed_phrase: bool,
    /// Read a base58 secret key (as Phantom exports it) from standard input.
    #[arg(long)]
    pub(crate) base58: bool,
    /// With --seed-phrase: also read a BIP39 passphrase (the line after the phrase).
    #[arg(long, requires = "seed_phrase")]
    pub(crate) passphrase: bool,
    /// With --seed-phrase: the derivation path (default m/44'/501'/0'/0', as Phantom),
    /// or `solana-keygen` for solana-keygen's default (no derivation path).
    #[arg(long, requires = "seed_phrase", value_name = "PATH")]
    pub(crate) derivation_path: Option<String>,
    /// Replace an existing wallet in this profile.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum IdCommand {
    /// Wallet address, IPNS name, PeerId, DM public key and key epoch (on a
    /// device, also its own wallet).
    Show,
    /// Write this identity's signed identity document, with its devices (to
    /// give to contacts, or to a device to renew its link).
    Document {
        /// How long the document stays valid (e.g. 30d).
        #[arg(long, default_value = "30d")]
        lifetime: String,
        /// Where to write it (protobuf bytes).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// `kaichi device …`: a new device (its own wallet) asks, a device holding
/// the identity approves, the new device joins. Each step works offline,
/// with a file or a pasted line.
#[derive(Debug, Subcommand)]
pub(crate) enum DeviceCommand {
    /// On the new device: ask to become a device of an identity; prints the
    /// request (or writes it to --out) for `kaichi device approve`.
    Request {
        /// The identity to join (its IPNS name, from `kaichi id show` there).
        #[arg(long)]
        identity: String,
        /// Write the request to this file instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// On the identity's primary (or a device it lets approve): grant a
    /// device's request; re-signs the identity document and prints the link
    /// (or writes it to --out) for `kaichi device join`.
    Approve {
        /// The request: a file, or the pasted `kaichi-device-request:` line.
        request: String,
        /// Write the link to this file instead of printing it.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// On the primary: let the new device approve and revoke other
        /// devices itself (it signs with its own wallet; it cannot add,
        /// remove or change devices that may approve).
        #[arg(long)]
        approver: bool,
    },
    /// On the new device: become a device of the identity the link is from
    /// (again, with a fresher document, to renew it).
    Join {
        /// The link: a file, or the pasted `kaichi-device-link:` line.
        link: String,
    },
    /// On the primary (or a device it lets approve, for devices that do
    /// not approve): remove a device from the identity's document
    /// (contacts and groups stop taking what it signs). With --new-epoch,
    /// also move the identity to new keys (a lost or stolen device still
    /// holds the current ones); the other devices are then linked again.
    Revoke {
        /// The device's wallet address.
        wallet: String,
        /// Also move to the next key epoch: new keys and IPNS name.
        #[arg(long)]
        new_epoch: bool,
        /// Do it (without it, only say what would happen).
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum ContactsCommand {
    /// Verify a contact's identity document and start a conversation with them.
    Add {
        /// The document file (from `kaichi id document`).
        file: PathBuf,
    },
    /// Unblock a wallet blocked with `kaichi requests block`.
    Unblock {
        /// The wallet address (or the IPNS name of a conversation's peer).
        peer: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum RequestsCommand {
    /// Make the request's sender a contact (their group invitations are
    /// taken up).
    Accept {
        /// Their wallet address or IPNS name.
        peer: String,
    },
    /// Refuse everything from the sender's wallet, now and later, until
    /// `kaichi contacts unblock`.
    Block {
        /// Their wallet address or IPNS name.
        peer: String,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum LogCommand {
    /// Write a message to this identity's outbox for a contact (local only).
    Append {
        /// The contact: wallet address or IPNS name.
        peer: String,
        /// The message text.
        text: String,
    },
    /// Show a conversation, newest first.
    Show {
        /// The contact: wallet address or IPNS name.
        peer: String,
        /// How many messages.
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// Start before this cursor (from a previous page's `next`).
        #[arg(long)]
        before: Option<String>,
    },
    /// Export a conversation (both sides' blocks) as a CARv1 file.
    Export {
        /// The contact: wallet address or IPNS name.
        peer: String,
        /// Where to write the CAR file.
        #[arg(long, value_name = "FILE.car")]
        out: PathBuf,
    },
    /// Import a CAR file's entries into the matching conversations.
    Import {
        /// The CAR file.
        file: PathBuf,
    },
    /// Check every block's CID and signature (exit 1 naming the first bad block).
    Verify {
        /// The CAR file.
        file: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum IpnsCommand {
    /// Sign an IPNS record for this identity's name.
    Create {
        /// The value, `/ipfs/<cid>` or `/ipns/<name>`.
        #[arg(long)]
        value: String,
        /// Sequence number (default: one more than the last record this profile made).
        #[arg(long)]
        seq: Option<u64>,
        /// How long the record stays valid (e.g. 24h, 7d, 90m).
        #[arg(long, default_value = "24h")]
        lifetime: String,
        /// How long resolvers may cache it (e.g. 5m).
        #[arg(long, default_value = "5m")]
        ttl: String,
        /// Write only the V2 fields (no legacy V1 copy and signature).
        #[arg(long)]
        v2_only: bool,
        /// Where to write the record (protobuf bytes).
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Verify an IPNS record file (exit 0 when valid, 1 when not).
    Verify {
        /// The record file (protobuf bytes).
        file: PathBuf,
        /// The IPNS name it must be valid for (default: this profile's name).
        #[arg(long)]
        name: Option<String>,
    },
}

/// `kaichi block …`.
#[derive(Debug, Subcommand)]
pub(crate) enum BlockCommand {
    /// A block by CID: from this profile's store, else through the running
    /// node (Bitswap from its peers, IPFS nodes included); exits 1 with the
    /// reason when it is not found in time.
    Get {
        /// The CID (`bafk…`, `Qm…`).
        cid: String,
        /// Write the block here instead of to standard output.
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub(crate) enum DmCommand {
    /// Send a direct message, with a file if `--file` is given (the node must
    /// be running).
    Send {
        /// The contact: wallet address or IPNS name.
        peer: String,
        /// The text (may be left out when a file is sent).
        #[arg(required_unless_present = "file")]
        text: Option<String>,
        /// A file to send with it (at most 100 MiB), encrypted and fetched by
        /// the recipient when they save it.
        #[arg(long)]
        file: Option<std::path::PathBuf>,
    },
    /// Save a file a message carries (the node must be running: it fetches
    /// the encrypted chunks and checks each).
    Save {
        /// The message's CID (`dm read --json` lists them).
        message: String,
        /// Where to write the file.
        #[arg(long)]
        out: std::path::PathBuf,
        /// Which of the message's files (0 for the first).
        #[arg(long, default_value_t = 0)]
        index: usize,
    },
    /// Read a conversation (through the node, or from the profile's store when no node runs).
    Read {
        /// The contact: wallet address or IPNS name.
        peer: String,
        /// How many messages.
        #[arg(long, default_value_t = 20)]
        limit: usize,
    },
    /// Print incoming messages and node events as they happen.
    Watch,
    /// Fetch a contact's outbox through their IPNS name: resolve it, fetch
    /// the root it points to, then every entry of this conversation (from
    /// any node that holds them; the contact may be offline). The node
    /// must be running.
    Sync {
        /// The contact: wallet address or IPNS name.
        peer: String,
    },
}

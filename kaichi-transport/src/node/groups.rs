//! Groups: create, invite, send, read, remove, admins, key updates, leave.
//! A group is named by id or unique name ([`GroupRef`]); a member by
//! anything that names a person ([`IntoPeer`]).

use kaichi_groups::GroupRef;
use kaichi_groups::storage::StoredGroupMessage;

use super::{Command, GroupCommand, GroupSummary, Node, NodeError};
use crate::peer::IntoPeer;

/// Most KeyPackages [`Node::add_members`] takes at once.
pub const MAX_ADD_MEMBERS: usize = 100_000;

impl Node {
    /// Creates a group (this identity is its admin and sequencer): from a
    /// name, or a [`kaichi_groups::NewGroup`] with a description.
    pub async fn create_group(
        &self,
        new: impl Into<kaichi_groups::NewGroup>,
    ) -> Result<GroupSummary, NodeError> {
        let new = new.into();
        self.ask(|reply| {
            Command::Group(GroupCommand::Create {
                new,
                engine: None,
                reply,
            })
        })
        .await?
    }

    /// [`Self::create_group`] held by `engine` rather than the node's
    /// default ([`crate::NodeConfigBuilder::group_engine`]).
    pub async fn create_group_in(
        &self,
        new: impl Into<kaichi_groups::NewGroup>,
        engine: kaichi_groups::GroupEngine,
    ) -> Result<GroupSummary, NodeError> {
        let new = new.into();
        self.ask(|reply| {
            Command::Group(GroupCommand::Create {
                new,
                engine: Some(engine),
                reply,
            })
        })
        .await?
    }

    /// Invites a contact (wallet address or IPNS name): fetches the
    /// KeyPackage their identity document references, commits the add,
    /// and sends them the Welcome sealed to their inbox. Returns the new
    /// epoch. Only the group's sequencer invites.
    pub async fn invite(
        &self,
        group: impl Into<GroupRef>,
        member: impl IntoPeer,
    ) -> Result<u64, NodeError> {
        let (group, member) = (group.into(), member.into_peer()?);
        self.ask(|reply| {
            Command::Group(GroupCommand::Invite {
                group,
                member,
                reply,
            })
        })
        .await?
    }

    /// Sends a message to a group (by id or unique name).
    pub async fn send_group(
        &self,
        group: impl Into<GroupRef>,
        text: &str,
    ) -> Result<(), NodeError> {
        let (group, text) = (group.into(), text.to_owned());
        self.ask(|reply| Command::Group(GroupCommand::Send { group, text, reply }))
            .await?
    }

    /// The newest `limit` messages of a group, oldest first.
    pub async fn read_group(
        &self,
        group: impl Into<GroupRef>,
        limit: usize,
    ) -> Result<Vec<StoredGroupMessage>, NodeError> {
        let group = group.into();
        self.ask(|reply| {
            Command::Group(GroupCommand::Read {
                group,
                limit,
                reply,
            })
        })
        .await?
    }

    /// The groups this identity is in.
    pub async fn groups(&self) -> Result<Vec<GroupSummary>, NodeError> {
        self.ask(|reply| Command::Group(GroupCommand::List { reply }))
            .await?
    }

    /// Removes a member (sequencer; others propose it). Returns the epoch.
    pub async fn remove_member(
        &self,
        group: impl Into<GroupRef>,
        member: impl IntoPeer,
    ) -> Result<u64, NodeError> {
        let (group, member) = (group.into(), member.into_peer()?);
        self.ask(|reply| {
            Command::Group(GroupCommand::Remove {
                group,
                member,
                reply,
            })
        })
        .await?
    }

    /// Makes a member an admin (`admin`), or no longer one: a metadata
    /// change the sequencer commits (another admin proposes it). Admins may
    /// invite and remove. Returns the epoch (the current one for a proposal).
    pub async fn set_group_admin(
        &self,
        group: impl Into<GroupRef>,
        member: impl IntoPeer,
        admin: bool,
    ) -> Result<u64, NodeError> {
        let (group, member) = (group.into(), member.into_peer()?);
        self.ask(|reply| {
            Command::Group(GroupCommand::Admin {
                group,
                member,
                admin,
                reply,
            })
        })
        .await?
    }

    /// Refreshes this member's leaf keys in a group (post-compromise
    /// security): the sequencer commits at once; another member proposes the
    /// update and the sequencer's node commits it. Returns the epoch (the
    /// current one for a proposal).
    pub async fn update_group_keys(&self, group: impl Into<GroupRef>) -> Result<u64, NodeError> {
        let group = group.into();
        self.ask(|reply| Command::Group(GroupCommand::Update { group, reply }))
            .await?
    }

    /// Asks to join a token-holder group: a join request (this identity's
    /// KeyPackage and document, sealed) goes to the group's `sequencer`
    /// (looked up in the DHT when it is not a contact). Returns once it is
    /// sent; the outcome arrives later as [`crate::NodeEvent::GroupJoined`]
    /// or [`crate::NodeEvent::JoinRefused`]. A sequencer offline now gets
    /// it from a relay holding its inbox, or not at all: ask again.
    pub async fn request_join(
        &self,
        group: kaichi_groups::GroupId,
        sequencer: impl IntoPeer,
    ) -> Result<(), NodeError> {
        let sequencer = sequencer.into_peer()?;
        self.ask(|reply| {
            Command::Group(GroupCommand::RequestJoin {
                group,
                sequencer,
                reply,
            })
        })
        .await?
    }

    /// Adds members from KeyPackages in hand (`MLSMessage` bytes), in one
    /// commit by the sequencer (one proposal by another admin): members met
    /// out of band, or many at once (a community importing its roster).
    /// Each new member's Welcome goes to its inbox as for [`Self::invite`]
    /// (looked up in the DHT by name). Their wallets are unknown here, so a
    /// token-holder group refuses these adds. At most
    /// [`MAX_ADD_MEMBERS`] KeyPackages of 64 KiB each. Returns the epoch.
    pub async fn add_members(
        &self,
        group: impl Into<GroupRef>,
        key_packages: Vec<Vec<u8>>,
    ) -> Result<u64, NodeError> {
        if key_packages.len() > MAX_ADD_MEMBERS || key_packages.iter().any(|k| k.len() > 64 * 1024)
        {
            return Err(NodeError::TooManyMembers {
                max: MAX_ADD_MEMBERS,
            });
        }
        let group = group.into();
        self.ask(|reply| {
            Command::Group(GroupCommand::AddMembers {
                group,
                key_packages,
                reply,
            })
        })
        .await?
    }

    /// The token-holder groups gated on `mint`, found through the DHT:
    /// each sequencer providing the mint's key is asked which of its
    /// groups are gated on it (at most 16 sequencers, 20 s). What a
    /// sequencer announces for another mint is dropped; the sequencer is
    /// the peer that answered.
    pub async fn find_token_groups(
        &self,
        mint: kaichi_identity::WalletAddress,
    ) -> Result<Vec<super::TokenGroupInfo>, NodeError> {
        self.ask(|reply| Command::Group(GroupCommand::FindTokenGroups { mint, reply }))
            .await?
    }

    /// Leaves a group (a proposal the sequencer commits).
    pub async fn leave_group(&self, group: impl Into<GroupRef>) -> Result<(), NodeError> {
        let group = group.into();
        self.ask(|reply| Command::Group(GroupCommand::Leave { group, reply }))
            .await?
    }
}

//! Who may do what in a group. The sequencer applies a policy before it
//! commits; every member applies it again to each commit it receives.

use kaichi_identity::{IpnsName, WalletAddress};

use crate::metadata::{GroupMetadata, TokenGate};

/// What a policy sees: the group as of the current epoch, whichever MLS
/// engine holds it.
#[derive(Clone, Copy)]
pub struct PolicyContext<'a> {
    /// The current metadata.
    pub metadata: &'a GroupMetadata,
    pub(crate) members: &'a dyn Members,
}

/// The group's members as an MLS engine holds them (openmls' `MlsGroup`,
/// mls-rs' `Roster`).
pub(crate) trait Members {
    /// Whether `name` has a leaf.
    fn has_member(&self, name: &IpnsName) -> bool;
    /// The names of the leaves (one per leaf).
    fn names(&self) -> Vec<IpnsName>;
}

impl Members for openmls::group::MlsGroup {
    fn has_member(&self, name: &IpnsName) -> bool {
        crate::group::has_leaf(self, name)
    }

    fn names(&self) -> Vec<IpnsName> {
        self.members()
            .filter_map(|m| crate::credential::credential_name(&m.credential).ok())
            .collect()
    }
}

impl std::fmt::Debug for PolicyContext<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyContext")
            .field("metadata", self.metadata)
            .finish_non_exhaustive()
    }
}

impl PolicyContext<'_> {
    /// Whether `name` has a leaf in the group (a scan of the leaves'
    /// credentials; nothing is parsed).
    pub fn is_member(&self, name: &IpnsName) -> bool {
        self.members.has_member(name)
    }

    /// The members' names (one per leaf; parsed, so O(members)).
    pub fn members(&self) -> Vec<IpnsName> {
        self.members.names()
    }
}

/// A policy (or a rule the group enforces beside it) refused an operation.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Denied {
    /// The actor has no leaf in the group.
    #[error("{0} is not a member")]
    NotAMember(IpnsName),
    /// Only admins may do this.
    #[error("{0} is not an admin")]
    NotAnAdmin(IpnsName),
    /// Only the sequencer commits.
    #[error("{0} is not the sequencer")]
    NotTheSequencer(IpnsName),
    /// Removing someone else takes an admin.
    #[error("{by} may not remove {member}")]
    MayNotRemove {
        /// Who tried.
        by: IpnsName,
        /// Whom (boxed: errors stay small on the `Ok` path).
        member: Box<IpnsName>,
    },
    /// In a token-holder group only the sequencer adds (it alone checks balances).
    #[error("in a token-holder group only the sequencer adds members ({0} is not it)")]
    OnlySequencerAdds(IpnsName),
    /// A local add to a token-holder group whose candidate's wallet is unknown.
    #[error("{0}'s wallet is unknown: a token-holder group admits only a wallet it can check")]
    WalletUnknown(IpnsName),
    /// The wallet holds too little of the group's token.
    #[error("{wallet} holds {held} of {mint}, needs {needed}")]
    InsufficientBalance {
        /// The candidate's wallet.
        wallet: WalletAddress,
        /// The token's mint.
        mint: WalletAddress,
        /// What it holds, in base units.
        held: u64,
        /// What the group asks for.
        needed: u64,
    },
    /// The balance could not be read (fail closed: nobody is admitted).
    #[error(transparent)]
    Balance(#[from] BalanceError),
    /// A remove proposal names an empty leaf.
    #[error("the proposal removes an empty leaf")]
    EmptyLeaf,
    /// A member's update or commit path carries a leaf naming someone else.
    #[error("{by} sent a leaf naming {named}")]
    ForeignLeaf {
        /// The sender.
        by: IpnsName,
        /// The identity the leaf names (boxed: errors stay small).
        named: Box<IpnsName>,
    },
    /// New metadata names a sequencer who is not a member.
    #[error("the new sequencer {0} is not a member")]
    SequencerNotAMember(IpnsName),
}

/// Who may propose, add, remove, commit and change the metadata.
pub trait GroupPolicy {
    /// Whether `by` may add `name` (whose wallet the caller vouches for, when
    /// it is known: see [`crate::Candidate::with_wallet`]).
    fn may_add(
        &self,
        ctx: PolicyContext<'_>,
        by: &IpnsName,
        name: &IpnsName,
        wallet: Option<&WalletAddress>,
    ) -> Result<(), Denied>;

    /// Whether `by` may remove `member`.
    fn may_remove(
        &self,
        ctx: PolicyContext<'_>,
        by: &IpnsName,
        member: &IpnsName,
    ) -> Result<(), Denied>;

    /// Whether `by` may send proposals.
    fn may_propose(&self, ctx: PolicyContext<'_>, by: &IpnsName) -> Result<(), Denied> {
        if ctx.is_member(by) {
            Ok(())
        } else {
            Err(Denied::NotAMember(*by))
        }
    }

    /// Whether `by` may commit: the sequencer only (any member of a plain
    /// group).
    fn may_commit(&self, ctx: PolicyContext<'_>, by: &IpnsName) -> Result<(), Denied> {
        match ctx.metadata.sequencer {
            Some(s) if s == *by => Ok(()),
            Some(_) => Err(Denied::NotTheSequencer(*by)),
            None if ctx.is_member(by) => Ok(()),
            None => Err(Denied::NotAMember(*by)),
        }
    }

    /// Whether `by` may replace the metadata (rename, admins, sequencer):
    /// an admin (any member of a plain group).
    fn may_change_metadata(&self, ctx: PolicyContext<'_>, by: &IpnsName) -> Result<(), Denied> {
        if ctx.metadata.is_admin(by) || (ctx.metadata.is_plain() && ctx.is_member(by)) {
            Ok(())
        } else {
            Err(Denied::NotAnAdmin(*by))
        }
    }
}

/// The default: admins add and remove, anyone may remove themselves, members
/// propose, the sequencer commits. In a plain RFC 9420 group (no Kaichi
/// metadata: no admins, no sequencer) any member may add and remove, as
/// the RFC allows.
#[derive(Debug, Clone, Copy, Default)]
pub struct AdminPolicy;

impl GroupPolicy for AdminPolicy {
    fn may_add(
        &self,
        ctx: PolicyContext<'_>,
        by: &IpnsName,
        _: &IpnsName,
        _: Option<&WalletAddress>,
    ) -> Result<(), Denied> {
        if ctx.metadata.is_admin(by) || (ctx.metadata.is_plain() && ctx.is_member(by)) {
            Ok(())
        } else {
            Err(Denied::NotAnAdmin(*by))
        }
    }

    fn may_remove(
        &self,
        ctx: PolicyContext<'_>,
        by: &IpnsName,
        member: &IpnsName,
    ) -> Result<(), Denied> {
        if by == member
            || ctx.metadata.is_admin(by)
            || (ctx.metadata.is_plain() && ctx.is_member(by))
        {
            Ok(())
        } else {
            Err(Denied::MayNotRemove {
                by: *by,
                member: Box::new(*member),
            })
        }
    }
}

/// The token rule of a token-holder group, for an add by `by`.
fn check_gate(
    ctx: PolicyContext<'_>,
    by: &IpnsName,
    wallet: Option<&WalletAddress>,
    gate: &TokenGate,
    balances: &(impl BalanceSource + ?Sized),
) -> Result<(), Denied> {
    if !ctx.metadata.is_sequencer(by) {
        return Err(Denied::OnlySequencerAdds(*by));
    }
    let Some(wallet) = wallet else {
        // A received commit: the sequencer checked the balance.
        return Ok(());
    };
    let held = balances.balance(wallet, &gate.mint)?;
    if held >= gate.minimum {
        Ok(())
    } else {
        Err(Denied::InsufficientBalance {
            wallet: *wallet,
            mint: gate.mint,
            held,
            needed: gate.minimum,
        })
    }
}

/// A wallet's balance of an SPL token could not be read.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum BalanceError {
    /// No balance source is configured ([`NoBalances`]).
    #[error("token balance unavailable: no balance source is configured")]
    NotConfigured,
    /// The source has no record of this wallet and mint (a snapshot that
    /// does not list it); not the same as a zero balance.
    #[error("token balance unavailable: no record of {wallet} for {mint}")]
    Unknown {
        /// The wallet asked about.
        wallet: WalletAddress,
        /// The mint asked about.
        mint: WalletAddress,
    },
    /// The source failed (an RPC error, a timeout, a bad response).
    #[error("token balance unavailable: {0}")]
    Source(std::sync::Arc<dyn std::error::Error + Send + Sync>),
}

impl BalanceError {
    /// A failure of the balance source itself.
    pub fn from_source(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Source(std::sync::Arc::new(error))
    }
}

/// Reads SPL token balances (an RPC client, an indexer, a snapshot).
pub trait BalanceSource {
    /// How many base units of `mint` `wallet` holds (across its token accounts).
    fn balance(&self, wallet: &WalletAddress, mint: &WalletAddress) -> Result<u64, BalanceError>;
}

/// Token-holder groups: on top of `inner`, a new member's wallet must hold
/// at least `minimum` of `mint`. The wallet must be known (from the invitee's
/// verified identity document), so this is enforced where adds are decided:
/// by the sequencer, which alone may add in such a group (another member's
/// add proposal would reach it without a wallet it could check, so every
/// member refuses one). Members receiving the sequencer's commit check
/// everything else (binding, sequencer, `inner`).
#[derive(Debug, Clone)]
pub struct TokenHolderPolicy<B, P = AdminPolicy> {
    /// The token's mint address.
    pub mint: WalletAddress,
    /// Least balance, in base units.
    pub minimum: u64,
    /// Where balances come from.
    pub balances: B,
    /// The rules besides the token.
    pub inner: P,
}

impl<B: BalanceSource, P: GroupPolicy> GroupPolicy for TokenHolderPolicy<B, P> {
    fn may_add(
        &self,
        ctx: PolicyContext<'_>,
        by: &IpnsName,
        name: &IpnsName,
        wallet: Option<&WalletAddress>,
    ) -> Result<(), Denied> {
        self.inner.may_add(ctx, by, name, wallet)?;
        check_gate(
            ctx,
            by,
            wallet,
            &TokenGate {
                mint: self.mint,
                minimum: self.minimum,
            },
            &self.balances,
        )
    }

    fn may_remove(
        &self,
        ctx: PolicyContext<'_>,
        by: &IpnsName,
        member: &IpnsName,
    ) -> Result<(), Denied> {
        self.inner.may_remove(ctx, by, member)
    }

    fn may_propose(&self, ctx: PolicyContext<'_>, by: &IpnsName) -> Result<(), Denied> {
        self.inner.may_propose(ctx, by)
    }

    fn may_commit(&self, ctx: PolicyContext<'_>, by: &IpnsName) -> Result<(), Denied> {
        self.inner.may_commit(ctx, by)
    }

    fn may_change_metadata(&self, ctx: PolicyContext<'_>, by: &IpnsName) -> Result<(), Denied> {
        self.inner.may_change_metadata(ctx, by)
    }
}

impl<B: BalanceSource + ?Sized> BalanceSource for &B {
    fn balance(&self, wallet: &WalletAddress, mint: &WalletAddress) -> Result<u64, BalanceError> {
        (**self).balance(wallet, mint)
    }
}

impl<B: BalanceSource + ?Sized> BalanceSource for std::sync::Arc<B> {
    fn balance(&self, wallet: &WalletAddress, mint: &WalletAddress) -> Result<u64, BalanceError> {
        (**self).balance(wallet, mint)
    }
}

/// No balances can be read: adds to token-holder groups are refused.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoBalances;

impl BalanceSource for NoBalances {
    fn balance(&self, _: &WalletAddress, _: &WalletAddress) -> Result<u64, BalanceError> {
        Err(BalanceError::NotConfigured)
    }
}

/// A balance source shared between threads (what nodes are configured with).
pub type SharedBalanceSource = std::sync::Arc<dyn BalanceSource + Send + Sync>;

/// The policy nodes and offline (file) commands both apply: the group's
/// own metadata rules, with balances from a shared source.
pub type StandardPolicy = MetadataPolicy<SharedBalanceSource>;

/// The policy a group's own metadata asks for: `inner` (admins add and
/// remove), and, when the metadata carries a [`TokenGate`], the token rule of
/// [`TokenHolderPolicy`] with balances from `balances`. Every member applies
/// the same rules because they travel with the group.
#[derive(Debug, Clone)]
pub struct MetadataPolicy<B, P = AdminPolicy> {
    /// Where balances come from (for the sequencer's adds).
    pub balances: B,
    /// The rules besides the token.
    pub inner: P,
}

impl<B> MetadataPolicy<B> {
    /// The metadata's rules over [`AdminPolicy`].
    pub fn new(balances: B) -> Self {
        Self {
            balances,
            inner: AdminPolicy,
        }
    }
}

impl<B: BalanceSource, P: GroupPolicy> GroupPolicy for MetadataPolicy<B, P> {
    fn may_add(
        &self,
        ctx: PolicyContext<'_>,
        by: &IpnsName,
        name: &IpnsName,
        wallet: Option<&WalletAddress>,
    ) -> Result<(), Denied> {
        self.inner.may_add(ctx, by, name, wallet)?;
        match &ctx.metadata.token_gate {
            Some(gate) => check_gate(ctx, by, wallet, gate, &self.balances),
            None => Ok(()),
        }
    }

    fn may_remove(
        &self,
        ctx: PolicyContext<'_>,
        by: &IpnsName,
        member: &IpnsName,
    ) -> Result<(), Denied> {
        self.inner.may_remove(ctx, by, member)
    }

    fn may_propose(&self, ctx: PolicyContext<'_>, by: &IpnsName) -> Result<(), Denied> {
        self.inner.may_propose(ctx, by)
    }

    fn may_commit(&self, ctx: PolicyContext<'_>, by: &IpnsName) -> Result<(), Denied> {
        self.inner.may_commit(ctx, by)
    }

    fn may_change_metadata(&self, ctx: PolicyContext<'_>, by: &IpnsName) -> Result<(), Denied> {
        self.inner.may_change_metadata(ctx, by)
    }
}

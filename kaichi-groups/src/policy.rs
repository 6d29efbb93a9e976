//! Who may do what in a group. The sequencer applies a policy before it
//! commits; every member applies it again to each commit it receives.

use kaichi_identity::{IpnsName, WalletAddress};

use crate::metadata::{GroupMetadata, TokenGate};

/// What a policy sees: the group as of the current epoch.
#[derive(Clone, Copy)]
pub struct PolicyContext<'a> {
    /// The current metadata.
    pub metadata: &'a GroupMetadata,
    pub(crate) group: &'a openmls::group::MlsGroup,
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
        crate::group::has_leaf(self.group, name)
    }

    /// The members' names (one per leaf; parsed, so O(members)).
    pub fn members(&self) -> Vec<IpnsName> {
        self.group
            .members()
            .filter_map(|m| crate::credential::credential_name(&m.credential).ok())
            .collect()
    }
}

/// A policy refused an operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Denied(pub String);

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
            Err(Denied(format!("{by} is not a member")))
        }
    }

    /// Whether `by` may commit: the sequencer only.
    fn may_commit(&self, ctx: PolicyContext<'_>, by: &IpnsName) -> Result<(), Denied> {
        if ctx.metadata.sequencer == *by {
            Ok(())
        } else {
            Err(Denied(format!("{by} is not the sequencer")))
        }
    }

    /// Whether `by` may replace the metadata (rename, admins, sequencer).
    fn may_change_metadata(&self, ctx: PolicyContext<'_>, by: &IpnsName) -> Result<(), Denied> {
        if ctx.metadata.is_admin(by) {
            Ok(())
        } else {
            Err(Denied(format!("{by} is not an admin")))
        }
    }
}

/// The default: admins add and remove, anyone may remove themselves, members
/// propose, the sequencer commits.
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
        if ctx.metadata.is_admin(by) {
            Ok(())
        } else {
            Err(Denied(format!("{by} is not an admin")))
        }
    }

    fn may_remove(
        &self,
        ctx: PolicyContext<'_>,
        by: &IpnsName,
        member: &IpnsName,
    ) -> Result<(), Denied> {
        if by == member || ctx.metadata.is_admin(by) {
            Ok(())
        } else {
            Err(Denied(format!("{by} may not remove {member}")))
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
    if *by != ctx.metadata.sequencer {
        return Err(Denied(format!(
            "in a token-holder group only the sequencer adds members ({by} is not it)"
        )));
    }
    let Some(wallet) = wallet else {
        // A received commit: the sequencer checked the balance.
        return Ok(());
    };
    let held = balances
        .balance(wallet, &gate.mint)
        .map_err(|e| Denied(e.to_string()))?;
    if held >= gate.minimum {
        Ok(())
    } else {
        Err(Denied(format!(
            "{wallet} holds {held} of {}, needs {}",
            gate.mint, gate.minimum
        )))
    }
}

/// A wallet's balance of an SPL token could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token balance unavailable: {0}")]
pub struct BalanceError(pub String);

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
        Err(BalanceError("no balance source is configured".into()))
    }
}

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

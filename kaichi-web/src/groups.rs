//! MLS group chats in the page, on the mls-rs engine (the one of Kaichi's
//! two engines built for the browser; both speak RFC 9420, so the page is
//! in the same groups as native members on either). Groups live in memory
//! for as long as the `GroupMember` does: the page keeps the messages it
//! needs, and joins again from a Welcome after a reload.

use std::collections::HashMap;
use std::sync::Arc;

use kaichi_groups::mlsrs::{RsGroup, RsMember};
use kaichi_groups::{
    AdminPolicy, Candidate, CommitOutput, GroupEvent, GroupId, MemberSigner, NewGroup, NoDevices,
    Outgoing,
};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::error::js;
use crate::identity::Identity;

/// Most groups one member holds in the page.
const MAX_GROUPS: usize = 256;

/// One identity's groups (its leaves sign with the identity's IPNS key).
#[wasm_bindgen]
pub struct GroupMember {
    member: RsMember<AdminPolicy>,
    groups: HashMap<GroupId, RsGroup<AdminPolicy>>,
}

/// A commit this member made: publish `commit` on the group's topic; hand
/// `welcome` and `ratchetTree` (when members were added) to the new members.
#[wasm_bindgen]
pub struct GroupCommit {
    commit: Vec<u8>,
    welcome: Option<Vec<u8>>,
    tree: Option<Vec<u8>>,
    epoch: u64,
}

#[wasm_bindgen]
impl GroupCommit {
    /// The commit (`MLSMessage` bytes), for every member.
    #[wasm_bindgen(getter)]
    pub fn commit(&self) -> Vec<u8> {
        self.commit.clone()
    }

    /// The Welcome for the members added, if any.
    #[wasm_bindgen(getter)]
    pub fn welcome(&self) -> Option<Vec<u8>> {
        self.welcome.clone()
    }

    /// The ratchet tree the Welcome needs beside it, if any.
    #[wasm_bindgen(getter, js_name = ratchetTree)]
    pub fn ratchet_tree(&self) -> Option<Vec<u8>> {
        self.tree.clone()
    }

    /// The group's epoch after the commit.
    #[wasm_bindgen(getter)]
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

impl From<CommitOutput> for GroupCommit {
    fn from(c: CommitOutput) -> Self {
        Self {
            commit: c.commit,
            welcome: c.welcome,
            tree: c.ratchet_tree,
            epoch: c.epoch,
        }
    }
}

/// What a received group message was, as JavaScript gets it.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
enum EventJs {
    #[serde(rename_all = "camelCase")]
    Message {
        group: String,
        from: String,
        text: String,
        epoch: u64,
    },
    #[serde(rename_all = "camelCase")]
    Proposal { group: String, from: String },
    #[serde(rename_all = "camelCase")]
    Commit {
        group: String,
        from: String,
        epoch: u64,
        added: Vec<String>,
        removed: Vec<String>,
    },
    #[serde(rename_all = "camelCase")]
    Removed { group: String, from: String },
}

#[wasm_bindgen(typescript_custom_section)]
const GROUP_EVENT_TS: &str = r#"
/** What `GroupMember.receive` made of a group message. */
export type GroupEvent =
  | { kind: "message"; group: string; from: string; text: string; epoch: number }
  | { kind: "proposal"; group: string; from: string }
  | { kind: "commit"; group: string; from: string; epoch: number; added: string[]; removed: string[] }
  | { kind: "removed"; group: string; from: string };
"#;

fn group_id(id: &str) -> Result<GroupId, JsError> {
    id.parse().map_err(|e| js(&e))
}

#[wasm_bindgen]
impl GroupMember {
    /// The group side of `identity` (its IPNS key signs its leaves).
    #[wasm_bindgen(constructor)]
    pub fn new(identity: &Identity) -> GroupMember {
        let signer = MemberSigner::identity(identity.keys.ipns().clone());
        GroupMember {
            member: RsMember::new(&signer, AdminPolicy, Arc::new(NoDevices)),
            groups: HashMap::new(),
        }
    }

    /// A KeyPackage (`MLSMessage` bytes) for an admin to add this member
    /// with; its private keys stay in this object until a Welcome uses them.
    #[wasm_bindgen(js_name = keyPackage)]
    pub fn key_package(&self) -> Result<Vec<u8>, JsError> {
        self.member.key_package().map_err(|e| js(&e))
    }

    /// Creates a group with this member as its only member, admin and
    /// sequencer; returns its id (64 hex digits).
    #[wasm_bindgen(js_name = createGroup)]
    pub fn create_group(&mut self, name: &str) -> Result<String, JsError> {
        self.room()?;
        let group = self
            .member
            .create(NewGroup::named(name))
            .map_err(|e| js(&e))?;
        let id = group.id();
        self.groups.insert(id, group);
        Ok(id.to_string())
    }

    /// Adds members by their KeyPackages in one commit (this member must be
    /// the group's sequencer; every credential must bind to its key).
    pub fn add(
        &mut self,
        group: &str,
        key_packages: Vec<js_sys::Uint8Array>,
    ) -> Result<GroupCommit, JsError> {
        let g = self.group_mut(group)?;
        let candidates: Vec<Candidate> = key_packages
            .iter()
            .map(|kp| Candidate::new(kp.to_vec()))
            .collect();
        match g.add(&candidates).map_err(|e| js(&e))? {
            Outgoing::Commit(c) => Ok(c.into()),
            _ => Err(JsError::new(
                "only the group's sequencer adds members from the page",
            )),
        }
    }

    /// Joins from a Welcome and the group's ratchet tree; returns the
    /// group's id. Every member's credential is checked first.
    pub fn join(&mut self, welcome: &[u8], ratchet_tree: &[u8]) -> Result<String, JsError> {
        self.room()?;
        let group = self
            .member
            .join(welcome, Some(ratchet_tree))
            .map_err(|e| js(&e))?;
        let id = group.id();
        self.groups.insert(id, group);
        Ok(id.to_string())
    }

    /// Encrypts `text` for the group: publish the bytes on its topic.
    pub fn send(&mut self, group: &str, text: &str) -> Result<Vec<u8>, JsError> {
        self.group_mut(group)?
            .send(text.as_bytes())
            .map_err(|e| js(&e))
    }

    /// Processes a message of one of this member's groups (the group is
    /// read from the message's clear header): a `GroupEvent` (`null` for a
    /// kind this version does not know). A message that fails changes
    /// nothing.
    pub fn receive(&mut self, message: &[u8]) -> Result<JsValue, JsError> {
        let info = kaichi_groups::message_info(message).map_err(|e| js(&e))?;
        let g = self
            .groups
            .get_mut(&info.group)
            .ok_or_else(|| JsError::new(&format!("not a member of group {}", info.group)))?;
        let id = info.group.to_string();
        let event = match g.process(message).map_err(|e| js(&e))? {
            GroupEvent::Message { from, text, epoch } => EventJs::Message {
                group: id,
                from: from.to_string(),
                text: String::from_utf8_lossy(&text).into_owned(),
                epoch,
            },
            GroupEvent::Proposal { from } => EventJs::Proposal {
                group: id,
                from: from.to_string(),
            },
            GroupEvent::Commit {
                from,
                epoch,
                added,
                removed,
                ..
            } => EventJs::Commit {
                group: id,
                from: from.to_string(),
                epoch,
                added: added.iter().map(ToString::to_string).collect(),
                removed: removed.iter().map(ToString::to_string).collect(),
            },
            GroupEvent::RemovedSelf { from } => {
                self.groups.remove(&info.group);
                EventJs::Removed {
                    group: id,
                    from: from.to_string(),
                }
            }
            _ => return Ok(JsValue::NULL),
        };
        serde_wasm_bindgen::to_value(&event).map_err(|e| js(&e))
    }

    /// A group's members' IPNS names.
    pub fn members(&self, group: &str) -> Result<Vec<String>, JsError> {
        let id = group_id(group)?;
        let g = self
            .groups
            .get(&id)
            .ok_or_else(|| JsError::new(&format!("not a member of group {id}")))?;
        Ok(g.member_names().iter().map(ToString::to_string).collect())
    }

    /// A group's epoch.
    pub fn epoch(&self, group: &str) -> Result<u64, JsError> {
        let id = group_id(group)?;
        self.groups
            .get(&id)
            .map(RsGroup::epoch)
            .ok_or_else(|| JsError::new(&format!("not a member of group {id}")))
    }

    /// The ids of the groups this member is in.
    pub fn groups(&self) -> Vec<String> {
        self.groups.keys().map(ToString::to_string).collect()
    }
}

impl GroupMember {
    fn group_mut(&mut self, group: &str) -> Result<&mut RsGroup<AdminPolicy>, JsError> {
        let id = group_id(group)?;
        self.groups
            .get_mut(&id)
            .ok_or_else(|| JsError::new(&format!("not a member of group {id}")))
    }

    fn room(&self) -> Result<(), JsError> {
        if self.groups.len() >= MAX_GROUPS {
            return Err(JsError::new(&format!(
                "at most {MAX_GROUPS} groups in one page"
            )));
        }
        Ok(())
    }
}

//! `kaichi group request`: ask token-holder groups' sequencers to be let
//! in, through the running node, and print each outcome.

use std::process::ExitCode;

use anyhow::Context as _;

use crate::control::Request;
use crate::output::emit;
use crate::profile::Profile;

/// What `group request` was given.
pub(super) struct JoinRequest {
    pub(super) group: Option<String>,
    pub(super) sequencer: Option<String>,
    pub(super) mint: Option<String>,
    pub(super) wait: String,
}

/// Sends the request through the node (`through_node`) and prints each
/// outcome: joined, refused with the reason, or pending. Exits 1 when a
/// sequencer refused.
pub(super) fn run(
    profile: &Profile,
    r: JoinRequest,
    json: bool,
    through_node: impl FnOnce(&Profile, &Request) -> anyhow::Result<serde_json::Value>,
) -> anyhow::Result<ExitCode> {
    let wait_secs = crate::duration::parse(&r.wait).context("--wait")?.as_secs();
    let spinner = crate::progress::Progress::spinner(json, "waiting for the sequencer's answer");
    let v = through_node(
        profile,
        &Request::GroupRequest {
            group: r.group,
            sequencer: r.sequencer,
            mint: r.mint,
            wait_secs,
        },
    )?;
    spinner.done();
    let outcomes = v["outcomes"].as_array().cloned().unwrap_or_default();
    let mut lines = Vec::new();
    for o in &outcomes {
        let what = match o["outcome"].as_str() {
            Some("joined") => "joined".to_owned(),
            Some("refused") => format!("refused: {}", o["reason"].as_str().unwrap_or("")),
            _ => "pending: no answer yet (the sequencer may be offline)".to_owned(),
        };
        lines.push(format!(
            "{} ({}): {what}",
            o["name"].as_str().unwrap_or(""),
            o["group"].as_str().unwrap_or("")
        ));
    }
    if outcomes.is_empty() {
        lines.push("no group is gated on this mint (none found in the DHT)".to_owned());
    }
    emit(json, &v, &lines.join("\n"))?;
    Ok(if outcomes.iter().any(|o| o["outcome"] == "refused") {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

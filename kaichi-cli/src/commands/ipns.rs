//! `kaichi ipns`.

use std::process::ExitCode;

use anyhow::{Context as _, bail};
use kaichi_identity::IpnsName;
use kaichi_identity::ipns::{
    ContentPath, IpnsRecord, RecordParams, create_record, validate_record,
};
use serde::Serialize;

use crate::cli::IpnsCommand;
use crate::duration;
use crate::output::emit;
use crate::profile::{Profile, write_private};

/// A validated record as `ipns verify --json` prints it.
#[derive(Debug, Serialize)]
struct RecordJson {
    valid: bool,
    name: String,
    value: String,
    sequence: u64,
    validity: String,
    ttl_ns: u64,
    v1_compatible: bool,
}

impl RecordJson {
    fn new(rec: &IpnsRecord) -> Self {
        Self {
            valid: true,
            name: rec.name().to_string(),
            value: String::from_utf8_lossy(rec.value()).into_owned(),
            sequence: rec.sequence(),
            validity: rec.validity().to_string(),
            ttl_ns: u64::try_from(rec.ttl().as_nanos()).unwrap_or(u64::MAX),
            v1_compatible: rec.is_v1_compatible(),
        }
    }

    fn text(&self) -> String {
        format!(
            "valid record for {}\nvalue:    {}\nsequence: {}\nvalidity: {}\nttl:      {}s",
            self.name,
            self.value,
            self.sequence,
            self.validity,
            self.ttl_ns / 1_000_000_000
        )
    }
}

#[derive(Debug, Serialize)]
struct InvalidJson {
    valid: bool,
    error: String,
}

pub(crate) fn run(profile: &Profile, cmd: IpnsCommand, json: bool) -> anyhow::Result<ExitCode> {
    match cmd {
        IpnsCommand::Create {
            value,
            seq,
            lifetime,
            ttl,
            v2_only,
            out,
        } => {
            let path: ContentPath = value.parse()?;
            let lifetime = duration::parse(&lifetime).context("--lifetime")?;
            let ttl = duration::parse(&ttl).context("--ttl")?;
            if lifetime.is_zero() {
                bail!("--lifetime must be positive");
            }
            let (_, keys, mut config) = profile.identity()?;
            let sequence = match seq {
                Some(s) => s,
                None => config.ipns_sequence.map_or(0, |s| s.saturating_add(1)),
            };
            let now = super::now()?;
            let params = RecordParams {
                value: path.as_str().as_bytes().to_vec(),
                sequence,
                validity: now.checked_add(lifetime).context("--lifetime too long")?,
                ttl,
                v1_compatible: !v2_only,
            };
            let bytes = create_record(keys.ipns(), &params)?;
            write_private(&out, &bytes)?;
            config.ipns_sequence = Some(config.ipns_sequence.map_or(sequence, |s| s.max(sequence)));
            profile.save_config(&config)?;
            let rec = validate_record(&bytes, &keys.ipns().name(), now)?;
            let view = RecordJson::new(&rec);
            emit(
                json,
                &view,
                &format!("wrote {}\n{}", out.display(), view.text()),
            )?;
            Ok(ExitCode::SUCCESS)
        }
        IpnsCommand::Verify { file, name } => {
            let name: IpnsName = match name {
                Some(n) => n.parse()?,
                None => {
                    let (_, keys, _) = profile
                        .identity()
                        .context("no --name given and no profile to take the name from")?;
                    keys.ipns().name()
                }
            };
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            match validate_record(&bytes, &name, super::now()?) {
                Ok(rec) => {
                    let view = RecordJson::new(&rec);
                    emit(json, &view, &view.text())?;
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    let msg = format!("invalid record for {name}: {e}");
                    if json {
                        emit(
                            true,
                            &InvalidJson {
                                valid: false,
                                error: msg,
                            },
                            "",
                        )?;
                    } else {
                        eprintln!("{msg}");
                    }
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}

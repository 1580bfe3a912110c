//! `!import-users`: a CSV file → checked preview → a confirmed, resumable import job.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{CommandError, Declared, Execute, Planned, Risk};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::jobs::import::{self, ImportSpec, OnConflict, RowPayload, generate_password};
use crate::report::{Attachment, Line, Outcome, Reply};
use crate::store::{JobState, NewJob, RowState};
use crate::units::format_bytes;
use crate::users_csv::parse_users_csv;

/// Create users from a CSV file (synapse-admin format); use as the file's caption or reply to the file
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(after_help = "import-users --on-conflict skip")]
pub(crate) struct ImportUsers {
    /// What to do with users that exist: skip, update (only the fields the file gives) or stop (import nothing)
    #[arg(long, value_enum, default_value_t = OnConflict::Skip)]
    pub(crate) on_conflict: OnConflict,
    /// Rows without a password get none (otherwise a random one, sent back encrypted)
    #[arg(long)]
    pub(crate) no_generate: bool,
    /// Show the preview only
    #[arg(long)]
    pub(crate) dry_run: bool,
}

impl Declared for ImportUsers {
    type Action = ImportAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserImport];
    const SCHEDULABLE: bool = false;
    const TAKES_FILE: bool = true;

    fn risk(&self) -> Risk {
        if self.dry_run {
            Risk::ReadOnly
        } else {
            Risk::Irreversible
        }
    }

    async fn plan(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Planned<ImportAction>, CommandError> {
        plan_import(ctx, origin, self).await
    }
}

/// A confirmed import: the stored job to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ImportAction {
    job_id: i64,
}

impl Execute for ImportAction {
    fn permissions(&self) -> Vec<Permission> {
        vec![Permission::UserImport]
    }

    fn job_id(&self) -> Option<i64> {
        Some(self.job_id)
    }

    async fn execute(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Reply, CommandError> {
        start_job(ctx, self.job_id)
    }
}

/// How many invalid rows the preview lists; the rest are counted and attached.
const PREVIEW_ERRORS: usize = 20;

/// `!import-users`: download, check, preview; the job is stored awaiting confirmation.
async fn plan_import(
    ctx: &Ctx,
    origin: &Origin,
    opts: ImportUsers,
) -> Result<Planned<ImportAction>, CommandError> {
    let prefix = &ctx.config.prefix;
    let Some(file) = &origin.file else {
        return Err(CommandError::Refused(format!(
            "attach a CSV file: drop it in the room with {prefix}import-users as its caption, or reply to the file with {prefix}import-users"
        )));
    };
    let filename = file.filename.clone().unwrap_or_else(|| file.body.clone());
    let limit = ctx.config.import.max_file_size;
    if let Some(size) = file.info.as_ref().and_then(|i| i.size).map(u64::from)
        && size > limit
    {
        return Err(CommandError::Refused(format!(
            "the file {filename} is {}; the limit is {} (import.max_file_size)",
            format_bytes(size),
            format_bytes(limit)
        )));
    }
    let bytes = ctx
        .chat
        .download(file)
        .await
        .map_err(|e| CommandError::Refused(format!("{filename}: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(CommandError::Refused(format!(
            "the file {filename} is {}; the limit is {} (import.max_file_size)",
            format_bytes(bytes.len() as u64),
            format_bytes(limit)
        )));
    }
    let parsed = parse_users_csv(
        &bytes,
        ctx.config.server_name.as_str(),
        ctx.config.import.max_rows,
    )
    .map_err(|e| CommandError::Refused(format!("cannot import {filename}: {e}")))?;
    if parsed.rows.is_empty() {
        let why = if parsed.errors.is_empty() {
            "it has no rows".to_owned()
        } else {
            format!(
                "all {} rows are invalid, e.g. line {}: {}",
                parsed.errors.len(),
                parsed.errors[0].line,
                parsed.errors[0].reason
            )
        };
        return Err(CommandError::Refused(format!(
            "nothing to import from {filename}: {why}"
        )));
    }

    let exists = ctx
        .admin
        .existing_users(parsed.rows.iter().map(|r| r.user_id.clone()).collect())
        .await?;
    let existing: Vec<&str> = parsed
        .rows
        .iter()
        .filter(|r| exists.contains(&r.user_id))
        .map(|r| r.user_id.as_str())
        .collect();
    if opts.on_conflict == OnConflict::Stop && !existing.is_empty() {
        let shown: Vec<&str> = existing.iter().take(5).copied().collect();
        return Err(CommandError::Refused(format!(
            "{} of these users already exist ({}{}); with --on-conflict stop nothing is imported. Use skip or update",
            existing.len(),
            shown.join(", "),
            if existing.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        )));
    }
    let to_create: Vec<_> = parsed
        .rows
        .iter()
        .filter(|r| !exists.contains(&r.user_id))
        .collect();
    let to_generate = if opts.no_generate {
        0
    } else {
        to_create.iter().filter(|r| r.password.is_none()).count()
    };
    if to_generate > 0 && !origin.room_encrypted {
        return Err(CommandError::Refused(format!(
            "this room is not encrypted, so I will not send the {to_generate} generated passwords here. Import from an encrypted room, or add --no-generate"
        )));
    }

    let admins = to_create.iter().filter(|r| r.admin).count();
    let guests = to_create.iter().filter(|r| r.is_guest).count();
    let deactivated = to_create.iter().filter(|r| r.deactivated).count();
    let conflict_effect = match opts.on_conflict {
        OnConflict::Skip => "left alone (--on-conflict skip)",
        OnConflict::Update => "updated with the fields the file gives (--on-conflict update)",
        OnConflict::Stop => "none",
    };
    let mut items = vec![
        Line::new().text(format!(
            "Rows in the file: {}",
            parsed.rows.len() + parsed.errors.len()
        )),
        Line::new().text(format!(
            "To create: {} ({admins} admins, {guests} guests, {deactivated} deactivated)",
            to_create.len()
        )),
        Line::new().text(format!(
            "Already exist: {} → {}",
            existing.len(),
            if existing.is_empty() {
                "none"
            } else {
                conflict_effect
            }
        )),
        Line::new().text(format!(
            "Invalid rows (not imported): {}",
            parsed.errors.len()
        )),
        Line::new().text(format!(
            "Passwords to generate: {to_generate}{}",
            if to_generate > 0 {
                " (sent back as an encrypted file)"
            } else {
                ""
            }
        )),
    ];
    if opts.no_generate {
        items.push(Line::new().text("Rows without a password get none (--no-generate)."));
    }
    let mut preview = Reply::new(Outcome::Pending)
        .line(
            Line::new()
                .bold("Import users from ")
                .code(filename.as_str()),
        )
        .list(items);
    if !parsed.errors.is_empty() {
        let shown: Vec<Line> = parsed
            .errors
            .iter()
            .take(PREVIEW_ERRORS)
            .map(|e| {
                Line::new()
                    .text(format!("line {}: ", e.line))
                    .text(e.reason.clone())
            })
            .collect();
        preview = preview.line("Invalid rows:").list(shown);
        if parsed.errors.len() > PREVIEW_ERRORS {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(["line", "id", "reason"]);
            for e in &parsed.errors {
                let _ = w.write_record([
                    e.line.to_string(),
                    e.id.clone().unwrap_or_default(),
                    e.reason.clone(),
                ]);
            }
            let bytes = w.into_inner().unwrap_or_default();
            preview = preview
                .line(format!(
                    "…and {} more, all listed in import-errors.csv.",
                    parsed.errors.len() - PREVIEW_ERRORS
                ))
                .attach(Attachment {
                    filename: "import-errors.csv".into(),
                    mime: "text/csv".into(),
                    bytes,
                    sensitive: false,
                });
        }
    }
    if !parsed.unknown_columns.is_empty() {
        preview = preview.line(format!(
            "Unknown columns, ignored: {}",
            parsed.unknown_columns.join(", ")
        ));
    }
    if opts.dry_run {
        return Ok(Planned::DryRun(preview));
    }

    let password_column = parsed
        .header
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case("password"));
    let mut rows: Vec<(String, Option<String>)> =
        Vec::with_capacity(parsed.rows.len() + parsed.errors.len());
    for r in &parsed.rows {
        let generate = r.password.is_none() && !opts.no_generate && !exists.contains(&r.user_id);
        let secret = match &r.password {
            Some(p) => Some(p.expose().to_owned()),
            None if generate => Some(generate_password()),
            None => None,
        };
        let payload = serde_json::to_string(&RowPayload::from_row(r, password_column, generate))
            .map_err(|e| CommandError::Internal(e.to_string()))?;
        rows.push((payload, secret));
    }
    let invalid_start = rows.len();
    for e in &parsed.errors {
        let secret = password_column
            .and_then(|i| e.raw.get(i))
            .filter(|p| !p.is_empty())
            .cloned();
        let payload = serde_json::to_string(&RowPayload::invalid(
            e.line,
            e.id.clone(),
            &e.raw,
            password_column,
        ))
        .map_err(|e| CommandError::Internal(e.to_string()))?;
        rows.push((payload, secret));
    }
    let spec = ImportSpec {
        filename,
        on_conflict: opts.on_conflict,
        header: parsed.header.clone(),
        delimiter: parsed.delimiter,
        password_column,
        concurrency: ctx.config.import.concurrency,
    };
    let job = NewJob {
        kind: import::KIND,
        room_id: origin.room_id.as_str(),
        requester: origin.sender.as_str(),
        command_event_id: origin.event_id.as_str(),
    };
    let job_id = ctx.store.create_job(&job, &spec, rows)?;
    for (i, e) in parsed.errors.iter().enumerate() {
        ctx.store
            .set_row_state(job_id, (invalid_start + i) as i64, RowState::Invalid, &e.reason)?;
    }
    Ok(Planned::Confirm {
        preview: preview.line(format!("Job #{job_id}.")),
        action: ImportAction { job_id },
    })
}

/// Starts a confirmed job.
fn start_job(ctx: &Arc<Ctx>, job_id: i64) -> Result<Reply, CommandError> {
    let job = ctx
        .store
        .job(job_id)?
        .ok_or_else(|| CommandError::Refused(format!("job #{job_id} no longer exists")))?;
    if !ctx
        .store
        .transition_job(job_id, JobState::AwaitingConfirmation, JobState::Running)?
    {
        return Err(CommandError::Refused(format!(
            "job #{job_id} is already {}",
            job.state.label()
        )));
    }
    match job.kind.as_str() {
        import::KIND => import::spawn(ctx, job_id, false),
        other => {
            return Err(CommandError::Refused(format!(
                "job #{job_id} has an unknown kind {other}"
            )));
        }
    }
    Ok(Reply::ok(format!(
        "Job #{job_id} started; progress follows in one message."
    )))
}


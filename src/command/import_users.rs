//! `!import-users`: a CSV file → checked preview → a confirmed, resumable import job.

use std::collections::HashMap;
use std::sync::Arc;

use futures_util::StreamExt as _;
use matrix_sdk::ruma::OwnedUserId;
use serde::{Deserialize, Serialize};

use super::{Area, CommandError, Declared, Execute, Planned, Risk};
use crate::admin_api::users::UserDetails;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::matrix::chat::ChatError;
use crate::jobs::import::{
    ImportRights,
    self, Current, ImportSpec, OnConflict, RowPayload, changed_fields, generate_password,
    mas_refusal, row_facts, row_refusal,
};
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
    /// Allow rows that change server admins (needs permission user.admin too)
    #[arg(long)]
    pub(crate) force: bool,
    /// Show the preview only
    #[arg(long)]
    pub(crate) dry_run: bool,
}

impl Declared for ImportUsers {
    type Action = ImportAction;
    const PERMISSIONS: &'static [Permission] = &[Permission::UserImport];
    const AREA: Area = Area::Accounts;
    const SCHEDULABLE: bool = false;
    const TAKES_FILE: bool = true;
    const NEEDS_FILE: bool = true;

    fn risk(&self) -> Risk {
        Risk::irreversible_unless(self.dry_run)
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

/// How many invalid rows (and changed accounts) the preview lists; the rest are counted and attached.
const PREVIEW_ERRORS: usize = 20;

/// Per-user lookups in flight while planning.
const LOOKUPS_IN_FLIGHT: usize = 8;

/// The accounts among `ids` that exist, with their details.
async fn lookup_accounts(
    ctx: &Ctx,
    ids: Vec<String>,
) -> Result<HashMap<String, UserDetails>, CommandError> {
    let mut found = HashMap::new();
    let mut checks = futures_util::stream::iter(ids)
        .map(|id| async move {
            let got = match OwnedUserId::try_from(id.as_str()) {
                Ok(user) => ctx.accounts.details(&user).await,
                Err(_) => Err(crate::admin_api::AdminError::NotFound {
                    subject: id.clone(),
                    message: "not a user ID".into(),
                }),
            };
            (id, got)
        })
        .buffer_unordered(LOOKUPS_IN_FLIGHT);
    while let Some((id, got)) = checks.next().await {
        match got {
            Ok(details) => {
                found.insert(id, details);
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(found)
}

/// A row that will not be imported: the parser's or the rules' reason.
struct Refused {
    line: u64,
    id: Option<String>,
    reason: String,
}

/// `!import-users`: download, check, preview; the job is stored awaiting confirmation.
async fn plan_import(
    ctx: &Ctx,
    origin: &Origin,
    opts: ImportUsers,
) -> Result<Planned<ImportAction>, CommandError> {
    let prefix = &ctx.config.prefix;
    // Imports that were never confirmed go with their passwords (also done periodically).
    if let Err(e) = ctx.store.drop_expired_unconfirmed_jobs(crate::store::now_secs()) {
        tracing::warn!("cannot drop expired imports: {e}");
    }
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
    // The declared size is the sender's word: the download itself stops at the limit.
    let bytes = ctx
        .chat
        .download(file, limit)
        .await
        .map_err(|e| match e {
            ChatError::TooLarge { .. } => CommandError::Refused(format!(
                "the file {filename} has more bytes than the limit allows, whatever size it declares; the limit is {} (import.max_file_size)",
                format_bytes(limit)
            )),
            e => CommandError::Refused(format!("{filename}: {e}")),
        })?;
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
    let password_column = parsed
        .header
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case("password"));
    // A password in an unencrypted room is readable by anyone the room lets in, and would be
    // stored and sent back (import-failed.csv): refused whoever wrote it.
    let file_passwords = parsed.rows.iter().filter(|r| r.password.is_some()).count()
        + parsed
            .errors
            .iter()
            .filter(|e| {
                password_column
                    .and_then(|i| e.raw.get(i))
                    .is_some_and(|p| !p.is_empty())
            })
            .count();
    if file_passwords > 0 && !origin.room_encrypted {
        return Err(CommandError::Refused(format!(
            "this room is not encrypted, and {filename} has {file_passwords} passwords: I will not handle passwords here. Import from an encrypted room, or remove the password column"
        )));
    }

    let accounts = lookup_accounts(
        ctx,
        parsed.rows.iter().map(|r| r.user_id.clone()).collect(),
    )
    .await?;
    let mut existing: Vec<&str> = parsed
        .rows
        .iter()
        .filter(|r| accounts.contains_key(&r.user_id))
        .map(|r| r.user_id.as_str())
        .collect();
    existing.sort_unstable();
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

    // The rules, row by row, with the sender's roles: a row it may not apply is invalid.
    let mut refused: Vec<Refused> = parsed
        .errors
        .iter()
        .map(|e| Refused {
            line: e.line,
            id: e.id.clone(),
            reason: e.reason.clone(),
        })
        .collect();
    let mut accepted = Vec::with_capacity(parsed.rows.len());
    let mut rules_refused = Vec::new();
    let rights = ImportRights::of(&ctx.grants(&origin.room_id, &origin.sender).await);
    // MAS checks passwords against its own policy: rows it would refuse are shown now.
    let password_policy = ctx.accounts.password_policy().await?;
    for r in &parsed.rows {
        let current = accounts.get(&r.user_id);
        let generate = r.password.is_none() && !opts.no_generate && current.is_none();
        let payload = RowPayload::from_row(r, password_column, generate, current.is_some());
        let facts = row_facts(
            ctx,
            &payload,
            origin.sender.as_str(),
            rights,
            opts.on_conflict,
            opts.force,
            current.map(Current::from),
        );
        let writes = current.is_none() || opts.on_conflict == OnConflict::Update;
        let refusal = row_refusal(&facts).or_else(|| {
            password_policy
                .filter(|_| writes)
                .and_then(|min| mas_refusal(r, min))
        });
        match refusal {
            None => accepted.push((r, payload, current)),
            Some(reason) => {
                refused.push(Refused {
                    line: r.line,
                    id: Some(r.user_id.clone()),
                    reason: reason.clone(),
                });
                rules_refused.push((r, payload, reason));
            }
        }
    }
    refused.sort_by_key(|e| e.line);
    if accepted.is_empty() {
        let first = &refused[0];
        return Err(CommandError::Refused(format!(
            "nothing to import from {filename}: all {} rows are invalid, e.g. line {}: {}",
            refused.len(),
            first.line,
            first.reason
        )));
    }

    let to_create: Vec<_> = accepted.iter().filter(|(_, _, c)| c.is_none()).collect();
    let to_generate = to_create.iter().filter(|(_, p, _)| p.generated).count();
    if to_generate > 0 && !origin.room_encrypted {
        return Err(CommandError::Refused(format!(
            "this room is not encrypted, so I will not send the {to_generate} generated passwords here. Import from an encrypted room, or add --no-generate"
        )));
    }
    let existing_accepted = accepted.len() - to_create.len();
    // What each update changes on the account as it is now.
    let changes: Vec<(&str, Vec<&'static str>)> = if opts.on_conflict == OnConflict::Update {
        accepted
            .iter()
            .filter_map(|(r, p, c)| c.map(|c| (r.user_id.as_str(), changed_fields(p, c))))
            .filter(|(_, fields)| !fields.is_empty())
            .collect()
    } else {
        Vec::new()
    };

    let admins = to_create.iter().filter(|(r, _, _)| r.admin).count();
    let deactivated = to_create.iter().filter(|(r, _, _)| r.deactivated).count();
    let conflict_effect = match opts.on_conflict {
        OnConflict::Skip => "left alone (--on-conflict skip)".to_owned(),
        OnConflict::Update => format!(
            "updated with the fields the file gives (--on-conflict update); {} change",
            changes.len()
        ),
        OnConflict::Stop => "none".to_owned(),
    };
    let mut items = vec![
        Line::new().text(format!(
            "Rows in the file: {}",
            parsed.rows.len() + parsed.errors.len()
        )),
        Line::new().text(format!(
            "To create: {} ({admins} admins, {deactivated} deactivated)",
            to_create.len()
        )),
        Line::new().text(format!(
            "Already exist: {existing_accepted} → {}",
            if existing_accepted == 0 {
                "none".to_owned()
            } else {
                conflict_effect
            }
        )),
        Line::new().text(format!("Invalid rows (not imported): {}", refused.len())),
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
    if !changes.is_empty() {
        let shown: Vec<Line> = changes
            .iter()
            .take(PREVIEW_ERRORS)
            .map(|(id, fields)| Line::new().code(*id).text(format!(": {}", fields.join(", "))))
            .collect();
        preview = preview
            .line("Existing accounts that change (fields):")
            .list(shown);
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(["id", "fields"]);
        for (id, fields) in &changes {
            let _ = w.write_record([*id, fields.join(" ").as_str()]);
        }
        if changes.len() > PREVIEW_ERRORS {
            preview = preview.line(format!(
                "…and {} more, all listed in import-changes.csv.",
                changes.len() - PREVIEW_ERRORS
            ));
        }
        preview = preview.attach(Attachment {
            filename: "import-changes.csv".into(),
            mime: "text/csv".into(),
            bytes: w.into_inner().unwrap_or_default(),
            sensitive: false,
        });
    }
    if !refused.is_empty() {
        let shown: Vec<Line> = refused
            .iter()
            .take(PREVIEW_ERRORS)
            .map(|e| {
                Line::new()
                    .text(format!("line {}: ", e.line))
                    .text(e.reason.clone())
            })
            .collect();
        preview = preview.line("Invalid rows:").list(shown);
        if refused.len() > PREVIEW_ERRORS {
            let mut w = csv::Writer::from_writer(Vec::new());
            let _ = w.write_record(["line", "id", "reason"]);
            for e in &refused {
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
                    refused.len() - PREVIEW_ERRORS
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

    let mut rows: Vec<(String, Option<String>)> =
        Vec::with_capacity(parsed.rows.len() + parsed.errors.len());
    let serialize = |p: &RowPayload| {
        serde_json::to_string(p).map_err(|e| CommandError::Internal(e.to_string()))
    };
    for (r, payload, _) in &accepted {
        let secret = match &r.password {
            Some(p) => Some(p.expose().to_owned()),
            None if payload.generated => Some(generate_password()),
            None => None,
        };
        rows.push((serialize(payload)?, secret));
    }
    let invalid_start = rows.len();
    let mut invalid_reasons = Vec::new();
    for (r, payload, reason) in &rules_refused {
        rows.push((
            serialize(payload)?,
            r.password.as_ref().map(|p| p.expose().to_owned()),
        ));
        invalid_reasons.push(format!("refused: {reason}"));
    }
    for e in &parsed.errors {
        let secret = password_column
            .and_then(|i| e.raw.get(i))
            .filter(|p| !p.is_empty())
            .cloned();
        let payload = RowPayload::invalid(e.line, e.id.clone(), &e.raw, password_column);
        rows.push((serialize(&payload)?, secret));
        invalid_reasons.push(e.reason.clone());
    }
    let spec = ImportSpec {
        filename,
        on_conflict: opts.on_conflict,
        header: parsed.header.clone(),
        delimiter: parsed.delimiter,
        password_column,
        concurrency: ctx.config.import.concurrency,
        force: opts.force,
    };
    let job = NewJob {
        kind: import::KIND,
        room_id: origin.room_id.as_str(),
        requester: origin.sender.as_str(),
        command_event_id: origin.event_id.as_str(),
    };
    let job_id = ctx.store.create_job(&job, &spec, rows)?;
    for (i, reason) in invalid_reasons.iter().enumerate() {
        ctx.store
            .set_row_state(job_id, (invalid_start + i) as i64, RowState::Invalid, reason)?;
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


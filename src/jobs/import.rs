//! The import job: applies the rows of a confirmed CSV import with bounded concurrency, records each
//! row's result as it lands, resumes after a restart, and delivers the results files.
//!
//! Exactly once: a row is marked `in_flight` (with its intent, create or update) before its PUT.
//! `PUT /_synapse/admin/v2/users` with the same body is idempotent, so a row found in flight after a
//! restart is simply sent again with the same body and the same (stored) password.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};

use super::{JobError, JobPlace, Progress};
use matrix_sdk::ruma::{OwnedUserId, UserId};

use crate::admin_api::accounts::{Accounts, Backend, NewAccount, too_weak};
use crate::admin_api::users::{Threepid, UpsertUser, UpsertUserBody, UserDetails};
use crate::admin_api::{AdminClient, AdminError, RetryPolicy};
use crate::auth::{Grants, Permission};
use crate::context::Ctx;
use crate::report::{Attachment, Line, Reply};
use crate::store::{JobRow, JobState, RowState};
use crate::users_csv::{ImportRow, write_failed_rows};

pub(crate) const KIND: &str = "import";

/// What to do with a row whose user already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub(crate) enum OnConflict {
    /// Leave the existing user alone.
    Skip,
    /// Change only the fields the file gives (a password only if its cell is filled).
    Update,
    /// Import nothing if any user exists.
    Stop,
}

/// The job's settings, stored with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ImportSpec {
    pub(crate) filename: String,
    pub(crate) on_conflict: OnConflict,
    pub(crate) header: Vec<String>,
    pub(crate) delimiter: u8,
    /// Index of the password column in `header`, to put file passwords back into failed rows.
    pub(crate) password_column: Option<usize>,
    pub(crate) concurrency: usize,
    /// `--force`: with `user.admin`, rows may change server admins.
    #[serde(default)]
    pub(crate) force: bool,
}

/// One row as stored: everything but the password (kept in the row's `secret`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RowPayload {
    pub(crate) line: u64,
    pub(crate) user_id: String,
    pub(crate) displayname: Option<String>,
    pub(crate) admin: bool,
    pub(crate) deactivated: bool,
    pub(crate) avatar_url: Option<String>,
    pub(crate) user_type: Option<String>,
    pub(crate) threepids: Vec<(String, String)>,
    pub(crate) given: Given,
    /// Whether the bot made up the password (the only ones it sends back).
    pub(crate) generated: bool,
    /// The account did not exist at the preview: the row was confirmed as a creation, and an
    /// account found there when it is applied is someone else's (a conflict, left unchanged).
    #[serde(default)]
    pub(crate) confirmed_as_new: bool,
    /// The input cells, password cell blanked.
    pub(crate) raw: Vec<String>,
}

/// Which optional fields the file gives for this row.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub(crate) struct Given {
    pub(crate) displayname: bool,
    pub(crate) password: bool,
    pub(crate) admin: bool,
    pub(crate) deactivated: bool,
    pub(crate) avatar_url: bool,
    pub(crate) user_type: bool,
    pub(crate) threepids: bool,
}

impl RowPayload {
    /// The row as stored; `exists`: whether its account existed at the preview.
    pub(crate) fn from_row(
        row: &ImportRow,
        password_column: Option<usize>,
        generated: bool,
        exists: bool,
    ) -> Self {
        let mut raw = row.raw.clone();
        if let Some(cell) = password_column.and_then(|i| raw.get_mut(i)) {
            cell.clear();
        }
        RowPayload {
            line: row.line,
            user_id: row.user_id.clone(),
            displayname: row.displayname.clone(),
            admin: row.admin,
            deactivated: row.deactivated,
            avatar_url: row.avatar_url.clone(),
            user_type: row.user_type.clone(),
            threepids: row
                .threepids
                .iter()
                .map(|t| (t.medium.as_str().to_owned(), t.address.clone()))
                .collect(),
            given: Given {
                displayname: row.present.displayname,
                password: row.password.is_some(),
                admin: row.present.admin,
                deactivated: row.present.deactivated,
                avatar_url: row.present.avatar_url,
                user_type: row.present.user_type,
                threepids: row.present.threepids,
            },
            generated,
            confirmed_as_new: !exists,
            raw,
        }
    }

    /// A row the parser refused, kept with its cells for `import-failed.csv`.
    pub(crate) fn invalid(
        line: u64,
        id: Option<String>,
        raw: &[String],
        password_column: Option<usize>,
    ) -> Self {
        let mut raw = raw.to_vec();
        if let Some(cell) = password_column.and_then(|i| raw.get_mut(i)) {
            cell.clear();
        }
        RowPayload {
            line,
            user_id: id.unwrap_or_default(),
            displayname: None,
            admin: false,
            deactivated: false,
            avatar_url: None,
            user_type: None,
            threepids: Vec::new(),
            given: Given::default(),
            generated: false,
            confirmed_as_new: false,
            raw,
        }
    }

    /// The body that creates the user with every field of the row.
    fn create_body(&self, password: Option<&str>) -> UpsertUserBody {
        UpsertUserBody {
            password: password.map(str::to_owned),
            displayname: self.displayname.clone(),
            avatar_url: self.avatar_url.clone(),
            threepids: (!self.threepids.is_empty()).then(|| self.threepids()),
            admin: Some(self.admin),
            deactivated: Some(self.deactivated),
            user_type: self.user_type.clone(),
            ..UpsertUserBody::default()
        }
    }

    /// The body that changes only what the file gives; a password only from a filled cell.
    fn update_body(&self, password: Option<&str>) -> UpsertUserBody {
        let g = self.given;
        UpsertUserBody {
            password: if g.password && !self.generated {
                password.map(str::to_owned)
            } else {
                None
            },
            displayname: if g.displayname {
                self.displayname.clone()
            } else {
                None
            },
            avatar_url: if g.avatar_url {
                self.avatar_url.clone()
            } else {
                None
            },
            threepids: g.threepids.then(|| self.threepids()),
            admin: g.admin.then_some(self.admin),
            deactivated: g.deactivated.then_some(self.deactivated),
            user_type: if g.user_type {
                self.user_type.clone()
            } else {
                None
            },
            ..UpsertUserBody::default()
        }
    }

    fn threepids(&self) -> Vec<Threepid> {
        self.threepids
            .iter()
            .map(|(m, a)| Threepid::new(m.clone(), a.clone()))
            .collect()
    }
}

/// What an in-flight row was doing, kept in its `detail` so a restart sends the same write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "snake_case")]
enum Intent {
    Create,
    Update,
}

/// What the requester's roles allow beyond `user.import` (which alone creates ordinary accounts).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ImportRights {
    /// `user.admin`: grant or remove the server-admin flag, change a server admin (with `--force`).
    pub(crate) admin: bool,
    /// `user.update`: change an existing account.
    pub(crate) update: bool,
    /// `user.deactivate`: deactivate an existing account.
    pub(crate) deactivate: bool,
}

impl ImportRights {
    pub(crate) fn of(grants: &Grants) -> Self {
        ImportRights {
            admin: grants.allows(Permission::UserAdmin),
            update: grants.allows(Permission::UserUpdate),
            deactivate: grants.allows(Permission::UserDeactivate),
        }
    }
}

/// The account a row is about, as Synapse has it now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Current {
    pub(crate) admin: bool,
    pub(crate) deactivated: bool,
}

impl From<&UserDetails> for Current {
    fn from(d: &UserDetails) -> Self {
        Current {
            admin: d.admin,
            deactivated: d.deactivated,
        }
    }
}

/// What the rules of one import row need to know.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowFacts<'a> {
    pub(crate) row: &'a RowPayload,
    /// Who asked for the import.
    pub(crate) sender: &'a str,
    /// The bot's own account.
    pub(crate) bot: &'a str,
    /// The row's user is in `safety.protected_users`.
    pub(crate) protected: bool,
    /// The account now; `None` when it does not exist.
    pub(crate) current: Option<Current>,
    pub(crate) on_conflict: OnConflict,
    /// `--force`: with `user.admin`, server admins may be changed.
    pub(crate) force: bool,
    pub(crate) rights: ImportRights,
}

/// Why an import row must not be applied, if it must not. Checked per row at plan time (the row
/// is then invalid, with this reason) and again right before the row is written.
pub(crate) fn row_refusal(f: &RowFacts<'_>) -> Option<String> {
    let t = f.row.user_id.as_str();
    if t.eq_ignore_ascii_case(f.bot) {
        return Some(format!("{t} is the bot's own account"));
    }
    if t.eq_ignore_ascii_case(f.sender) {
        return Some(format!(
            "{t} is your own account; it is not changed by an import"
        ));
    }
    if f.protected {
        return Some(format!("{t} is a protected user (safety.protected_users)"));
    }
    let Some(cur) = f.current else {
        if f.row.admin && !f.rights.admin {
            return Some(format!(
                "{t} would be created as a server admin: that needs permission user.admin"
            ));
        }
        return None;
    };
    if f.on_conflict != OnConflict::Update {
        // Skipped (or the whole import stopped): the account is not changed.
        return None;
    }
    if !f.rights.update {
        return Some(format!(
            "{t} exists: changing an existing account needs permission user.update"
        ));
    }
    if cur.admin && !(f.rights.admin && f.force) {
        return Some(format!(
            "{t} is a server admin: changing it needs permission user.admin and --force"
        ));
    }
    let g = f.row.given;
    if g.admin && f.row.admin != cur.admin && !f.rights.admin {
        return Some(format!(
            "{t}: {} the server-admin flag needs permission user.admin",
            if f.row.admin { "granting" } else { "removing" }
        ));
    }
    if g.deactivated && f.row.deactivated && !cur.deactivated && !f.rights.deactivate {
        return Some(format!(
            "{t}: deactivating an existing account needs permission user.deactivate"
        ));
    }
    None
}

/// Which fields an update row changes on the account as it is now (a password cell always
/// changes the password).
pub(crate) fn changed_fields(row: &RowPayload, now: &UserDetails) -> Vec<&'static str> {
    let body = row.update_body(Some(""));
    let mut out = Vec::new();
    if body.password.is_some() {
        out.push("password");
    }
    if body
        .displayname
        .as_ref()
        .is_some_and(|d| Some(d) != now.displayname.as_ref())
    {
        out.push("displayname");
    }
    if body.admin.is_some_and(|a| a != now.admin) {
        out.push("admin");
    }
    if body.deactivated.is_some_and(|d| d != now.deactivated) {
        out.push("deactivated");
    }
    if body
        .avatar_url
        .as_ref()
        .is_some_and(|a| Some(a) != now.avatar_url.as_ref())
    {
        out.push("avatar_url");
    }
    if body
        .user_type
        .as_ref()
        .is_some_and(|t| Some(t) != now.user_type.as_ref())
    {
        out.push("user_type");
    }
    if let Some(new) = &body.threepids {
        let key = |t: &Threepid| (t.medium.clone(), t.address.to_lowercase());
        let mut a: Vec<_> = new.iter().map(key).collect();
        let mut b: Vec<_> = now.threepids.iter().map(key).collect();
        a.sort();
        b.sort();
        if a != b {
            out.push("threepids");
        }
    }
    out
}

/// The detail of a row whose intent was to create but whose write found the account already there.
pub(crate) const CREATE_CONFLICT: &str =
    "conflict: already existed when created; it was updated with the row";

/// The detail of a row confirmed as a creation whose account someone else made after the preview.
pub(crate) const APPEARED_CONFLICT: &str =
    "conflict: created by someone else after the preview; left unchanged";

/// The state and detail of a created row from Synapse's answer. A 200 (not 201) means the account
/// existed: a conflict, unless Synapse says it was created after the row was marked in flight (our
/// own first write landed and its 201 was lost to a retry or a restart). An account created within
/// the same second by someone else is not told apart; an older account always is.
pub(crate) fn create_outcome(
    created: bool,
    creation_ts_ms: Option<i64>,
    marked_at_ms: Option<i64>,
) -> (RowState, String) {
    if created {
        return (RowState::Created, String::new());
    }
    match (creation_ts_ms, marked_at_ms) {
        // Synapse stores creation times in seconds: allow for the truncation.
        (Some(created_at), Some(marked)) if created_at >= marked - 1_000 => {
            (RowState::Created, String::new())
        }
        _ => (RowState::Updated, CREATE_CONFLICT.to_owned()),
    }
}

/// The rules' facts for `row` of a job asked for by `sender`, with the account as it is `current`.
pub(crate) fn row_facts<'a>(
    ctx: &'a Ctx,
    row: &'a RowPayload,
    sender: &'a str,
    rights: ImportRights,
    on_conflict: OnConflict,
    force: bool,
    current: Option<Current>,
) -> RowFacts<'a> {
    RowFacts {
        row,
        sender,
        bot: ctx.user_id.as_str(),
        protected: ctx
            .config
            .protected_users
            .iter()
            .any(|u| u.as_str().eq_ignore_ascii_case(&row.user_id)),
        current,
        on_conflict,
        force,
        rights,
    }
}

/// Milliseconds since the Unix epoch.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The in-flight detail: the intent, and for a creation when it was marked (`create@<ms>`).
fn intent_detail(intent: Intent, marked_at_ms: i64) -> String {
    match intent {
        Intent::Create => format!("create@{marked_at_ms}"),
        Intent::Update => "update".to_owned(),
    }
}

fn parse_intent(detail: &str) -> Option<(Intent, Option<i64>)> {
    let (name, at) = match detail.split_once('@') {
        Some((name, at)) => (name, at.parse().ok()),
        None => (detail, None),
    };
    Some((name.parse().ok()?, at))
}

/// A cryptographically random password (thread RNG, ChaCha), 20 letters and digits: about 119 bits.
pub(crate) fn generate_password() -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), 20)
}

/// Starts (or resumes) the runner in the background.
pub(crate) fn spawn(ctx: &Arc<Ctx>, job_id: i64, resumed: bool) {
    let b = ctx.clone();
    ctx.spawn(async move {
        if let Err(e) = run(&b, job_id, resumed).await {
            error!(job_id, "import job failed: {e:#}");
            // A failed job is never resumed: its passwords go with it.
            if let Err(e) = b.store.wipe_job_secrets(job_id) {
                error!(job_id, "cannot wipe the job's passwords: {e}");
            }
            let _ = b.store.set_job_state(job_id, JobState::Failed);
        }
    });
}

#[derive(Debug, Default, Clone, Copy, Serialize, Deserialize)]
struct Tally {
    created: u64,
    updated: u64,
    skipped: u64,
    failed: u64,
    invalid: u64,
    pending: u64,
}

impl Tally {
    fn of(rows: &[JobRow]) -> Self {
        let mut t = Tally::default();
        for r in rows {
            t.add(r.state);
        }
        t
    }
    fn add(&mut self, state: RowState) {
        match state {
            RowState::Created => self.created += 1,
            RowState::Updated => self.updated += 1,
            RowState::Skipped => self.skipped += 1,
            RowState::Failed => self.failed += 1,
            RowState::Invalid => self.invalid += 1,
            RowState::Pending | RowState::InFlight => self.pending += 1,
        }
    }
    fn applied(&self) -> u64 {
        self.created + self.updated + self.skipped + self.failed
    }
}

async fn run(ctx: &Arc<Ctx>, job_id: i64, resumed: bool) -> Result<(), JobError> {
    let place = JobPlace::load(ctx, job_id)?;
    let spec: ImportSpec = place.job.spec()?;
    let rows = ctx.store.job_rows(job_id)?;
    let total = rows.iter().filter(|r| r.state != RowState::Invalid).count() as u64;
    let mut tally = Tally::of(&rows);
    let start_applied = tally.applied();

    let first = progress_reply(job_id, &spec, &tally, total, None, resumed);
    let mut progress = Progress::open(ctx, &place, &first).await;
    if resumed {
        let note = Reply::ok(format!(
            "Resuming import #{job_id} after a restart: {}/{total} rows were done.",
            tally.applied()
        ));
        if let Err(e) = ctx.reply(&place.room_id, progress.event_id(), &note).await {
            warn!("{e}");
        }
    }

    // The job rides out a Synapse restart: the upsert is idempotent, so it is retried patiently.
    let admin = ctx.admin.clone().with_retry_policy(RetryPolicy::patient());
    let accounts = ctx.accounts.with_retry_policy(RetryPolicy::patient());
    let mut work: Vec<JobRow> = rows.into_iter().filter(|r| r.state.is_open()).collect();
    if spec.on_conflict == OnConflict::Stop && work.iter().any(|r| r.state == RowState::Pending) {
        // Every row is checked before anything is written.
        if let Some(existing) = first_existing(&admin, &work).await {
            for r in &work {
                ctx.store.set_row_state(
                    job_id,
                    r.idx,
                    RowState::Skipped,
                    &format!("not imported: {existing} already exists (--on-conflict stop)"),
                )?;
            }
            tally = Tally::of(&ctx.store.job_rows(job_id)?);
            work.clear();
        }
    }

    // Today's roles decide each row, as at the preview: the requester's, in the job's room.
    let rights = match UserId::parse(place.job.requester.as_str()) {
        Ok(requester) => ImportRights::of(&ctx.grants(&place.room_id, &requester).await),
        Err(_) => ImportRights::default(),
    };
    let started = Instant::now();
    let mut stream = futures_util::stream::iter(work)
        .map(|row| {
            let ctx = ctx.clone();
            let admin = admin.clone();
            let accounts = accounts.clone();
            let spec = spec.clone();
            let requester = place.job.requester.clone();
            async move {
                if cancelled(&ctx, job_id) {
                    return None;
                }
                let (state, detail) = apply_row(
                    &ctx, &admin, &accounts, job_id, &spec, &requester, rights, &row,
                )
                .await;
                if let Err(e) = ctx.store.set_row_state(job_id, row.idx, state, &detail) {
                    error!("{e}");
                }
                Some(state)
            }
        })
        .buffer_unordered(spec.concurrency.max(1));
    while let Some(done) = stream.next().await {
        if let Some(state) = done {
            tally.pending = tally.pending.saturating_sub(1);
            tally.add(state);
            let rate = (tally.applied() - start_applied) as f64
                / started.elapsed().as_secs_f64().max(0.001);
            progress
                .update(&progress_reply(
                    job_id,
                    &spec,
                    &tally,
                    total,
                    Some(rate),
                    false,
                ))
                .await;
        }
    }
    drop(stream);

    let was_cancelled = cancelled(ctx, job_id);
    let rows = ctx.store.job_rows(job_id)?;
    let tally = Tally::of(&rows);
    let summary = summary_reply(job_id, &spec, &rows, &tally, was_cancelled)?;
    progress
        .force(
            &progress_reply(job_id, &spec, &tally, total, None, false).line(if was_cancelled {
                "Cancelled."
            } else {
                "Finished."
            }),
        )
        .await;
    // The summary and its files are built: the passwords leave the store before it is even sent,
    // so they are gone whether or not it can be.
    ctx.store.wipe_job_secrets(job_id)?;
    if let Err(e) = ctx
        .reply(&place.room_id, place.command_event.as_deref(), &summary)
        .await
    {
        ctx.store.set_job_status(job_id, &tally)?;
        ctx.store.set_job_state(job_id, JobState::Failed)?;
        return Err(e.into());
    }
    ctx.store.set_job_status(job_id, &tally)?;
    ctx.store.set_job_state(
        job_id,
        if was_cancelled {
            JobState::Cancelled
        } else {
            JobState::Done
        },
    )?;
    info!(
        job_id,
        created = tally.created,
        updated = tally.updated,
        skipped = tally.skipped,
        failed = tally.failed,
        "import finished"
    );
    Ok(())
}

fn cancelled(ctx: &Ctx, job_id: i64) -> bool {
    matches!(ctx.store.job(job_id), Ok(Some(j)) if j.state == JobState::Cancelling)
}

/// The first user of `rows` that exists already, if any (a lookup that fails counts as none: the
/// rows are then checked one by one as they are applied).
async fn first_existing(admin: &AdminClient, rows: &[JobRow]) -> Option<String> {
    let ids = rows
        .iter()
        .filter_map(|r| serde_json::from_str::<RowPayload>(&r.payload).ok())
        .map(|p| p.user_id)
        .collect();
    match admin.existing_users(ids).await {
        Ok(found) => found.into_iter().min(),
        Err(e) => {
            warn!("cannot check which users exist: {e}");
            None
        }
    }
}

/// Applies one row; returns its final state and a detail (the error, for failures). The rules
/// are checked again first: the account may have changed since the preview.
#[allow(clippy::too_many_arguments)]
async fn apply_row(
    ctx: &Ctx,
    admin: &AdminClient,
    accounts: &Accounts,
    job_id: i64,
    spec: &ImportSpec,
    requester: &str,
    rights: ImportRights,
    row: &JobRow,
) -> (RowState, String) {
    let payload: RowPayload = match serde_json::from_str(&row.payload) {
        Ok(p) => p,
        Err(e) => return (RowState::Failed, format!("stored row unreadable: {e}")),
    };
    let password = row.secret.as_deref();
    let (intent, marked_at) = if row.state == RowState::InFlight {
        // Our own write may or may not have landed: send the same body again (it was checked
        // right before it was first sent).
        match parse_intent(&row.detail) {
            Some(intent) => intent,
            None => return (RowState::Failed, "stored row has no intent".into()),
        }
    } else {
        let Ok(user_id) = OwnedUserId::try_from(payload.user_id.as_str()) else {
            return (RowState::Failed, "unreadable user ID".into());
        };
        let current = match accounts.details(&user_id).await {
            Ok(details) => Some(details),
            Err(e) if e.is_not_found() => None,
            Err(e) => return (RowState::Failed, e.to_string()),
        };
        if current.is_some() && payload.confirmed_as_new {
            // Not the account the preview showed (there was none): whatever --on-conflict says,
            // it is not changed.
            return (RowState::Skipped, APPEARED_CONFLICT.to_owned());
        }
        let facts = row_facts(
            ctx,
            &payload,
            requester,
            rights,
            spec.on_conflict,
            spec.force,
            current.as_ref().map(Current::from),
        );
        if let Some(why) = row_refusal(&facts) {
            return (RowState::Failed, format!("refused: {why}"));
        }
        let intent = match (current.is_some(), spec.on_conflict) {
            (false, _) => Intent::Create,
            (true, OnConflict::Update) => Intent::Update,
            (true, OnConflict::Skip | OnConflict::Stop) => {
                return (RowState::Skipped, "already exists".into());
            }
        };
        let marked_at = now_ms();
        if let Err(e) = ctx.store.set_row_state(
            job_id,
            row.idx,
            RowState::InFlight,
            &intent_detail(intent, marked_at),
        ) {
            return (RowState::Failed, e.to_string());
        }
        (intent, Some(marked_at))
    };
    match accounts.backend() {
        Backend::Synapse => write_synapse(admin, &payload, password, intent, marked_at).await,
        Backend::Mas => write_mas(accounts, admin, &payload, password, intent, marked_at).await,
    }
}

/// The row's write on Synapse: one create-or-overwrite (and a second write to deactivate a new
/// account, which Synapse does not do on creation).
async fn write_synapse(
    admin: &AdminClient,
    payload: &RowPayload,
    password: Option<&str>,
    intent: Intent,
    marked_at: Option<i64>,
) -> (RowState, String) {
    let body = match intent {
        Intent::Update => payload.update_body(password),
        Intent::Create => payload.create_body(password),
    };
    let upsert = UpsertUser {
        user_id: payload.user_id.clone(),
        body,
    };
    let out = match admin.send(&upsert).await {
        Ok(out) => out,
        Err(e) => return (RowState::Failed, e.to_string()),
    };
    if intent == Intent::Update {
        return (RowState::Updated, String::new());
    }
    let outcome = create_outcome(out.created, out.user.creation_ts_ms(), marked_at);
    if outcome.0 == RowState::Created && payload.deactivated && !out.user.deactivated {
        // Synapse ignores `deactivated` when it creates an account: a second write applies it.
        let deactivate = UpsertUser {
            user_id: payload.user_id.clone(),
            body: UpsertUserBody {
                deactivated: Some(true),
                ..UpsertUserBody::default()
            },
        };
        if let Err(e) = admin.send(&deactivate).await {
            return (
                RowState::Failed,
                format!("created, but it could not be deactivated: {e}"),
            );
        }
    }
    outcome
}

/// The row's write where MAS owns accounts: the account (creation, password, admin flag, e-mail
/// addresses, deactivation) through MAS, the rest of the profile (user type) through Synapse.
///
/// MAS refuses a name that is taken, so a creation never overwrites: a taken name is a conflict,
/// left unchanged. After a restart, an account MAS made after the row was marked is the row's own,
/// and its remaining steps (each harmless to repeat) are sent again.
async fn write_mas(
    accounts: &Accounts,
    admin: &AdminClient,
    payload: &RowPayload,
    password: Option<&str>,
    intent: Intent,
    marked_at: Option<i64>,
) -> (RowState, String) {
    let Ok(user_id) = OwnedUserId::try_from(payload.user_id.as_str()) else {
        return (RowState::Failed, "unreadable user ID".into());
    };
    let failed = |e: AdminError| (RowState::Failed, e.to_string());
    let existing = match accounts.details(&user_id).await {
        Ok(d) => Some(d),
        Err(e) if e.is_not_found() => None,
        Err(e) => return failed(e),
    };
    let g = payload.given;
    let new = NewAccount {
        user_id: &user_id,
        displayname: payload.displayname.as_deref(),
        avatar_url: payload.avatar_url.as_deref(),
        password,
        admin: payload.admin,
    };
    let (details, created) = match (intent, existing) {
        (Intent::Create, None) => match accounts.mas_create(new).await {
            Ok(_) => match accounts.details(&user_id).await {
                Ok(d) => (d, true),
                Err(e) => return failed(e),
            },
            Err(e) if e.is_conflict() => return (RowState::Skipped, APPEARED_CONFLICT.to_owned()),
            Err(e) => return failed(e),
        },
        (Intent::Create, Some(d)) => {
            let ours = d
                .mas
                .as_ref()
                .zip(marked_at)
                .is_some_and(|(a, marked)| a.created_at.timestamp_millis() >= marked - 1_000);
            if !ours {
                return (RowState::Skipped, APPEARED_CONFLICT.to_owned());
            }
            (d, true)
        }
        (Intent::Update, Some(d)) => (d, false),
        (Intent::Update, None) => {
            return (
                RowState::Failed,
                "the account is gone since the preview".into(),
            );
        }
    };
    let steps = async {
        if created {
            if let Some(id) = details.mas.as_ref().map(|a| &a.id) {
                accounts.finish_mas_creation(id, new).await?;
            }
        } else {
            if g.password
                && !payload.generated
                && let Some(p) = password
            {
                accounts.set_password(&details, p, true).await?;
            }
            if g.admin && payload.admin != details.admin {
                accounts.set_admin(&details, payload.admin).await?;
            }
        }
        // Profile fields MAS does not hold: Synapse's, on an account that exists by now.
        let profile = UpsertUserBody {
            displayname: (!created && g.displayname)
                .then(|| payload.displayname.clone())
                .flatten(),
            avatar_url: (!created && g.avatar_url)
                .then(|| payload.avatar_url.clone())
                .flatten(),
            user_type: g.user_type.then(|| payload.user_type.clone()).flatten(),
            ..UpsertUserBody::default()
        };
        if profile != UpsertUserBody::default() {
            admin
                .send(&UpsertUser {
                    user_id: payload.user_id.clone(),
                    body: profile,
                })
                .await?;
        }
        for (medium, address) in &payload.threepids {
            if medium == "email" {
                accounts.add_email(&details, address).await?;
            }
        }
        if (created || g.deactivated) && payload.deactivated != details.deactivated {
            if payload.deactivated {
                accounts.deactivate(&details, false).await?;
            } else {
                accounts.reactivate(&details).await?;
            }
        }
        Ok::<(), AdminError>(())
    };
    match (steps.await, created) {
        (Ok(()), true) => (RowState::Created, String::new()),
        (Ok(()), false) => (RowState::Updated, String::new()),
        (Err(e), true) => (RowState::Failed, format!("created, but not finished: {e}")),
        (Err(e), false) => failed(e),
    }
}

/// Why MAS would refuse a row the file gives, if it would: a password weaker than its policy
/// (`min_complexity`, a zxcvbn score), or a phone number (MAS holds e-mail addresses only).
pub(crate) fn mas_refusal(row: &ImportRow, min_complexity: u8) -> Option<String> {
    if let Some(p) = &row.password
        && too_weak(p.expose(), min_complexity)
    {
        return Some(format!(
            "{}: its password is weaker than MAS's policy allows (minimum strength {min_complexity} of 4)",
            row.user_id
        ));
    }
    if row.threepids.iter().any(|t| t.medium.as_str() != "email") {
        return Some(format!(
            "{}: MAS holds e-mail addresses only; remove the phone number",
            row.user_id
        ));
    }
    None
}

fn progress_reply(
    job_id: i64,
    spec: &ImportSpec,
    t: &Tally,
    total: u64,
    rate: Option<f64>,
    resumed: bool,
) -> Reply {
    let done = t.applied();
    let mut line = Line::new()
        .bold(format!("Import #{job_id}"))
        .text(format!(" ({}): {done}/{total} rows", spec.filename));
    if let Some(rate) = rate.filter(|r| *r > 0.0) {
        let left = total.saturating_sub(done) as f64 / rate;
        line = line.text(format!(
            " · {rate:.1}/s · ~{} left",
            crate::units::format_age(Duration::from_secs(left.ceil() as u64))
        ));
    }
    let mut r = Reply::new(crate::report::Outcome::Pending)
        .line(line)
        .line(format!(
            "created {} · updated {} · skipped {} · failed {}",
            t.created, t.updated, t.skipped, t.failed
        ));
    if resumed {
        r = r.line("(resumed after a restart)");
    }
    r
}

fn summary_reply(
    job_id: i64,
    spec: &ImportSpec,
    rows: &[JobRow],
    t: &Tally,
    was_cancelled: bool,
) -> Result<Reply, JobError> {
    let head = if was_cancelled {
        format!("Import #{job_id} cancelled.")
    } else {
        format!("Import #{job_id} finished.")
    };
    let mut items = vec![
        Line::new().text(format!("Created: {}", t.created)),
        Line::new().text(format!("Updated: {}", t.updated)),
        Line::new().text(format!("Skipped: {}", t.skipped)),
        Line::new().text(format!("Failed: {}", t.failed)),
    ];
    if t.invalid > 0 {
        items.push(Line::new().text(format!("Invalid rows (not imported): {}", t.invalid)));
    }
    if t.pending > 0 {
        items.push(Line::new().text(format!("Not started: {}", t.pending)));
    }
    let conflicts = |detail: &str| -> Vec<Line> {
        rows.iter()
            .filter(|r| is_conflict(r) && r.detail == detail)
            .map(|r| Line::new().code(row_user(r)))
            .collect()
    };
    let (appeared, overwritten) = (conflicts(APPEARED_CONFLICT), conflicts(CREATE_CONFLICT));
    if !appeared.is_empty() {
        items.push(Line::new().text(format!(
            "Conflicts: {} created by someone else after the preview; left unchanged (counted as skipped)",
            appeared.len()
        )));
    }
    if !overwritten.is_empty() {
        items.push(Line::new().text(format!(
            "Conflicts: {} already existed when created; they were updated (counted as updated)",
            overwritten.len()
        )));
    }
    let outcome = if t.failed > 0 {
        crate::report::Outcome::Failure
    } else {
        crate::report::Outcome::Success
    };
    let mut reply = Reply::new(outcome).line(Line::new().bold(head)).list(items);
    let failures: Vec<Line> = rows
        .iter()
        .filter(|r| r.state == RowState::Failed)
        .take(10)
        .map(|r| {
            let id = serde_json::from_str::<RowPayload>(&r.payload)
                .map(|p| p.user_id)
                .unwrap_or_default();
            Line::new().code(id).text(format!(": {}", r.detail))
        })
        .collect();
    if !failures.is_empty() {
        reply = reply.line("Failures:").list(failures);
    }
    if !appeared.is_empty() {
        reply = reply
            .line("Created by someone else after the preview, left unchanged:")
            .list(appeared.into_iter().take(10).collect());
    }
    if !overwritten.is_empty() {
        reply = reply
            .line("Already existed when created, updated instead:")
            .list(overwritten.into_iter().take(10).collect());
    }

    let (results, has_passwords) = results_csv(rows)?;
    reply = reply.attach(Attachment {
        filename: "import-results.csv".into(),
        mime: "text/csv".into(),
        bytes: results,
        sensitive: has_passwords,
    });
    let (failed, failed_has_passwords, failed_count) = failed_csv(spec, rows)?;
    if failed_count > 0 {
        reply = reply.attach(Attachment {
            filename: "import-failed.csv".into(),
            mime: "text/csv".into(),
            bytes: failed,
            sensitive: failed_has_passwords,
        });
    }
    let mut files = Line::new().code("import-results.csv");
    if has_passwords {
        files = files.text(
            " holds the generated passwords: hand them over, then delete the file from the room.",
        );
    }
    if failed_count > 0 {
        files = files.text(" ").code("import-failed.csv").text(format!(
            " has the {failed_count} rows to fix and import again."
        ));
    }
    Ok(reply.line(files))
}

/// A row confirmed as a creation that met an account someone else made: left unchanged
/// ([`APPEARED_CONFLICT`], seen before the write) or updated ([`CREATE_CONFLICT`], told by
/// Synapse's 200 to the write itself).
fn is_conflict(r: &JobRow) -> bool {
    (r.state == RowState::Skipped && r.detail == APPEARED_CONFLICT)
        || (r.state == RowState::Updated && r.detail == CREATE_CONFLICT)
}

fn row_user(r: &JobRow) -> String {
    serde_json::from_str::<RowPayload>(&r.payload)
        .map(|p| p.user_id)
        .unwrap_or_default()
}

/// `id,status,password,error`: the password column holds only passwords the bot generated.
fn results_csv(rows: &[JobRow]) -> Result<(Vec<u8>, bool), JobError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["id", "status", "password", "error"])?;
    let mut has_passwords = false;
    for r in rows {
        let payload: Option<RowPayload> = serde_json::from_str(&r.payload).ok();
        let id = payload
            .as_ref()
            .map(|p| p.user_id.clone())
            .unwrap_or_default();
        // A generated password was set by every creation, also one that found the account there.
        let password = match (&payload, r.state, &r.secret) {
            (Some(p), RowState::Created, Some(secret)) if p.generated => {
                has_passwords = true;
                secret.as_str()
            }
            (Some(p), RowState::Updated, Some(secret)) if p.generated && is_conflict(r) => {
                has_passwords = true;
                secret.as_str()
            }
            _ => "",
        };
        let status = if r.state.is_open() {
            "not started".to_owned()
        } else if is_conflict(r) {
            "conflict".to_owned()
        } else {
            r.state.label()
        };
        w.write_record([id.as_str(), status.as_str(), password, r.detail.as_str()])?;
    }
    Ok((
        w.into_inner().map_err(|e| JobError::Csv(e.to_string()))?,
        has_passwords,
    ))
}

/// Failed, skipped, invalid and not-started rows in the input format, passwords from the file put back.
fn failed_csv(spec: &ImportSpec, rows: &[JobRow]) -> Result<(Vec<u8>, bool, usize), JobError> {
    let mut has_passwords = false;
    let mut out = Vec::new();
    for r in rows
        .iter()
        .filter(|r| r.state != RowState::Created && r.state != RowState::Updated)
    {
        let Ok(p) = serde_json::from_str::<RowPayload>(&r.payload) else {
            continue;
        };
        let mut cells = p.raw;
        if let (Some(i), Some(secret), false) = (spec.password_column, &r.secret, p.generated)
            && let Some(cell) = cells.get_mut(i)
        {
            *cell = secret.clone();
            has_passwords = true;
        }
        if cells.iter().all(String::is_empty) {
            continue;
        }
        out.push(cells);
    }
    let count = out.len();
    let mut bytes = Vec::new();
    write_failed_rows(
        &spec.header,
        out.iter().map(|c| c.as_slice()),
        spec.delimiter,
        &mut bytes,
    )?;
    Ok((bytes, has_passwords, count))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_pass_the_strictest_mas_policy_and_weak_ones_are_named() {
        for _ in 0..200 {
            let p = generate_password();
            assert!(!too_weak(&p, 4), "MAS would refuse a generated password");
        }
        let row = |password: &str, threepids: &str| {
            let csv = format!("id,password,threepids\nann,{password},{threepids}\n");
            let parsed = crate::users_csv::parse_users_csv(csv.as_bytes(), "example.org", 10)
                .expect("a valid file");
            parsed.rows.into_iter().next().expect("a row")
        };
        let weak = mas_refusal(&row("password1", ""), 3).expect("refused");
        assert!(weak.contains("weaker than MAS's policy"), "{weak}");
        assert!(
            !weak.contains("password1"),
            "the password is not echoed: {weak}"
        );
        assert_eq!(mas_refusal(&row("password1", ""), 0), None, "no policy");
        assert_eq!(
            mas_refusal(&row("correct horse battery staple 42", "email:a@b.org"), 3),
            None
        );
        let phone = mas_refusal(&row("", "msisdn:4915112345678"), 3).expect("refused");
        assert!(phone.contains("e-mail addresses only"), "{phone}");
    }

    #[test]
    fn generated_passwords_are_long_and_random() {
        let a = generate_password();
        let b = generate_password();
        assert!(
            a.len() >= 16 && a.chars().all(|c| c.is_ascii_alphanumeric()),
            "{a}"
        );
        assert_ne!(a, b);
    }

    #[test]
    fn update_changes_only_given_fields_and_never_a_generated_password() {
        let csv = "id,displayname,password\nbob,,\ncarol,Carol,secret-1\n";
        let parsed = crate::users_csv::parse_users_csv(csv.as_bytes(), "x", 10).expect("csv");
        let bob = RowPayload::from_row(&parsed.rows[0], Some(2), true, true);
        let body = bob.update_body(Some("generated"));
        assert_eq!(
            body.password, None,
            "never reset a password from a generated one"
        );
        assert_eq!(body.displayname, None, "an empty display name is not given");
        assert_eq!(body.admin, None, "no admin column, no change");
        let carol = RowPayload::from_row(&parsed.rows[1], Some(2), false, true);
        assert!(
            carol.raw.iter().all(|c| c != "secret-1"),
            "the password is not kept in the payload"
        );
        let body = carol.update_body(Some("secret-1"));
        assert_eq!(body.password.as_deref(), Some("secret-1"));
        assert_eq!(body.displayname.as_deref(), Some("Carol"));
        let create = carol.create_body(Some("secret-1"));
        assert_eq!(create.admin, Some(false));
    }

    fn payload(csv: &str) -> RowPayload {
        let parsed = crate::users_csv::parse_users_csv(csv.as_bytes(), "x", 10).expect("csv");
        RowPayload::from_row(&parsed.rows[0], None, false, false)
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn row_rules_table() {
        let none = ImportRights::default();
        let update = ImportRights {
            update: true,
            ..ImportRights::default()
        };
        let admin = ImportRights {
            admin: true,
            update: true,
            deactivate: false,
        };
        let all = ImportRights {
            admin: true,
            update: true,
            deactivate: true,
        };
        let ordinary = Some(Current::default());
        let an_admin = Some(Current {
            admin: true,
            deactivated: false,
        });
        use OnConflict::{Skip, Update};
        // (csv, protected, current, on_conflict, force, grants, refused because of)
        let cases: &[(
            &str,
            bool,
            Option<Current>,
            OnConflict,
            bool,
            ImportRights,
            Option<&str>,
        )] = &[
            // user.import alone: ordinary creations only.
            ("id\nnew\n", false, None, Update, false, none, None),
            (
                "id,admin\nnew,true\n",
                false,
                None,
                Update,
                false,
                none,
                Some("user.admin"),
            ),
            (
                "id,admin\nnew,true\n",
                false,
                None,
                Update,
                false,
                admin,
                None,
            ),
            (
                "id,admin\nnew,false\n",
                false,
                None,
                Update,
                false,
                none,
                None,
            ),
            // The attack: an existing admin's password and flag through update.
            (
                "id,password,admin\nboss,Pwned123,true\n",
                false,
                an_admin,
                Update,
                false,
                none,
                Some("user.update"),
            ),
            (
                "id,password,admin\nboss,Pwned123,true\n",
                false,
                an_admin,
                Update,
                false,
                update,
                Some("server admin"),
            ),
            (
                "id,password,admin\nboss,Pwned123,true\n",
                false,
                an_admin,
                Update,
                false,
                admin,
                Some("--force"),
            ),
            (
                "id,password,admin\nboss,Pwned123,true\n",
                false,
                an_admin,
                Update,
                true,
                update,
                Some("server admin"),
            ),
            (
                "id,password,admin\nboss,Pwned123,true\n",
                false,
                an_admin,
                Update,
                true,
                admin,
                None,
            ),
            // Skipped rows change nothing.
            (
                "id,password,admin\nboss,Pwned123,true\n",
                false,
                an_admin,
                Skip,
                false,
                none,
                None,
            ),
            // Updating an ordinary account.
            (
                "id,displayname\nbob,Bob\n",
                false,
                ordinary,
                Update,
                false,
                none,
                Some("user.update"),
            ),
            (
                "id,displayname\nbob,Bob\n",
                false,
                ordinary,
                Update,
                false,
                update,
                None,
            ),
            (
                "id,admin\nbob,true\n",
                false,
                ordinary,
                Update,
                false,
                update,
                Some("granting"),
            ),
            (
                "id,admin\nbob,false\n",
                false,
                ordinary,
                Update,
                false,
                update,
                None,
            ),
            (
                "id,admin\nbob,true\n",
                false,
                ordinary,
                Update,
                false,
                admin,
                None,
            ),
            (
                "id,deactivated\nbob,true\n",
                false,
                ordinary,
                Update,
                false,
                admin,
                Some("user.deactivate"),
            ),
            (
                "id,deactivated\nbob,true\n",
                false,
                ordinary,
                Update,
                false,
                all,
                None,
            ),
            (
                "id,deactivated\nbob,false\n",
                false,
                ordinary,
                Update,
                false,
                update,
                None,
            ),
            // Never: protected users, the bot, the sender, whatever the grants.
            (
                "id\nceo\n",
                true,
                ordinary,
                Update,
                true,
                all,
                Some("protected"),
            ),
            (
                "id\nceo\n",
                true,
                None,
                Update,
                true,
                all,
                Some("protected"),
            ),
            (
                "id\nceo\n",
                true,
                ordinary,
                Skip,
                true,
                all,
                Some("protected"),
            ),
            (
                "id,displayname\nsyndic,X\n",
                false,
                ordinary,
                Update,
                true,
                all,
                Some("bot"),
            ),
            (
                "id,displayname\nme,X\n",
                false,
                ordinary,
                Update,
                true,
                all,
                Some("your own"),
            ),
        ];
        for (csv, protected, current, on_conflict, force, grants, want) in cases {
            let row = payload(csv);
            let facts = RowFacts {
                row: &row,
                sender: "@me:x",
                bot: "@syndic:x",
                protected: *protected,
                current: *current,
                on_conflict: *on_conflict,
                force: *force,
                rights: *grants,
            };
            let got = row_refusal(&facts);
            match (want, &got) {
                (None, None) => {}
                (Some(w), Some(g)) if g.contains(w) => {}
                _ => panic!(
                    "{csv:?} {current:?} {on_conflict:?} force={force} {grants:?}: got {got:?}, want {want:?}"
                ),
            }
        }
    }

    fn details(v: serde_json::Value) -> UserDetails {
        serde_json::from_value(v).expect("details")
    }

    #[test]
    fn changed_fields_lists_only_real_changes() {
        let now = details(serde_json::json!({
            "name": "@bob:x", "displayname": "Bob", "admin": false, "deactivated": false,
            "threepids": [{"medium": "email", "address": "bob@x.org"}]
        }));
        let row = payload("id,displayname,admin,threepids\nbob,Bob,false,email:BOB@x.org\n");
        assert!(changed_fields(&row, &now).is_empty());
        let row = payload("id,displayname,password,admin,threepids\nbob,Robert,pw-123456,true,\n");
        assert_eq!(
            changed_fields(&row, &now),
            vec!["password", "displayname", "admin"],
            "an empty threepids cell is not given"
        );
    }

    #[test]
    fn an_update_never_sends_empty_threepids_from_an_empty_cell() {
        let row = payload("id,displayname,threepids\nbob,Bob,\n");
        assert_eq!(row.update_body(None).threepids, None);
        let row = payload("id,threepids\nbob,email:b@x.org\n");
        assert_eq!(row.update_body(None).threepids.map(|t| t.len()), Some(1));
    }

    #[test]
    fn a_create_that_found_the_account_is_a_conflict() {
        let marked = 1_700_000_000_000;
        let cases = [
            // 201: created.
            (true, None, Some(marked), RowState::Created, ""),
            (true, Some(1), Some(marked), RowState::Created, ""),
            // 200 for an account older than our write: it existed, it was overwritten.
            (
                false,
                Some(marked - 86_400_000),
                Some(marked),
                RowState::Updated,
                CREATE_CONFLICT,
            ),
            (
                false,
                None,
                Some(marked),
                RowState::Updated,
                CREATE_CONFLICT,
            ),
            (
                false,
                Some(marked),
                None,
                RowState::Updated,
                CREATE_CONFLICT,
            ),
            // 200 for an account made by our own write (its 201 lost to a retry or a restart);
            // Synapse keeps seconds.
            (
                false,
                Some(marked - 900),
                Some(marked),
                RowState::Created,
                "",
            ),
            (
                false,
                Some(marked + 5_000),
                Some(marked),
                RowState::Created,
                "",
            ),
        ];
        for (created, ts, at, state, detail) in cases {
            assert_eq!(
                create_outcome(created, ts, at),
                (state, detail.to_owned()),
                "{created} {ts:?} {at:?}"
            );
        }
    }

    #[test]
    fn conflicts_are_reported_and_only_an_applied_one_hands_out_its_password() {
        let row = |idx, id: &str, state, detail: &str| {
            let mut p = payload(&format!("id\n{id}\n"));
            p.generated = true;
            JobRow {
                idx,
                state,
                payload: serde_json::to_string(&p).expect("payload"),
                detail: detail.to_owned(),
                secret: Some(format!("pw-{id}")),
            }
        };
        let rows = [
            row(0, "made", RowState::Created, ""),
            row(1, "theirs", RowState::Skipped, APPEARED_CONFLICT),
            row(2, "raced", RowState::Updated, CREATE_CONFLICT),
            row(3, "old", RowState::Skipped, "already exists"),
        ];
        let (bytes, has_passwords) = results_csv(&rows).expect("csv");
        assert!(has_passwords);
        let text = String::from_utf8(bytes).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[1], "@made:x,created,pw-made,");
        assert_eq!(
            lines[2],
            format!("@theirs:x,conflict,,{APPEARED_CONFLICT}"),
            "an account left unchanged gets no password"
        );
        assert_eq!(
            lines[3],
            format!("@raced:x,conflict,pw-raced,{CREATE_CONFLICT}"),
            "the password Synapse did set is handed over"
        );
        assert_eq!(lines[4], "@old:x,skipped,,already exists");
        let spec = ImportSpec {
            filename: "f.csv".into(),
            on_conflict: OnConflict::Skip,
            header: vec!["id".into()],
            delimiter: b',',
            password_column: None,
            concurrency: 1,
            force: false,
        };
        let summary = summary_reply(1, &spec, &rows, &Tally::of(&rows), false)
            .expect("summary")
            .plain();
        for line in [
            "Created: 1",
            "Updated: 1",
            "Skipped: 2",
            "Conflicts: 1 created by someone else after the preview; left unchanged (counted as skipped)",
            "Conflicts: 1 already existed when created; they were updated (counted as updated)",
        ] {
            assert!(summary.contains(line), "{line:?} in {summary}");
        }
    }

    #[test]
    fn in_flight_intents_round_trip() {
        assert_eq!(
            parse_intent(&intent_detail(Intent::Create, 42)),
            Some((Intent::Create, Some(42)))
        );
        assert_eq!(parse_intent("update"), Some((Intent::Update, None)));
        assert_eq!(parse_intent("create"), Some((Intent::Create, None)));
        assert_eq!(parse_intent("bogus"), None);
    }
}

//! Work on a set of accounts, one row per account: suspend, lock, shadow-ban, deactivate, delete
//! devices, redact messages, send a server notice, or the whole offboarding playbook.
//!
//! Persisted like imports: four rows in flight, one progress message once a job takes more than
//! two seconds, a results file at the end.
//! A row that is part-way through its steps (offboarding, a redaction Synapse is running) keeps
//! where it is in its detail, so a restart resumes at that step and repeats nothing that is done.
//! The target rules are checked again for every row right before its write: by looking the
//! account up, or, for the writes that need nothing else of an account (suspend, shadow-ban), with
//! facts read for the whole set at once ([`Bulk`]: the admins at most a second old, the
//! deactivated accounts as of the job's start), so such a set costs one request per account.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use matrix_sdk::ruma::{OwnedUserId, UserId};
use serde::{Deserialize, Serialize};
use tracing::{error, info, warn};

use super::targets::{Account, TargetFacts, Verb, target_refusal};
use super::{JobError, JobPlace, Progress};
use crate::admin_api::AdminError;
use crate::admin_api::moderation::{RedactStatus, RedactUser, SendServerNotice};
use crate::admin_api::users::{
    DeleteUserMedia, ListDevices, ShadowBanUser, SuspendUser, UserDetails,
};
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::report::{Attachment, Line, Outcome, Reply};
use crate::store::{JobRow, JobState, NewJob, RowState, StoreResult};

pub(crate) const KIND: &str = "users";

/// Accounts worked on at once.
const IN_FLIGHT: usize = 4;

/// How often the rows' results are stored (in one transaction).
const SAVE_EVERY: Duration = Duration::from_millis(250);

/// How old the list of admins may be when a row of a bulk write is checked against it.
const ADMINS_MAX_AGE: Duration = Duration::from_secs(1);

/// How long a job works before it shows a progress message; a shorter one sends its summary only.
const PROGRESS_AFTER: Duration = Duration::from_secs(2);

/// Which devices `!delete-devices` removes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum DeviceChoice {
    All,
    /// Those not seen since this moment (ms); never seen counts as not seen.
    InactiveBefore(i64),
    These(Vec<String>),
}

/// A redaction's time window (ms since the epoch); both open: everything.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Window {
    pub(crate) after_ms: Option<i64>,
    pub(crate) before_ms: Option<i64>,
}

/// What is done to each account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum UserOp {
    Suspend,
    Lock,
    ShadowBan,
    Deactivate {
        erase: bool,
    },
    DeleteDevices {
        devices: DeviceChoice,
    },
    Notice {
        text: String,
    },
    Redact {
        window: Window,
        rooms: Vec<String>,
        reason: Option<String>,
    },
    /// Suspend, redact the window, delete the media, deactivate (and erase).
    Offboard {
        erase: bool,
        window: Window,
    },
}

impl UserOp {
    /// What running it needs, checked at the preview, at confirmation and when it resumes.
    pub(crate) fn permissions(&self) -> Vec<Permission> {
        use Permission as P;
        match self {
            UserOp::Suspend => vec![P::UserSuspend],
            UserOp::Lock => vec![P::UserLock],
            UserOp::ShadowBan => vec![P::UserShadowBan],
            UserOp::Deactivate { erase: false } => vec![P::UserDeactivate],
            UserOp::Deactivate { erase: true } => vec![P::UserDeactivate, P::UserErase],
            UserOp::DeleteDevices { .. } => vec![P::UserDevices],
            UserOp::Notice { .. } => vec![P::NoticeSend],
            UserOp::Redact { .. } => vec![P::UserRedact],
            UserOp::Offboard { erase, .. } => {
                let mut p = vec![P::UserDeactivate, P::UserRedact, P::MediaDelete];
                if *erase {
                    p.push(P::UserErase);
                }
                p
            }
        }
    }

    /// How the rules and the messages name it.
    pub(crate) fn verb(&self) -> Verb {
        let (base, done) = match self {
            UserOp::Suspend => ("suspend", "suspended"),
            UserOp::Lock => ("lock", "locked"),
            UserOp::ShadowBan => ("shadow-ban", "shadow-banned"),
            UserOp::Deactivate { .. } => ("deactivate", "deactivated"),
            UserOp::DeleteDevices { .. } => ("delete the devices of", "logged out"),
            UserOp::Notice { .. } => ("send a notice to", "sent a notice"),
            UserOp::Redact { .. } => ("redact the messages of", "redacted"),
            UserOp::Offboard { .. } => ("offboard", "offboarded"),
        };
        Verb { base, done }
    }

    /// The job's title: `Suspending 30 users`.
    pub(crate) fn doing(&self, n: usize) -> String {
        let what = match self {
            UserOp::Suspend => "Suspending",
            UserOp::Lock => "Locking",
            UserOp::ShadowBan => "Shadow-banning",
            UserOp::Deactivate { erase: false } => "Deactivating",
            UserOp::Deactivate { erase: true } => "Deactivating and erasing",
            UserOp::DeleteDevices { .. } => "Deleting devices of",
            UserOp::Notice { .. } => "Sending a server notice to",
            UserOp::Redact { .. } => "Redacting the messages of",
            UserOp::Offboard { erase: false, .. } => "Offboarding",
            UserOp::Offboard { erase: true, .. } => "Offboarding (with erase)",
        };
        format!("{what} {n} user{}", if n == 1 { "" } else { "s" })
    }

    /// The write of an operation that needs nothing of the account but the target rules' facts
    /// (suspend, shadow-ban: Synapse's flags, whoever owns the accounts), so a set can be done
    /// with [`Bulk`] facts and one request per account.
    fn bulk_write(&self) -> Option<BulkWrite> {
        match self {
            UserOp::Suspend => Some(BulkWrite::Suspend),
            UserOp::ShadowBan => Some(BulkWrite::ShadowBan),
            _ => None,
        }
    }

    /// A notice harms nobody: it may go to admins, protected users and the sender too.
    fn guarded(&self) -> bool {
        !matches!(self, UserOp::Notice { .. })
    }
}

/// Why `op` will not be done to the account, if it will not: the target rules (a notice only
/// never goes to the bot, another server's users or a deactivated account).
pub(crate) fn refusal(op: &UserOp, f: &TargetFacts<'_>) -> Option<String> {
    if op.guarded() {
        return target_refusal(f);
    }
    let t = f.target;
    if t == f.bot {
        return Some("I will not send a notice to myself".into());
    }
    if t.server_name().as_str() != f.server_name {
        return Some(format!("{t} is on another server"));
    }
    match f.details {
        Some(Account {
            deactivated: true, ..
        }) => Some(format!("{t} is deactivated")),
        _ => None,
    }
}

/// Why a row's account is left alone, with the account as it is now and the job's requester.
fn row_refusal(
    ctx: &Ctx,
    spec: &UsersSpec,
    requester: &str,
    user: &UserId,
    account: Account,
) -> Option<String> {
    let requester_id = UserId::parse(requester).ok();
    let verb = spec.op.verb();
    let facts = TargetFacts::new(
        ctx,
        &verb,
        user,
        requester_id.as_deref().unwrap_or(&ctx.user_id),
        spec.force,
        Some(account),
    );
    refusal(&spec.op, &facts)
}

/// The stored job: what to do, and whether admins may be among the accounts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct UsersSpec {
    pub(crate) op: UserOp,
    pub(crate) force: bool,
}

/// Where a row is within its steps, kept in its detail while it is open.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Steps {
    /// Offboarding: 0 suspend, 1 redact, 2 media, 3 deactivate.
    step: u8,
    /// The redaction Synapse is running for this row.
    redact_id: Option<String>,
    /// What each finished step did.
    notes: Vec<String>,
}

/// Stores the job, awaiting confirmation, with one row per account.
pub(crate) fn create(
    ctx: &Ctx,
    origin: &Origin,
    spec: &UsersSpec,
    users: &[OwnedUserId],
) -> StoreResult<i64> {
    let job = NewJob {
        kind: KIND,
        room_id: origin.room_id.as_str(),
        requester: origin.sender.as_str(),
        command_event_id: origin.event_id.as_str(),
    };
    ctx.store
        .create_job(&job, spec, users.iter().map(|u| (u.to_string(), None)))
}

pub(crate) fn spawn(ctx: &Arc<Ctx>, job_id: i64, resumed: bool) {
    let c = ctx.clone();
    ctx.spawn(async move {
        if let Err(e) = run(&c, job_id, resumed).await {
            error!(job_id, "users job failed: {e:#}");
            let _ = c.store.set_job_state(job_id, JobState::Failed);
        }
    });
}

/// Rows by where they ended.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    done: usize,
    skipped: usize,
    failed: usize,
    open: usize,
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
            RowState::Created | RowState::Updated => self.done += 1,
            RowState::Skipped | RowState::Invalid => self.skipped += 1,
            RowState::Failed => self.failed += 1,
            RowState::Pending | RowState::InFlight => self.open += 1,
        }
    }
}

fn progress_reply(title: &str, t: &Tally, total: usize) -> Reply {
    let finished = t.done + t.skipped + t.failed;
    Reply::new(Outcome::Pending)
        .line(Line::new().bold(title.to_owned()))
        .line(format!(
            "{finished}/{total} · done {} · skipped {} · failed {}",
            t.done, t.skipped, t.failed
        ))
}

/// A write [`apply_bulk`] does.
#[derive(Debug, Clone, Copy)]
enum BulkWrite {
    Suspend,
    ShadowBan,
}

/// What the target rules need of many accounts, read in a few list requests instead of one
/// lookup per account (Synapse's lookup costs as much as the write itself): the admins (of the
/// accounts' owner), read again when older than [`ADMINS_MAX_AGE`], and the deactivated accounts,
/// read when the job starts.
struct Bulk {
    admins: tokio::sync::Mutex<(HashSet<String>, Instant)>,
    deactivated: HashSet<String>,
}

impl Bulk {
    async fn read(ctx: &Ctx) -> Result<Self, AdminError> {
        let (admins, deactivated) =
            futures_util::future::try_join(ctx.accounts.admins(), ctx.admin.deactivated_users())
                .await?;
        Ok(Bulk {
            admins: tokio::sync::Mutex::new((admins, Instant::now())),
            deactivated,
        })
    }

    /// The account as the rules see it, with admins at most [`ADMINS_MAX_AGE`] old.
    async fn account(&self, ctx: &Ctx, user: &UserId) -> Result<Account, AdminError> {
        let mut admins = self.admins.lock().await;
        if admins.1.elapsed() > ADMINS_MAX_AGE {
            *admins = (ctx.accounts.admins().await?, Instant::now());
        }
        Ok(Account {
            admin: admins.0.contains(user.localpart()),
            deactivated: self.deactivated.contains(user.as_str()),
        })
    }
}

async fn run(ctx: &Arc<Ctx>, job_id: i64, resumed: bool) -> Result<(), JobError> {
    let started = Instant::now();
    let place = JobPlace::load(ctx, job_id)?;
    let spec: UsersSpec = place.job.spec()?;
    let requester = place.job.requester.clone();
    let rows = ctx.store.job_rows(job_id)?;
    let total = rows.len();
    let title = format!("Job #{job_id}: {}", spec.op.doing(total));
    let mut tally = Tally::of(&rows);
    let mut first = progress_reply(&title, &tally, total);
    if resumed {
        first = first.line("(resumed after a restart)");
    }
    let open: Vec<JobRow> = rows.into_iter().filter(|r| r.state.is_open()).collect();
    let bulk = match spec.op.bulk_write() {
        Some(write) => match Bulk::read(ctx).await {
            Ok(facts) => Some((write, Arc::new(facts))),
            Err(e) => {
                warn!(
                    job_id,
                    "cannot read the admins and deactivated accounts at once ({e}); looking each account up"
                );
                None
            }
        },
        None => None,
    };
    let stop = Arc::new(AtomicBool::new(cancelled(ctx, job_id)));
    let mut stream = futures_util::stream::iter(open)
        .map(|row| {
            let (ctx, spec, requester) = (ctx.clone(), spec.clone(), requester.clone());
            let (bulk, stop) = (bulk.clone(), stop.clone());
            async move {
                if stop.load(Ordering::Relaxed) {
                    return None;
                }
                let (state, detail) = match bulk {
                    Some((write, facts)) => {
                        apply_bulk(&ctx, &spec, &requester, &row, write, &facts).await
                    }
                    None => apply(&ctx, job_id, &spec, &requester, &row).await,
                };
                Some((row.idx, state, detail))
            }
        })
        .buffer_unordered(IN_FLIGHT);
    // Rows' results are stored a batch at a time: one write to disk for many rows. A restart
    // before a batch is stored does a row again, which every row's work allows (its steps are
    // stored before its writes; a bulk write changes nothing the second time).
    let facts_read = started.elapsed();
    let mut unsaved = Vec::new();
    let mut saved_at = Instant::now();
    // A job that ends within PROGRESS_AFTER gets its summary only: a progress message would be
    // one more message on the admin's phone, and one more send Synapse handles while it works.
    // A resumed job says so at once (in its progress message, if it had one, edited).
    let show_at_once = resumed || place.job.progress_event_id.is_some();
    // Set once the message is on its way: from then on it is finished, never dropped half-sent.
    let sending = AtomicBool::new(show_at_once);
    let mut opening = std::pin::pin!(async {
        if !show_at_once {
            tokio::time::sleep(PROGRESS_AFTER).await;
            sending.store(true, Ordering::Relaxed);
        }
        Progress::open(ctx, &place, &first).await
    });
    let mut opened = None;
    loop {
        let done = tokio::select! {
            p = &mut opening, if opened.is_none() => {
                opened = Some(p);
                continue;
            }
            done = stream.next() => match done {
                Some(done) => done,
                None => break,
            },
        };
        if let Some((idx, state, detail)) = done {
            tally.open = tally.open.saturating_sub(1);
            tally.add(state);
            unsaved.push((idx, state, detail));
        }
        if saved_at.elapsed() >= SAVE_EVERY {
            save_rows(ctx, job_id, &mut unsaved);
            stop.store(cancelled(ctx, job_id), Ordering::Relaxed);
            saved_at = Instant::now();
        }
        if let Some(progress) = opened.as_mut() {
            progress
                .update(&progress_reply(&title, &tally, total))
                .await;
        }
    }
    drop(stream);
    let rows_done = started.elapsed();
    info!(
        job_id,
        facts_ms = facts_read.as_millis(),
        rows_ms = (rows_done - facts_read).as_millis(),
        "users job: rows done"
    );
    let progress = match opened {
        Some(p) => Some(p),
        None if sending.load(Ordering::Relaxed) => Some(opening.await),
        None => None,
    };
    save_rows(ctx, job_id, &mut unsaved);
    let was_cancelled = cancelled(ctx, job_id);
    let rows = ctx.store.job_rows(job_id)?;
    let tally = Tally::of(&rows);
    let summary = summary(job_id, &spec, &rows, &tally, was_cancelled)?;
    let last = progress_reply(&title, &tally, total).line(if was_cancelled {
        "Cancelled."
    } else {
        "Finished."
    });
    // The summary first: it is what the admin waits for.
    let sent = ctx
        .reply(&place.room_id, place.command_event.as_deref(), &summary)
        .await;
    if let Some(mut progress) = progress {
        progress.force(&last).await;
    }
    sent?;
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
        done = tally.done,
        skipped = tally.skipped,
        failed = tally.failed,
        total_ms = started.elapsed().as_millis(),
        "users job finished"
    );
    Ok(())
}

/// Stores the results of the rows done since the last batch.
fn save_rows(ctx: &Ctx, job_id: i64, rows: &mut Vec<(i64, RowState, String)>) {
    if rows.is_empty() {
        return;
    }
    if let Err(e) = ctx.store.set_row_states(job_id, rows) {
        error!(job_id, "cannot store the rows' results: {e}");
    }
    rows.clear();
}

fn cancelled(ctx: &Ctx, job_id: i64) -> bool {
    matches!(ctx.store.job(job_id), Ok(Some(j)) if j.state == JobState::Cancelling)
}

fn outcome_word(state: RowState) -> &'static str {
    match state {
        RowState::Created | RowState::Updated => "done",
        RowState::Skipped | RowState::Invalid => "skipped",
        RowState::Failed => "failed",
        RowState::Pending | RowState::InFlight => "not started",
    }
}

fn summary(
    job_id: i64,
    spec: &UsersSpec,
    rows: &[JobRow],
    t: &Tally,
    was_cancelled: bool,
) -> Result<Reply, JobError> {
    let head = format!(
        "Job #{job_id} {}: {}.",
        if was_cancelled {
            "cancelled"
        } else {
            "finished"
        },
        spec.op.doing(rows.len()).to_lowercase()
    );
    let outcome = if t.failed > 0 || was_cancelled {
        Outcome::Failure
    } else {
        Outcome::Success
    };
    let mut reply = Reply::new(outcome).line(Line::new().bold(head)).list(vec![
        Line::new().text(format!("Done: {}", t.done)),
        Line::new().text(format!("Skipped: {}", t.skipped)),
        Line::new().text(format!("Failed: {}", t.failed)),
    ]);
    if t.open > 0 {
        reply = reply.line(format!("Not started: {}", t.open));
    }
    // One account: every step's result here; many: the first problems, the rest in the file.
    if let [only] = rows {
        reply = reply.line(
            Line::new()
                .code(only.payload.as_str())
                .text(format!(": {}", only.detail)),
        );
    } else {
        let problems: Vec<Line> = rows
            .iter()
            .filter(|r| matches!(r.state, RowState::Failed | RowState::Skipped))
            .take(5)
            .map(|r| {
                Line::new()
                    .code(r.payload.as_str())
                    .text(format!(": {}", crate::text::clip(&r.detail, 100)))
            })
            .collect();
        if !problems.is_empty() {
            reply = reply.list(problems);
        }
    }
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(["user", "outcome", "error", "detail"])?;
    for r in rows {
        let failed = matches!(r.state, RowState::Failed | RowState::Skipped);
        let (error, detail) = if failed {
            (r.detail.as_str(), "")
        } else if r.state.is_open() {
            ("", "")
        } else {
            ("", r.detail.as_str())
        };
        csv.write_record([r.payload.as_str(), outcome_word(r.state), error, detail])?;
    }
    let bytes = csv.into_inner().map_err(|e| JobError::Csv(e.to_string()))?;
    Ok(reply
        .line(
            Line::new()
                .text("Every account: ")
                .code(format!("job-{job_id}-results.csv")),
        )
        .attach(Attachment {
            filename: format!("job-{job_id}-results.csv"),
            mime: "text/csv".into(),
            bytes,
            sensitive: false,
        }))
}

/// One account: its final state and what happened (the reason, for skips and failures).
async fn apply(
    ctx: &Ctx,
    job_id: i64,
    spec: &UsersSpec,
    requester: &str,
    row: &JobRow,
) -> (RowState, String) {
    let Ok(user) = OwnedUserId::try_from(row.payload.as_str()) else {
        return (RowState::Failed, "unreadable user ID".into());
    };
    let mut steps: Steps = if row.state == RowState::InFlight {
        serde_json::from_str(&row.detail).unwrap_or_default()
    } else {
        Steps::default()
    };
    let details = match ctx.accounts.details(&user).await {
        Ok(d) => d,
        Err(e) if e.is_not_found() => return (RowState::Skipped, "no such account".into()),
        Err(e) => return (RowState::Failed, e.to_string()),
    };
    // Our own deactivation may have landed before a restart: that is no reason to refuse.
    let resuming_deactivation = row.state == RowState::InFlight
        && match spec.op {
            UserOp::Offboard { .. } => steps.step >= 3,
            UserOp::Deactivate { .. } => true,
            _ => false,
        };
    if !(resuming_deactivation && details.deactivated)
        && let Some(why) = row_refusal(ctx, spec, requester, &user, (&details).into())
    {
        return (RowState::Skipped, why);
    }
    // From here on the write may land: a restart sends it again (every write here is one
    // whose repeat changes nothing), and an account found already done then counts as done.
    let resumed_row = row.state == RowState::InFlight;
    save(ctx, job_id, row.idx, &steps);
    let result = match &spec.op {
        UserOp::Suspend | UserOp::Lock | UserOp::ShadowBan => set_flag(ctx, &spec.op, &details)
            .await
            .map_err(RowError::from),
        UserOp::Deactivate { .. } if details.deactivated => Ok(None),
        UserOp::Deactivate { erase } => deactivate(ctx, &details, *erase)
            .await
            .map(Some)
            .map_err(RowError::from),
        UserOp::DeleteDevices { devices } => delete_devices(ctx, &details, devices)
            .await
            .map_err(RowError::from),
        UserOp::Notice { text } => ctx
            .admin
            .send(&SendServerNotice {
                txn_id: format!("syndic-job{job_id}-row{}", row.idx),
                user_id: user.to_string(),
                text: text.clone(),
            })
            .await
            .map(|_| Some("notice sent".to_owned()))
            .map_err(RowError::from),
        UserOp::Redact {
            window,
            rooms,
            reason,
        } => redact(
            ctx,
            job_id,
            row.idx,
            &user,
            window,
            rooms,
            reason.clone(),
            &mut steps,
        )
        .await
        .map(Some),
        UserOp::Offboard { erase, window } => offboard(
            ctx, job_id, row.idx, &user, &details, *erase, window, &mut steps,
        )
        .await
        .map(Some),
    };
    match result {
        Ok(Some(done)) => (RowState::Updated, done),
        Ok(None) if resumed_row => (RowState::Updated, spec.op.verb().done.to_owned()),
        Ok(None) => (
            RowState::Skipped,
            format!("already {}", spec.op.verb().done),
        ),
        Err(e) => {
            // A row part-way through its steps keeps them: the error is shown, the steps done stay done.
            if !steps.notes.is_empty() {
                return (
                    RowState::Failed,
                    format!("{} (after: {})", e, steps.notes.join("; ")),
                );
            }
            (RowState::Failed, e.to_string())
        }
    }
}

/// One account of a bulk write: the target rules with [`Bulk`]'s facts, then the write, which a
/// restart may send again (it changes nothing the second time). An account that is not there is
/// Synapse's 404. An account that already had the flag counts as done.
async fn apply_bulk(
    ctx: &Ctx,
    spec: &UsersSpec,
    requester: &str,
    row: &JobRow,
    write: BulkWrite,
    bulk: &Bulk,
) -> (RowState, String) {
    let Ok(user) = OwnedUserId::try_from(row.payload.as_str()) else {
        return (RowState::Failed, "unreadable user ID".into());
    };
    let account = match bulk.account(ctx, &user).await {
        Ok(a) => a,
        Err(e) => return (RowState::Failed, e.to_string()),
    };
    if let Some(why) = row_refusal(ctx, spec, requester, &user, account) {
        return (RowState::Skipped, why);
    }
    let verb = spec.op.verb();
    let user_id = user.to_string();
    let sent = match write {
        BulkWrite::Suspend => ctx
            .admin
            .send(&SuspendUser {
                user_id,
                suspend: true,
            })
            .await
            .map(drop),
        BulkWrite::ShadowBan => ctx
            .admin
            .send(&ShadowBanUser { user_id, ban: true })
            .await
            .map(drop),
    };
    match sent {
        Ok(()) => (RowState::Updated, verb.done.to_owned()),
        Err(e) if e.is_not_found() => (RowState::Skipped, "no such account".into()),
        Err(e) => (RowState::Failed, e.to_string()),
    }
}

/// Why one account's work failed.
#[derive(Debug, thiserror::Error)]
enum RowError {
    #[error(transparent)]
    Admin(#[from] AdminError),
    /// A task Synapse ran for it ended badly.
    #[error("{0}")]
    Task(String),
}

/// Sets a reversible flag; `None` when the account has it already.
async fn set_flag(ctx: &Ctx, op: &UserOp, d: &UserDetails) -> Result<Option<String>, AdminError> {
    let user_id = d.name.clone();
    match op {
        UserOp::Suspend if !d.suspended => {
            ctx.admin
                .send(&SuspendUser {
                    user_id,
                    suspend: true,
                })
                .await?;
        }
        UserOp::Lock if !d.locked => ctx.accounts.set_locked(d, true).await?,
        UserOp::ShadowBan if !d.shadow_banned => {
            ctx.admin
                .send(&ShadowBanUser { user_id, ban: true })
                .await?;
        }
        _ => return Ok(None),
    }
    Ok(Some(op.verb().done.to_owned()))
}

async fn deactivate(ctx: &Ctx, d: &UserDetails, erase: bool) -> Result<String, AdminError> {
    ctx.accounts.deactivate(d, erase).await?;
    Ok(if erase {
        "deactivated and erased".into()
    } else {
        "deactivated".into()
    })
}

/// The devices `choice` names, deleted; `None` when there are none.
async fn delete_devices(
    ctx: &Ctx,
    d: &UserDetails,
    choice: &DeviceChoice,
) -> Result<Option<String>, AdminError> {
    let have = ctx
        .admin
        .send(&ListDevices {
            user_id: d.name.clone(),
        })
        .await?
        .devices;
    let doomed: Vec<String> = have
        .iter()
        .filter(|d| match choice {
            DeviceChoice::All => true,
            DeviceChoice::InactiveBefore(cutoff) => d.last_seen_ts.is_none_or(|ts| ts < *cutoff),
            DeviceChoice::These(ids) => ids.contains(&d.device_id),
        })
        .map(|d| d.device_id.clone())
        .collect();
    if doomed.is_empty() {
        return Ok(Some("no matching devices".into()));
    }
    ctx.accounts.delete_devices(d, &doomed).await?;
    Ok(Some(format!(
        "{} device{} deleted",
        doomed.len(),
        if doomed.len() == 1 { "" } else { "s" }
    )))
}

/// Keeps a row's steps in the store, so a restart picks it up there.
fn save(ctx: &Ctx, job_id: i64, idx: i64, steps: &Steps) {
    let detail = serde_json::to_string(steps).unwrap_or_default();
    if let Err(e) = ctx
        .store
        .set_row_state(job_id, idx, RowState::InFlight, &detail)
    {
        warn!("{e}");
    }
}

/// Starts Synapse's redaction (once: its ID is stored) and follows it to the end.
#[allow(clippy::too_many_arguments)]
async fn redact(
    ctx: &Ctx,
    job_id: i64,
    idx: i64,
    user: &UserId,
    window: &Window,
    rooms: &[String],
    reason: Option<String>,
    steps: &mut Steps,
) -> Result<String, RowError> {
    let mut restarted = false;
    loop {
        let redact_id = match &steps.redact_id {
            Some(id) => id.clone(),
            None => {
                let started = ctx
                    .admin
                    .send(&RedactUser {
                        user_id: user.to_string(),
                        rooms: rooms.to_vec(),
                        reason: reason.clone(),
                        after_ts: window.after_ms,
                        before_ts: window.before_ms,
                    })
                    .await?;
                steps.redact_id = Some(started.redact_id.clone());
                save(ctx, job_id, idx, steps);
                started.redact_id
            }
        };
        match follow_redaction(ctx, &redact_id).await {
            Ok(text) => {
                steps.redact_id = None;
                return Ok(text);
            }
            // Synapse forgot the task (it restarted): once, start it again; redacting what is
            // redacted already changes nothing.
            Err(RowError::Admin(e)) if e.is_not_found() && !restarted => {
                restarted = true;
                steps.redact_id = None;
            }
            Err(e) => return Err(e),
        }
    }
}

async fn follow_redaction(ctx: &Ctx, redact_id: &str) -> Result<String, RowError> {
    let mut delay = Duration::from_millis(300);
    loop {
        let task = ctx
            .admin
            .send(&RedactStatus {
                redact_id: redact_id.to_owned(),
            })
            .await?;
        match task.status.as_str() {
            "complete" => {
                let failed = task.failed_redactions.len();
                return Ok(if failed == 0 {
                    "messages redacted".into()
                } else {
                    format!("messages redacted, {failed} could not be")
                });
            }
            "failed" => {
                return Err(RowError::Task(format!(
                    "Synapse's redaction failed: {}",
                    task.error.unwrap_or_else(|| "no reason given".into())
                )));
            }
            _ => {}
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(5));
    }
}

/// The spam-account playbook, a step at a time, each step stored before the next.
#[allow(clippy::too_many_arguments)]
async fn offboard(
    ctx: &Ctx,
    job_id: i64,
    idx: i64,
    user: &UserId,
    details: &UserDetails,
    erase: bool,
    window: &Window,
    steps: &mut Steps,
) -> Result<String, RowError> {
    if steps.step == 0 {
        // First, so that nothing more is sent while the rest runs.
        if !details.suspended {
            ctx.admin
                .send(&SuspendUser {
                    user_id: user.to_string(),
                    suspend: true,
                })
                .await?;
        }
        steps.notes.push("suspended".into());
        steps.step = 1;
        save(ctx, job_id, idx, steps);
    }
    if steps.step == 1 {
        let text = redact(ctx, job_id, idx, user, window, &[], None, steps).await?;
        steps.notes.push(text);
        steps.step = 2;
        save(ctx, job_id, idx, steps);
    }
    if steps.step == 2 {
        let mut deleted = 0u64;
        loop {
            let batch = ctx
                .admin
                .send(&DeleteUserMedia {
                    user_id: user.to_string(),
                    limit: 100,
                })
                .await?;
            deleted += batch.total;
            if batch.total == 0 {
                break;
            }
        }
        steps.notes.push(format!("{deleted} media deleted"));
        steps.step = 3;
        save(ctx, job_id, idx, steps);
    }
    if steps.step == 3 {
        if !details.deactivated {
            deactivate(ctx, details, erase).await?;
        }
        steps.notes.push(if erase {
            "deactivated and erased".into()
        } else {
            "deactivated".into()
        });
        steps.step = 4;
    }
    Ok(steps.notes.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_goes_where_other_work_would_be_refused() {
        let id = |s: &str| UserId::parse(s).expect("id");
        let (bot, me, admin) = (id("@bot:x"), id("@me:x"), id("@admin:x"));
        let verb = Verb {
            base: "x",
            done: "x",
        };
        let base = TargetFacts {
            verb: &verb,
            target: &admin,
            sender: &me,
            bot: &bot,
            server_name: "x",
            protected: true,
            force: false,
            details: Some(Account {
                admin: true,
                deactivated: false,
            }),
        };
        let notice = UserOp::Notice { text: "hi".into() };
        assert_eq!(refusal(&notice, &base), None);
        assert!(refusal(&UserOp::Suspend, &base).is_some());
        assert!(
            refusal(
                &notice,
                &TargetFacts {
                    target: &bot,
                    ..base
                }
            )
            .is_some()
        );
        let gone = TargetFacts {
            details: Some(Account {
                admin: false,
                deactivated: true,
            }),
            ..base
        };
        assert!(refusal(&notice, &gone).is_some());
    }

    #[test]
    fn offboarding_asks_for_every_permission_it_uses() {
        let p = UserOp::Offboard {
            erase: true,
            window: Window::default(),
        }
        .permissions();
        for needed in [
            Permission::UserDeactivate,
            Permission::UserRedact,
            Permission::MediaDelete,
            Permission::UserErase,
        ] {
            assert!(p.contains(&needed), "{needed}");
        }
    }
}

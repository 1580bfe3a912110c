//! Sets of users for the commands that act on many accounts at once: where the set comes from
//! (users on the command line, one per line in the body or a code block, pills, `--regex`,
//! `--registered-since`, `--inactive`, a CSV file with an `id` column), the refusals, the
//! preview, and the stored job (`crate::jobs::users`) a confirmation starts.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use matrix_sdk::ruma::OwnedUserId;
use serde::{Deserialize, Serialize};

use super::args::{Age, UserArg};
use super::{CommandError, Execute, Planned};
use crate::admin_api::users::ListUsers;
use crate::auth::Permission;
use crate::context::{Ctx, Origin};
use crate::jobs::targets::{Account, TargetFacts};
use crate::jobs::users::{self, UserOp, UsersSpec, refusal};
use crate::report::{Line, Outcome, Reply};
use crate::store::JobState;

/// How many users the preview names; the rest are counted.
const PREVIEW_USERS: usize = 20;
/// How many refusals the preview names.
const PREVIEW_REFUSALS: usize = 10;
/// Lookups in flight while resolving a list.
const LOOKUPS_IN_FLIGHT: usize = 8;

/// The flags that select users by what Synapse knows of them.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub(crate) struct SetFilters {
    /// Every local user whose ID matches this regular expression
    #[arg(long, value_name = "RE")]
    pub(crate) regex: Option<String>,
    /// Every local user registered within this long (2h, 7d)
    #[arg(long, value_name = "AGE")]
    pub(crate) registered_since: Option<Age>,
    /// Every local user not seen for this long (90d)
    #[arg(long, value_name = "AGE")]
    pub(crate) inactive: Option<Age>,
}

impl SetFilters {
    pub(super) fn any(&self) -> bool {
        self.regex.is_some() || self.registered_since.is_some() || self.inactive.is_some()
    }
}

/// Whether the command is about a set (and so previews and runs as a job) rather than one user
/// typed on its line.
pub(super) fn is_set(users: &[UserArg], filters: &SetFilters, origin: &Origin) -> bool {
    users.len() > 1 || filters.any() || !origin.body.trim().is_empty() || origin.file.is_some()
}

/// The refusal of a command given no user at all.
pub(super) fn no_user(verb: &str) -> CommandError {
    CommandError::Refused(format!(
        "Refused: name the user to {verb}, or a set: several users, one per line below the command, --regex, --registered-since, --inactive, or a CSV file with an id column"
    ))
}

/// The users a set names, resolved: those the work will be done to, and those refused (with why).
#[derive(Debug, Default)]
pub(super) struct Resolved {
    pub(super) targets: Vec<OwnedUserId>,
    pub(super) refused: Vec<(String, String)>,
}

/// The users of the message body: one or more per line, separated by spaces or commas; code
/// fences and list bullets are ignored.
fn body_users(body: &str) -> Result<Vec<UserArg>, CommandError> {
    let mut out = Vec::new();
    for (n, line) in body.lines().enumerate() {
        let line = line.trim();
        if line.starts_with("```") {
            continue;
        }
        for word in line.split(|c: char| c.is_whitespace() || c == ',') {
            let word = word.trim_matches(|c: char| c == '`' || c == '"' || c == '\'');
            if word.is_empty() || matches!(word, "-" | "*" | "•") {
                continue;
            }
            let user = word.parse::<UserArg>().map_err(|e| {
                CommandError::Refused(format!("Refused: line {} of the list: {e}", n + 2))
            })?;
            out.push(user);
        }
    }
    Ok(out)
}

/// The users of a CSV file's `id` column.
async fn file_users(ctx: &Ctx, origin: &Origin) -> Result<Vec<UserArg>, CommandError> {
    let Some(file) = &origin.file else {
        return Ok(Vec::new());
    };
    let bytes = ctx
        .chat
        .download(file, ctx.config.import.max_file_size)
        .await?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes.as_slice());
    let bad = |why: String| CommandError::Refused(format!("Refused: the file {why}"));
    let headers = reader
        .headers()
        .map_err(|e| bad(format!("is not CSV ({e})")))?
        .clone();
    let column = headers
        .iter()
        .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case("id"))
        .ok_or_else(|| bad("has no id column".into()))?;
    let mut out = Vec::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.map_err(|e| bad(format!("is not CSV ({e})")))?;
        let Some(cell) = record.get(column).filter(|c| !c.is_empty()) else {
            continue;
        };
        let user = cell
            .parse::<UserArg>()
            .map_err(|e| bad(format!("row {}: {e}", n + 2)))?;
        out.push(user);
    }
    Ok(out)
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .unwrap_or(s)
}

/// Every local account the filters select, with what the rules need to know of it.
async fn filtered(
    ctx: &Ctx,
    filters: &SetFilters,
) -> Result<BTreeMap<OwnedUserId, Account>, CommandError> {
    let regex = match &filters.regex {
        // `--regex '^@spam'` as typed on a shell: the single quotes are not part of it.
        Some(re) => Some(regex::Regex::new(unquote(re)).map_err(|e| {
            let first = e.to_string().lines().last().unwrap_or("").trim().to_owned();
            CommandError::Refused(format!(
                "Refused: --regex {:?} is not a regular expression ({first})",
                crate::text::clip(re, 60)
            ))
        })?),
        None => None,
    };
    let registered_after = filters.registered_since.map(Age::cutoff_ms);
    let seen_before = filters.inactive.map(Age::cutoff_ms);
    let mut found = BTreeMap::new();
    // The admin flag of the accounts' owner (with MAS, Synapse's list says false).
    let admins = ctx.accounts.admins().await?;
    let mut pages = std::pin::pin!(ctx.admin.all_users(ListUsers {
        limit: 500,
        // Locked accounts are in a spam wave too.
        locked: true,
        ..ListUsers::default()
    }));
    while let Some(page) = pages.try_next().await? {
        for u in page.users {
            if u.deactivated || u.is_guest {
                continue;
            }
            if let Some(re) = &regex
                && !re.is_match(&u.name)
            {
                continue;
            }
            if registered_after.is_some_and(|t| !u.registered_since(t))
                || seen_before.is_some_and(|t| !u.inactive_since(t))
            {
                continue;
            }
            if let Ok(id) = OwnedUserId::try_from(u.name.as_str()) {
                let mut account = Account::from(&u);
                account.admin = admins.contains(id.localpart());
                found.insert(id, account);
            }
        }
    }
    Ok(found)
}

/// Resolves the set and sorts it into targets and refusals (the rules of `op`). An empty set, or
/// one whose every user is refused, is an error: nothing would run.
pub(super) async fn resolve(
    ctx: &Ctx,
    origin: &Origin,
    typed: &[UserArg],
    filters: &SetFilters,
    op: &UserOp,
    force: bool,
) -> Result<Resolved, CommandError> {
    let mut listed: Vec<UserArg> = typed.to_vec();
    listed.extend(body_users(&origin.body)?);
    listed.extend(file_users(ctx, origin).await?);
    let server = &ctx.config.server_name;
    let mut known: BTreeMap<OwnedUserId, Option<Account>> = BTreeMap::new();
    if filters.any() {
        for (id, account) in filtered(ctx, filters).await? {
            known.insert(id, Some(account));
        }
    }
    let mut to_look_up = Vec::new();
    for u in &listed {
        let id = u.resolve(server);
        if !known.contains_key(&id) {
            known.insert(id.clone(), None);
            if id.server_name() == server {
                to_look_up.push(id);
            }
        }
    }
    let mut lookups = futures_util::stream::iter(to_look_up)
        .map(|id| async move {
            let got = ctx.accounts.details(&id).await;
            (id, got)
        })
        .buffer_unordered(LOOKUPS_IN_FLIGHT);
    let mut missing = std::collections::BTreeSet::new();
    while let Some((id, got)) = lookups.next().await {
        match got {
            Ok(d) => {
                known.insert(id, Some(Account::from(&d)));
            }
            Err(e) if e.is_not_found() => {
                missing.insert(id);
            }
            Err(e) => return Err(e.into()),
        }
    }
    if known.is_empty() {
        return Err(CommandError::Refused(
            "Refused: no users: name them on the command line, one per line below it, with --regex, --registered-since or --inactive, or in a CSV file with an id column".into(),
        ));
    }
    let verb = op.verb();
    let mut out = Resolved::default();
    for (id, account) in known {
        if missing.contains(&id) {
            out.refused.push((id.to_string(), "no such account".into()));
            continue;
        }
        let facts = TargetFacts::new(ctx, &verb, &id, &origin.sender, force, account);
        match refusal(op, &facts) {
            Some(why) => out.refused.push((id.to_string(), why)),
            None => out.targets.push(id),
        }
    }
    if out.targets.is_empty() {
        let first = out
            .refused
            .first()
            .map(|(_, why)| format!(" ({why})"))
            .unwrap_or_default();
        return Err(CommandError::Refused(format!(
            "Refused: all {} users of the set are refused{first}; nothing to do",
            out.refused.len()
        )));
    }
    if out.targets.len() > ctx.config.max_bulk && !force {
        return Err(CommandError::Refused(format!(
            "Refused: {} users is more than safety.max_bulk ({}); add --force if you mean all of them",
            out.targets.len(),
            ctx.config.max_bulk
        )));
    }
    Ok(out)
}

/// The preview of a set: the count, the first users, the refusals; then the stored job, waiting
/// for its confirmation (or nothing, for `--dry-run`).
pub(super) fn plan_set(
    ctx: &Ctx,
    origin: &Origin,
    op: UserOp,
    resolved: Resolved,
    force: bool,
    dry_run: bool,
    extra: Vec<Line>,
) -> Result<Planned<SetAction>, CommandError> {
    let n = resolved.targets.len();
    let mut preview = Reply::new(Outcome::Pending).line(Line::new().bold(op.doing(n)));
    preview = preview.list(
        resolved
            .targets
            .iter()
            .take(PREVIEW_USERS)
            .map(|u| Line::new().code(u.as_str()))
            .collect(),
    );
    if n > PREVIEW_USERS {
        preview = preview.line(format!("… and {} more.", n - PREVIEW_USERS));
    }
    if !resolved.refused.is_empty() {
        preview = preview.line(format!("Refused, left alone ({}):", resolved.refused.len()));
        preview = preview.list(
            resolved
                .refused
                .iter()
                .take(PREVIEW_REFUSALS)
                .map(|(u, why)| Line::new().code(u.as_str()).text(format!(": {why}")))
                .collect(),
        );
        if resolved.refused.len() > PREVIEW_REFUSALS {
            preview = preview.line(format!(
                "… and {} more refused.",
                resolved.refused.len() - PREVIEW_REFUSALS
            ));
        }
    }
    for line in extra {
        preview = preview.line(line);
    }
    preview = preview.line("Runs as a job, four at a time; the results come as a file.");
    if dry_run {
        return Ok(Planned::DryRun(
            preview.line(Line::new().bold("Dry run: nothing was changed.")),
        ));
    }
    let permissions = op.permissions();
    let job_id = users::create(ctx, origin, &UsersSpec { op, force }, &resolved.targets)?;
    let preview = preview.line(format!("Job #{job_id} starts once confirmed."));
    Ok(Planned::Confirm {
        preview,
        action: SetAction {
            job_id,
            permissions,
        },
    })
}

/// A confirmed set: the stored job to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SetAction {
    job_id: i64,
    permissions: Vec<Permission>,
}

impl Execute for SetAction {
    fn permissions(&self) -> Vec<Permission> {
        self.permissions.clone()
    }

    fn job_id(&self) -> Option<i64> {
        Some(self.job_id)
    }

    async fn execute(self, ctx: &Arc<Ctx>, _: &Origin) -> Result<Reply, CommandError> {
        let id = self.job_id;
        if !ctx
            .store
            .transition_job(id, JobState::AwaitingConfirmation, JobState::Running)?
        {
            return Err(CommandError::Refused(format!(
                "job #{id} was started already or is gone"
            )));
        }
        users::spawn(ctx, id, false);
        Ok(Reply::ok(format!(
            "Job #{id} started; the report follows (and its progress, if it takes a while)."
        )))
    }
}

/// The action of a command that confirms one user's change itself, or starts a set's job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) enum OneOrSet<A> {
    One(A),
    Set(SetAction),
}

impl<A: Execute> Execute for OneOrSet<A> {
    fn permissions(&self) -> Vec<Permission> {
        match self {
            OneOrSet::One(a) => a.permissions(),
            OneOrSet::Set(s) => s.permissions(),
        }
    }

    fn job_id(&self) -> Option<i64> {
        match self {
            OneOrSet::One(a) => a.job_id(),
            OneOrSet::Set(s) => s.job_id(),
        }
    }

    async fn execute(self, ctx: &Arc<Ctx>, origin: &Origin) -> Result<Reply, CommandError> {
        match self {
            OneOrSet::One(a) => a.execute(ctx, origin).await,
            OneOrSet::Set(s) => s.execute(ctx, origin).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_list_reads_lines_commas_bullets_and_code_fences() {
        let users = body_users("```\n@a:x, @b:x\n- c\n* `@d:y`\n```\n\n").expect("list");
        let shown: Vec<String> = users.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["@a:x", "@b:x", "c", "@d:y"]);
    }

    #[test]
    fn a_body_word_that_is_no_user_is_a_one_line_error_naming_its_line() {
        let e = body_users("@a:x\nnot a user!").expect_err("refused");
        assert!(e.to_string().contains("line 3"), "{e}");
    }
}

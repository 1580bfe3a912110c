//! Who owns the accounts, and the account operations routed to it: Synapse alone, or MAS when
//! Synapse delegates authentication to it. Creation, passwords, the admin flag, locks,
//! deactivation, registration tokens and sessions go to the owner; everything else (rooms, media,
//! redaction, suspension, reports, shadow-bans, profiles) stays with Synapse either way, through
//! [`Accounts::synapse`].
//!
//! Commands and jobs call these operations without knowing the back end; what one back end cannot
//! do is an [`AdminError::NotOnBackend`] they show as one line.

use chrono::{DateTime, Utc};
use std::collections::HashSet;

use futures_util::TryStreamExt as _;
use futures_util::future::try_join;
use matrix_sdk::ruma::UserId;

use super::mas::emails::{AddUserEmail, ListUpstreamOAuthLinks, ListUserEmails};
use super::mas::sessions::{
    FinishCompatSession, FinishOAuth2Session, FinishUserSession, GetOAuth2Client,
    ListCompatSessions, ListOAuth2Sessions, ListUserSessions, SessionStatus,
};
use super::mas::site::{GetSiteConfig, GetVersion};
use super::mas::tokens::{
    AddRegistrationToken, ListRegistrationTokens, RevokeRegistrationToken, UserRegistrationToken,
};
use super::mas::users::{
    CreateUser, DeactivateUser as MasDeactivate, GetUserByUsername, ListUsers as MasListUsers,
    LockUser as MasLock, ReactivateUser, SetAdmin as MasSetAdmin, SetPassword as MasSetPassword,
    UnlockUser as MasUnlock, User as MasUser, UserStatus,
};
use super::mas::{MasClient, PageRequest, Resource, Ulid};
use super::moderation::{DeleteDevices, ResetPassword};
use super::server::AuthMetadata;
use super::tokens::{CreateToken, DeleteToken, GetToken, ListTokens, RegistrationToken};
use super::users::{
    DeactivateUser, ListUsers, LockUser, QueryUser, SetServerAdmin, UpsertOutcome, UpsertUser,
    UpsertUserBody, UserDetails, UserListEntry,
};
use super::{AdminClient, AdminError, RetryPolicy};
use crate::config::MasSettings;

/// Most registration tokens, sessions or e-mail addresses read for one answer.
const MAX_LISTED: usize = 1_000;
/// Most admins read from MAS for the target rules (a list cut short is an error, never a guess).
const MAX_ADMINS: usize = 100_000;

/// The back end that owns accounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Synapse,
    Mas,
}

/// Which accounts of a list are admins. Synapse's list carries its own flag; with MAS that flag
/// is false, so MAS's admins are read once for the whole list.
#[derive(Debug, Clone)]
pub(crate) enum ListAdmins {
    Synapse,
    Mas(HashSet<String>),
}

impl ListAdmins {
    pub(crate) fn is_admin(&self, entry: &UserListEntry) -> bool {
        match self {
            ListAdmins::Synapse => entry.admin,
            ListAdmins::Mas(localparts) => UserId::parse(entry.name.as_str())
                .is_ok_and(|id| localparts.contains(id.localpart())),
        }
    }

    /// Whether Synapse's list may be asked for admins only.
    pub(crate) fn synapse_filters(&self) -> bool {
        matches!(self, ListAdmins::Synapse)
    }
}

/// The account operations, each sent to the back end that owns it.
#[derive(Clone, Debug)]
pub(crate) struct Accounts {
    synapse: AdminClient,
    mas: Option<Mas>,
}

#[derive(Clone, Debug)]
struct Mas {
    client: MasClient,
    /// MAS's issuer, as Synapse announces it.
    issuer: String,
}

/// What MAS knows of an account, kept beside Synapse's details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MasAccount {
    pub(crate) id: Ulid,
    pub(crate) username: String,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) locked_at: Option<DateTime<Utc>>,
    pub(crate) deactivated_at: Option<DateTime<Utc>>,
    /// Whether the account may ask for the Synapse admin scope.
    pub(crate) admin: bool,
}

impl MasAccount {
    fn of(user: Resource<MasUser>) -> Self {
        let a = user.attributes;
        MasAccount {
            id: user.id,
            username: a.username,
            created_at: a.created_at,
            locked_at: a.locked_at,
            deactivated_at: a.deactivated_at,
            admin: a.admin,
        }
    }
}

/// A new account: what `!create-user` and an import row give.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NewAccount<'a> {
    pub(crate) user_id: &'a UserId,
    pub(crate) displayname: Option<&'a str>,
    pub(crate) avatar_url: Option<&'a str>,
    pub(crate) password: Option<&'a str>,
    pub(crate) admin: bool,
}

/// A session (MAS): a legacy client's login, an OAuth 2.0 client's, or a browser's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    pub(crate) kind: SessionKind,
    pub(crate) id: Ulid,
    /// The client's name, as far as MAS knows it.
    pub(crate) client: String,
    /// The Matrix device the session holds, if it holds one.
    pub(crate) device: Option<String>,
    pub(crate) created_at: DateTime<Utc>,
    pub(crate) last_active_at: Option<DateTime<Utc>>,
    pub(crate) last_active_ip: Option<String>,
    pub(crate) finished: bool,
}

/// The three kinds of MAS sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
pub(crate) enum SessionKind {
    /// A legacy (`/login`) client's session: compatibility session.
    #[strum(serialize = "compat")]
    Compat,
    /// An OAuth 2.0 (next-gen) client's session.
    #[strum(serialize = "OAuth 2.0")]
    OAuth2,
    /// A browser session on MAS's own pages.
    #[strum(serialize = "browser")]
    Browser,
}

/// What MAS holds about a person beyond the account flags: e-mail addresses and upstream
/// identity links.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MasProfile {
    pub(crate) emails: Vec<String>,
    /// `subject (human name)` per upstream link.
    pub(crate) upstream: Vec<String>,
}

/// Why the bot cannot tell, or cannot reach, the back end that owns the accounts.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BackendError {
    #[error(
        "Synapse delegates accounts to MAS ({issuer}), but bot.toml has no [mas] section: add url, client_id and client_secret_file (README: Running against a server with MAS)"
    )]
    MasNotConfigured { issuer: String },
    #[error(
        "bot.toml has a [mas] section, but Synapse does not delegate accounts to MAS (it serves no /_matrix/client/v1/auth_metadata): remove [mas], or check homeserver.url"
    )]
    NotDelegated,
    #[error("cannot tell whether Synapse delegates accounts to MAS: {0}")]
    Probe(AdminError),
    #[error("MAS's admin API ({url}): {source}")]
    Mas { url: String, source: AdminError },
    #[error("MAS at {url} serves {serves}, not {expected} (homeserver.server_name)")]
    WrongServer {
        url: String,
        serves: String,
        expected: String,
    },
}

impl Accounts {
    /// Finds out who owns the accounts: Synapse announces an authentication server only when it
    /// delegates to MAS, and bot.toml must agree (`[mas]`), else the start stops. With MAS, its
    /// admin API must accept the bot's client credentials and serve this server.
    pub(crate) async fn discover(
        synapse: AdminClient,
        mas: Option<&MasSettings>,
        server_name: &str,
    ) -> Result<Self, BackendError> {
        let issuer = match synapse.send(&AuthMetadata).await {
            Ok(m) => Some(m.issuer),
            Err(e) if e.is_not_found() || e.is_unrecognized() => None,
            Err(e) => return Err(BackendError::Probe(e)),
        };
        let (issuer, settings) = match (issuer, mas) {
            (None, None) => return Ok(Self::synapse_only(synapse)),
            (Some(issuer), None) => return Err(BackendError::MasNotConfigured { issuer }),
            (None, Some(_)) => return Err(BackendError::NotDelegated),
            (Some(issuer), Some(settings)) => (issuer, settings),
        };
        let url = settings.url.to_string();
        let mas_error = |source| BackendError::Mas {
            url: url.clone(),
            source,
        };
        let client = MasClient::new(
            settings.url.clone(),
            settings.client_id.clone(),
            settings.client_secret.expose().to_owned(),
        )
        .map_err(mas_error)?;
        let site = client.send(&GetSiteConfig).await.map_err(mas_error)?;
        if site.server_name != server_name {
            return Err(BackendError::WrongServer {
                url,
                serves: site.server_name,
                expected: server_name.to_owned(),
            });
        }
        Ok(Self::with_mas(synapse, client, issuer))
    }

    /// Accounts owned by Synapse itself.
    pub(crate) fn synapse_only(synapse: AdminClient) -> Self {
        Accounts { synapse, mas: None }
    }

    /// Accounts owned by MAS; `issuer` is what Synapse announces as its authentication server.
    pub(crate) fn with_mas(synapse: AdminClient, mas: MasClient, issuer: String) -> Self {
        Accounts {
            synapse,
            mas: Some(Mas {
                client: mas,
                issuer,
            }),
        }
    }

    /// The same operations with another retry policy (background jobs ride out restarts).
    pub(crate) fn with_retry_policy(&self, retry: RetryPolicy) -> Self {
        Accounts {
            synapse: self.synapse.clone().with_retry_policy(retry),
            mas: self.mas.as_ref().map(|m| Mas {
                client: m.client.clone().with_retry_policy(retry),
                issuer: m.issuer.clone(),
            }),
        }
    }

    pub(crate) fn backend(&self) -> Backend {
        match self.mas {
            None => Backend::Synapse,
            Some(_) => Backend::Mas,
        }
    }

    /// MAS's version (`!ping`); `None` with Synapse.
    pub(crate) async fn mas_version(&self) -> Result<Option<String>, AdminError> {
        match &self.mas {
            None => Ok(None),
            Some(m) => Ok(Some(m.client.send(&GetVersion).await?.version)),
        }
    }

    /// `Synapse` or `MAS (https://auth.example.org/)`, for `!ping` and `check-config`.
    pub(crate) fn describe(&self) -> String {
        match &self.mas {
            None => "Synapse".to_owned(),
            Some(m) => format!("MAS ({})", m.issuer),
        }
    }

    /// The account as its owner has it: Synapse's details; with MAS, the admin flag, the lock and
    /// deactivation are MAS's (Synapse's copies of them decide nothing there).
    pub(crate) async fn details(&self, user: &UserId) -> Result<UserDetails, AdminError> {
        let query = QueryUser {
            user_id: user.to_string(),
        };
        let Some(mas) = &self.mas else {
            return self.synapse.send(&query).await;
        };
        let in_mas = async {
            match mas
                .client
                .send(&GetUserByUsername {
                    username: user.localpart().to_owned(),
                })
                .await
            {
                Ok(found) => Ok(Some(MasAccount::of(found.data))),
                Err(e) if e.is_not_found() => Ok(None),
                Err(e) => Err(e),
            }
        };
        let (mut details, account) = try_join(self.synapse.send(&query), in_mas).await?;
        if let Some(a) = &account {
            details.admin = a.admin;
            details.locked = a.locked_at.is_some();
            details.deactivated |= a.deactivated_at.is_some();
        }
        details.mas = account;
        Ok(details)
    }

    /// The account's MAS ID, or why there is none.
    fn mas_id(d: &UserDetails) -> Result<Ulid, AdminError> {
        d.mas
            .as_ref()
            .map(|a| a.id)
            .ok_or_else(|| AdminError::NotOnBackend {
                what: format!(
                    "{} has no account in MAS (an appservice or system user?); MAS owns logins here",
                    d.name
                ),
            })
    }

    /// Locks (no logins, no requests) or unlocks the account.
    pub(crate) async fn set_locked(&self, d: &UserDetails, locked: bool) -> Result<(), AdminError> {
        match &self.mas {
            None => self
                .synapse
                .send(&LockUser {
                    user_id: d.name.clone(),
                    locked,
                })
                .await
                .map(drop),
            Some(m) => {
                let id = Self::mas_id(d)?;
                if locked {
                    m.client.send(&MasLock { id }).await.map(drop)
                } else {
                    m.client.send(&MasUnlock { id }).await.map(drop)
                }
            }
        }
    }

    /// Deactivates the account; `erase` also erases it (MAS erases unless told not to).
    pub(crate) async fn deactivate(&self, d: &UserDetails, erase: bool) -> Result<(), AdminError> {
        match &self.mas {
            None => self
                .synapse
                .send(&DeactivateUser {
                    user_id: d.name.clone(),
                    erase,
                })
                .await
                .map(drop),
            Some(m) => m
                .client
                .send(&MasDeactivate {
                    id: Self::mas_id(d)?,
                    skip_erase: !erase,
                })
                .await
                .map(drop),
        }
    }

    /// Grants or removes the server-admin flag (with MAS: whether the account may ask for the
    /// Synapse admin scope).
    pub(crate) async fn set_admin(&self, d: &UserDetails, admin: bool) -> Result<(), AdminError> {
        match &self.mas {
            None => self
                .synapse
                .send(&SetServerAdmin {
                    user_id: d.name.clone(),
                    admin,
                })
                .await
                .map(drop),
            Some(m) => m
                .client
                .send(&MasSetAdmin {
                    id: Self::mas_id(d)?,
                    admin,
                })
                .await
                .map(drop),
        }
    }

    /// Sets a new password; `log_out` ends every session (devices) of the account.
    pub(crate) async fn set_password(
        &self,
        d: &UserDetails,
        password: &str,
        log_out: bool,
    ) -> Result<(), AdminError> {
        let Some(m) = &self.mas else {
            return self
                .synapse
                .send(&ResetPassword {
                    user_id: d.name.clone(),
                    new_password: password.to_owned(),
                    logout_devices: log_out,
                })
                .await
                .map(drop);
        };
        m.client
            .send(&set_password(&Self::mas_id(d)?, password))
            .await?;
        if log_out {
            for s in self.sessions(d, true).await? {
                self.end_session(&s).await?;
            }
        }
        Ok(())
    }

    /// Creates an account that does not exist yet. With Synapse the write is the Admin API's
    /// create-or-overwrite, so callers check first and read `created` (201) after; MAS refuses an
    /// existing name (409), and creates in steps: the account, its password, its admin flag.
    pub(crate) async fn create(&self, new: NewAccount<'_>) -> Result<UpsertOutcome, AdminError> {
        if self.mas.is_none() {
            return self
                .synapse
                .send(&UpsertUser {
                    user_id: new.user_id.to_string(),
                    body: UpsertUserBody {
                        password: new.password.map(str::to_owned),
                        displayname: new.displayname.map(str::to_owned),
                        avatar_url: new.avatar_url.map(str::to_owned),
                        admin: Some(new.admin),
                        ..UpsertUserBody::default()
                    },
                })
                .await;
        }
        let id = self.mas_create(new).await?;
        self.finish_mas_creation(&id, new).await?;
        let user = self.details(new.user_id).await?;
        Ok(UpsertOutcome {
            created: true,
            user,
        })
    }

    /// MAS's first step of a creation: the account, without a password (a taken name is a 409,
    /// [`AdminError::is_conflict`]). MAS provisions it in Synapse.
    pub(crate) async fn mas_create(&self, new: NewAccount<'_>) -> Result<Ulid, AdminError> {
        let Some(m) = &self.mas else {
            return Err(AdminError::NotOnBackend {
                what: "accounts are created in one write on Synapse".into(),
            });
        };
        let created = m
            .client
            .send(&CreateUser {
                username: new.user_id.localpart().to_owned(),
                displayname: new.displayname.map(str::to_owned),
                avatar_url: new.avatar_url.map(str::to_owned),
                skip_homeserver_check: false,
            })
            .await?;
        Ok(created.data.id)
    }

    /// Brings a deactivated account back (MAS only: Synapse's own reactivation is part of an
    /// account write with a password).
    pub(crate) async fn reactivate(&self, d: &UserDetails) -> Result<(), AdminError> {
        let Some(m) = &self.mas else {
            return Err(AdminError::NotOnBackend {
                what: "Synapse reactivates an account in an account write with a password".into(),
            });
        };
        m.client
            .send(&ReactivateUser {
                id: Self::mas_id(d)?,
            })
            .await
            .map(drop)
    }

    /// The steps after MAS made the account: its password and its admin flag. Each may be sent
    /// again (a resumed import does).
    pub(crate) async fn finish_mas_creation(
        &self,
        id: &Ulid,
        new: NewAccount<'_>,
    ) -> Result<(), AdminError> {
        let Some(m) = &self.mas else {
            return Ok(());
        };
        if let Some(password) = new.password {
            m.client.send(&set_password(id, password)).await?;
        }
        if new.admin {
            m.client
                .send(&MasSetAdmin {
                    id: *id,
                    admin: true,
                })
                .await?;
        }
        Ok(())
    }

    /// Adds an e-mail address to the account (MAS owns them; with Synapse they are threepids the
    /// caller writes with the account).
    pub(crate) async fn add_email(&self, d: &UserDetails, email: &str) -> Result<(), AdminError> {
        let Some(m) = &self.mas else {
            return Err(AdminError::NotOnBackend {
                what: "e-mail addresses are written with the account on Synapse".into(),
            });
        };
        match m
            .client
            .send(&AddUserEmail {
                user_id: Self::mas_id(d)?,
                email: email.to_owned(),
            })
            .await
        {
            Ok(_) => Ok(()),
            // Already this account's: nothing to add. Someone else's: MAS says so.
            Err(e) if e.is_conflict() => {
                let have = self.profile(d).await?.emails;
                if have.iter().any(|a| a.eq_ignore_ascii_case(email)) {
                    Ok(())
                } else {
                    Err(e)
                }
            }
            Err(e) => Err(e),
        }
    }

    /// E-mail addresses and upstream identities MAS holds for the account (empty with Synapse,
    /// whose threepids and external IDs are in the details).
    pub(crate) async fn profile(&self, d: &UserDetails) -> Result<MasProfile, AdminError> {
        let (Some(m), Some(account)) = (&self.mas, &d.mas) else {
            return Ok(MasProfile::default());
        };
        let emails = ListUserEmails {
            user: Some(account.id),
            email: None,
            page: PageRequest::default(),
        };
        let links = ListUpstreamOAuthLinks {
            user: Some(account.id),
            page: PageRequest::default(),
        };
        let (emails, links) = try_join(
            m.client.all(&emails, MAX_LISTED),
            m.client.all(&links, MAX_LISTED),
        )
        .await?;
        Ok(MasProfile {
            emails: emails
                .items
                .into_iter()
                .map(|e| e.attributes.email)
                .collect(),
            upstream: links
                .items
                .into_iter()
                .map(|l| match l.attributes.human_account_name {
                    Some(name) => format!("{} ({name})", l.attributes.subject),
                    None => l.attributes.subject,
                })
                .collect(),
        })
    }

    /// The account's sessions, newest activity first (MAS only: with Synapse, devices are the
    /// sessions).
    pub(crate) async fn sessions(
        &self,
        d: &UserDetails,
        active_only: bool,
    ) -> Result<Vec<Session>, AdminError> {
        let Some(m) = &self.mas else {
            return Err(AdminError::NotOnBackend {
                what:
                    "this server has no MAS: its sessions are devices (!devices, !delete-devices)"
                        .into(),
            });
        };
        let user = Some(Self::mas_id(d)?);
        let status = active_only.then_some(SessionStatus::Active);
        let page = PageRequest::default();
        let compat = ListCompatSessions { user, status, page };
        let oauth2 = ListOAuth2Sessions { user, status, page };
        let browser = ListUserSessions { user, status, page };
        let (compat, (oauth2, browser)) = try_join(
            m.client.all(&compat, MAX_LISTED),
            try_join(
                m.client.all(&oauth2, MAX_LISTED),
                m.client.all(&browser, MAX_LISTED),
            ),
        )
        .await?;
        let mut out = Vec::new();
        for s in compat.items {
            let a = s.attributes;
            out.push(Session {
                kind: SessionKind::Compat,
                id: s.id,
                client: a
                    .human_name
                    .clone()
                    .or(a.user_agent.clone())
                    .unwrap_or_else(|| "legacy client".into()),
                device: a.device_id,
                created_at: a.created_at,
                last_active_at: a.last_active_at,
                last_active_ip: a.last_active_ip,
                finished: a.finished_at.is_some(),
            });
        }
        let mut client_names = std::collections::HashMap::new();
        for s in oauth2.items {
            let a = s.attributes;
            let name = match client_names.get(&a.client_id) {
                Some(n) => n,
                None => {
                    let name = match m.client.send(&GetOAuth2Client { id: a.client_id }).await {
                        Ok(c) => c.data.attributes.client_name,
                        Err(e) if e.is_not_found() => None,
                        Err(e) => return Err(e),
                    }
                    .unwrap_or_else(|| format!("client {}", a.client_id));
                    client_names.entry(a.client_id).or_insert(name)
                }
            };
            out.push(Session {
                kind: SessionKind::OAuth2,
                id: s.id,
                client: a.human_name.clone().unwrap_or_else(|| name.clone()),
                device: a
                    .scope
                    .split(' ')
                    .find_map(|s| s.strip_prefix("urn:matrix:client:device:"))
                    .map(str::to_owned),
                created_at: a.created_at,
                last_active_at: a.last_active_at,
                last_active_ip: a.last_active_ip,
                finished: a.finished_at.is_some(),
            });
        }
        for s in browser.items {
            let a = s.attributes;
            out.push(Session {
                kind: SessionKind::Browser,
                id: s.id,
                client: a.user_agent.unwrap_or_else(|| "browser".into()),
                device: None,
                created_at: a.created_at,
                last_active_at: a.last_active_at,
                last_active_ip: a.last_active_ip,
                finished: a.finished_at.is_some(),
            });
        }
        out.sort_by(|a, b| {
            b.last_active_at
                .unwrap_or(b.created_at)
                .cmp(&a.last_active_at.unwrap_or(a.created_at))
        });
        Ok(out)
    }

    /// Logs out and deletes devices. With MAS a device is a session's: the sessions holding them
    /// are finished (MAS would otherwise give Synapse the devices back), and a device no session
    /// holds is deleted in Synapse.
    pub(crate) async fn delete_devices(
        &self,
        d: &UserDetails,
        devices: &[String],
    ) -> Result<(), AdminError> {
        let mut left: Vec<String> = devices.to_vec();
        if self.mas.is_some() && d.mas.is_some() {
            for s in self.sessions(d, true).await? {
                if let Some(device) = &s.device
                    && let Some(at) = left.iter().position(|x| x == device)
                {
                    self.end_session(&s).await?;
                    left.remove(at);
                }
            }
        }
        if left.is_empty() {
            return Ok(());
        }
        self.synapse
            .send(&DeleteDevices {
                user_id: d.name.clone(),
                devices: left,
            })
            .await
            .map(drop)
    }

    /// Finishes a session (its device goes with it); `false` when it had already ended.
    pub(crate) async fn end_session(&self, s: &Session) -> Result<bool, AdminError> {
        let Some(m) = &self.mas else {
            return Err(AdminError::NotOnBackend {
                what: "this server has no MAS: its sessions are devices (!delete-devices)".into(),
            });
        };
        let id = s.id;
        let sent = match s.kind {
            SessionKind::Compat => m.client.send(&FinishCompatSession { id }).await.map(drop),
            SessionKind::OAuth2 => m.client.send(&FinishOAuth2Session { id }).await.map(drop),
            SessionKind::Browser => m.client.send(&FinishUserSession { id }).await.map(drop),
        };
        match sent {
            Ok(()) => Ok(true),
            Err(e) if e.is_already_finished() => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The registration tokens, or only those that can still be used.
    pub(crate) async fn tokens(
        &self,
        valid_only: bool,
    ) -> Result<Vec<RegistrationToken>, AdminError> {
        let Some(m) = &self.mas else {
            return Ok(self
                .synapse
                .send(&ListTokens { valid_only })
                .await?
                .registration_tokens);
        };
        let list = ListRegistrationTokens {
            valid: valid_only.then_some(true),
            page: PageRequest::default(),
        };
        let tokens = m.client.all(&list, MAX_LISTED).await?;
        Ok(tokens.items.into_iter().map(from_mas_token).collect())
    }

    /// One registration token, by its text.
    pub(crate) async fn token(&self, token: &str) -> Result<RegistrationToken, AdminError> {
        if self.mas.is_none() {
            return self
                .synapse
                .send(&GetToken {
                    token: token.to_owned(),
                })
                .await;
        }
        self.tokens(false)
            .await?
            .into_iter()
            .find(|t| t.token == token)
            .ok_or_else(|| AdminError::NotFound {
                subject: "that registration token".into(),
                message: "not in MAS".into(),
            })
    }

    /// A new registration token of `length` characters.
    pub(crate) async fn create_token(
        &self,
        uses_allowed: Option<u64>,
        expiry_time_ms: Option<i64>,
        length: u8,
    ) -> Result<RegistrationToken, AdminError> {
        let Some(m) = &self.mas else {
            return self
                .synapse
                .send(&CreateToken {
                    uses_allowed,
                    expiry_time: expiry_time_ms,
                    length,
                })
                .await;
        };
        let usage_limit =
            uses_allowed
                .map(u32::try_from)
                .transpose()
                .map_err(|_| AdminError::NotOnBackend {
                    what: "MAS allows at most 4294967295 uses".into(),
                })?;
        let expires_at = expiry_time_ms.and_then(DateTime::<Utc>::from_timestamp_millis);
        let created = m
            .client
            .send(&AddRegistrationToken {
                token: Some(random_token(length)),
                usage_limit,
                expires_at,
            })
            .await?;
        Ok(from_mas_token(created.data))
    }

    /// Makes a registration token unusable: Synapse deletes it, MAS revokes it (MAS keeps
    /// tokens, revoked).
    pub(crate) async fn delete_token(&self, token: &str) -> Result<(), AdminError> {
        let Some(m) = &self.mas else {
            return self
                .synapse
                .send(&DeleteToken {
                    token: token.to_owned(),
                })
                .await
                .map(drop);
        };
        let found = self.token(token).await?;
        let Some(id) = found.mas_id else {
            return Err(AdminError::NotFound {
                subject: "that registration token".into(),
                message: "not in MAS".into(),
            });
        };
        match m.client.send(&RevokeRegistrationToken { id }).await {
            // Already revoked: what was asked for is so.
            Ok(_) => Ok(()),
            Err(e) if e.is_already_revoked() => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// MAS's minimum password strength (zxcvbn score, 0 to 4); `None` with Synapse, which has its
    /// own password policy settings.
    pub(crate) async fn password_policy(&self) -> Result<Option<u8>, AdminError> {
        match &self.mas {
            None => Ok(None),
            Some(m) => Ok(Some(
                m.client
                    .send(&GetSiteConfig)
                    .await?
                    .minimum_password_complexity,
            )),
        }
    }

    /// The localparts of the server's admins, as the owner of accounts has them: Synapse's admin
    /// flag, or with MAS the accounts that may ask for the admin scope (Synapse's flag says false
    /// there). Two list requests at most, whatever the number of accounts.
    pub(crate) async fn admins(&self) -> Result<HashSet<String>, AdminError> {
        let Some(m) = &self.mas else {
            let mut out = HashSet::new();
            let mut pages = std::pin::pin!(self.synapse.all_users(ListUsers {
                limit: 1_000,
                admins: Some(true),
                deactivated: true,
                locked: true,
                ..ListUsers::default()
            }));
            while let Some(page) = pages.try_next().await? {
                out.extend(page.users.into_iter().filter_map(|u| {
                    UserId::parse(u.name.as_str())
                        .ok()
                        .map(|id| id.localpart().to_owned())
                }));
            }
            return Ok(out);
        };
        let list = MasListUsers {
            admin: Some(true),
            ..MasListUsers::default()
        };
        let admins = m.client.all(&list, MAX_ADMINS).await?;
        if admins.truncated {
            // A rule that reads this list must not miss an admin.
            return Err(AdminError::NotOnBackend {
                what: format!(
                    "MAS lists more than {MAX_ADMINS} admins; the bot will not guess which"
                ),
            });
        }
        Ok(admins
            .items
            .into_iter()
            .map(|u| u.attributes.username)
            .collect())
    }

    /// Who the admins are in a list of Synapse's accounts (one MAS read with MAS, none without).
    pub(crate) async fn list_admins(&self) -> Result<ListAdmins, AdminError> {
        match &self.mas {
            None => Ok(ListAdmins::Synapse),
            Some(_) => self.admins().await.map(ListAdmins::Mas),
        }
    }

    /// How many accounts MAS has, and whether its admin API accepts the bot's credentials
    /// (`check-config`); `None` with Synapse.
    pub(crate) async fn count_mas_users(&self) -> Result<Option<u64>, AdminError> {
        let Some(m) = &self.mas else {
            return Ok(None);
        };
        let page = m
            .client
            .send(
                &MasListUsers {
                    status: Some(UserStatus::Active),
                    page: PageRequest::first(1),
                    ..MasListUsers::default()
                }
                .count_only(),
            )
            .await?;
        Ok(page.count())
    }
}

/// Whether MAS would refuse `password` under a minimum zxcvbn score of `min` (MAS scores
/// passwords with the same estimator).
pub(crate) fn too_weak(password: &str, min: u8) -> bool {
    if min == 0 {
        return false;
    }
    let score = u8::from(zxcvbn::zxcvbn(password, &[]).score());
    score < min
}

/// MAS's set-password request, checked against MAS's policy.
fn set_password(id: &Ulid, password: &str) -> MasSetPassword {
    MasSetPassword {
        id: *id,
        password: zeroize::Zeroizing::new(password.to_owned()),
        skip_check: false,
    }
}

/// A registration token from MAS, in the shape the commands show.
fn from_mas_token(t: Resource<UserRegistrationToken>) -> RegistrationToken {
    let a = t.attributes;
    RegistrationToken {
        token: a.token,
        uses_allowed: a.usage_limit.map(u64::from),
        pending: 0,
        completed: u64::from(a.times_used),
        expiry_time: a.expires_at.map(|at| at.timestamp_millis()),
        revoked: a.revoked_at.is_some(),
        mas_id: Some(t.id),
    }
}

/// `length` random letters and digits.
fn random_token(length: u8) -> String {
    use rand::distr::{Alphanumeric, SampleString};
    Alphanumeric.sample_string(&mut rand::rng(), usize::from(length))
}

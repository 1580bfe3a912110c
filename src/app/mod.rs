//! The composition root, the one layer that may import everything: start-up (login, encryption,
//! rooms, rate limit), the event handlers, the pipeline, the confirmation flow, the scheduler,
//! and shutdown.

mod cards;
mod confirmation;
mod handlers;
mod metrics_server;
mod pipeline;
mod scheduler;
#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::sync::Arc;

use anyhow::{Context as _, bail};
use matrix_sdk::event_handler::EventHandlerHandle;
use matrix_sdk::{Client, RoomState};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::admin_api::AdminClient;
use crate::admin_api::accounts::{Accounts, Backend};
use crate::admin_api::users::{OverrideRatelimit, QueryUser};
use crate::config::Config;
use crate::context::Ctx;
use crate::matrix::chat::MatrixChat;
use crate::matrix::session::{self, Start};
use crate::matrix::sync;
use crate::store::Store;

/// A started bot. Dropping it does not stop it: call [`BotHandle::shutdown`].
/// Puts the roles of a re-read configuration file in force.
#[derive(Clone)]
pub struct RolesReloader {
    ctx: Arc<Ctx>,
}

impl RolesReloader {
    /// Reads the configuration file again and puts its roles in force. A file that does not load
    /// keeps the roles in force and says why; nothing else changes on a reload (rooms, safety and
    /// the homeserver need a restart). The number of roles now in force.
    pub fn reload(&self, path: &std::path::Path) -> Result<usize, crate::config::ConfigError> {
        let config = Config::load(path)?;
        let n = config.roles.len();
        self.ctx.replace_roles(config.roles);
        info!(roles = n, "roles reloaded from {}", path.display());
        Ok(n)
    }
}

pub struct BotHandle {
    ctx: Arc<Ctx>,
    client: Client,
    shutdown: watch::Sender<bool>,
    /// Taken by [`BotHandle::wait`] once it has seen the loop end.
    sync_task: Option<tokio::task::JoinHandle<Result<(), sync::SyncEnd>>>,
    handlers: Vec<EventHandlerHandle>,
    metrics_addr: Option<std::net::SocketAddr>,
}

impl BotHandle {
    /// What reloads the roles while the bot runs (`SIGHUP`).
    pub fn roles_reloader(&self) -> RolesReloader {
        RolesReloader {
            ctx: self.ctx.clone(),
        }
    }

    /// Where `/metrics` and `/health` are served, if they are.
    pub fn metrics_addr(&self) -> Option<std::net::SocketAddr> {
        self.metrics_addr
    }

    /// The bot's Matrix client (its device, its session).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Waits until the sync loop ends (shutdown or a fatal error).
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        let Some(task) = self.sync_task.as_mut() else {
            return Ok(());
        };
        let result = task.await;
        self.sync_task = None;
        result
            .context("the sync task panicked")?
            .map_err(Into::into)
    }

    /// Stops syncing and all work in flight, as a crash would: persisted jobs resume on the next start.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.sync_task {
            let _ = task.await;
        }
        for h in self.handlers {
            self.client.remove_event_handler(h);
        }
        self.ctx.stop_tasks().await;
        info!("stopped");
    }
}

/// Logs in, sets up encryption, joins the admin rooms and starts syncing and handling commands.
pub async fn start(config: Config) -> anyhow::Result<BotHandle> {
    let (client, start) = session::connect(&config).await?;
    let user_id = client
        .user_id()
        .context("no user ID after login")?
        .to_owned();
    let token = client
        .access_token()
        .context("no access token after login")?;
    let admin = AdminClient::new(config.homeserver_url.clone(), token)
        .context("cannot set up the Admin API client")?;

    let accounts = Accounts::discover(
        admin.clone(),
        config.mas.as_ref(),
        config.server_name.as_str(),
    )
    .await?;
    match admin
        .send(&QueryUser {
            user_id: user_id.to_string(),
        })
        .await
    {
        Ok(me) if me.admin => {}
        // With MAS, Synapse's admin flag means nothing: the token's admin scope let the call
        // through (Synapse answers 403 without it).
        Ok(_) if accounts.backend() == Backend::Mas => {}
        Ok(_) => bail!(
            "{user_id} is not a Synapse server admin: make it one (e.g. synadm user modify --admin, or the Admin API) and start again"
        ),
        Err(e) => bail!("cannot use the Admin API as {user_id}: {e}"),
    }
    // Replies must never be lost to Synapse's message rate limit.
    if let Err(e) = admin
        .send(&OverrideRatelimit {
            user_id: user_id.to_string(),
            messages_per_second: 0,
            burst_count: 0,
        })
        .await
    {
        warn!("cannot lift the bot's own message rate limit ({e}); replies may be delayed");
    }

    let mut rooms = HashSet::new();
    for room in &config.rooms {
        let id = admin
            .resolve_room(room)
            .await
            .with_context(|| format!("bot.rooms: cannot resolve {room}"))?;
        rooms.insert(id);
    }

    if start == Start::FreshLogin {
        // A new device must not act on history: one sync to catch up, before any handler exists.
        client
            .sync_once(sync::settings(&client).await)
            .await
            .context("first sync failed")?;
    }
    // Every start until it is marked done: a first start that stopped half-way is finished here.
    session::set_up_identity(&client, &config).await?;

    let store = Store::open(&config.store_path).context("cannot open the bot's state store")?;
    store
        .prune(7 * 24 * 3600)
        .context("cannot prune the state store")?;

    let chat = Arc::new(MatrixChat::new(client.clone()));
    info!(accounts = %accounts.describe(), "accounts are owned by");
    let ctx = Arc::new(Ctx::new(
        config, chat, admin, accounts, store, user_id, rooms,
    ));
    join_admin_rooms(&ctx, &client).await;

    let handlers = handlers::register(&ctx, &client);
    let (shutdown, shutdown_rx) = watch::channel(false);
    let sync_task = tokio::spawn(sync::run(client.clone(), shutdown_rx));
    let unfinished = ctx
        .store
        .unfinished_jobs()
        .context("cannot read unfinished jobs")?;
    crate::jobs::resume_all(&ctx, &unfinished).await;
    scheduler::start(&ctx);
    crate::jobs::inbox::start(&ctx);
    let metrics_addr = match ctx.config.metrics_listen {
        Some(addr) => Some(metrics_server::start(&ctx, addr).await?),
        None => None,
    };
    info!(rooms = ctx.rooms.len(), "ready");
    Ok(BotHandle {
        ctx,
        client,
        shutdown,
        sync_task: Some(sync_task),
        handlers,
        metrics_addr,
    })
}

async fn join_admin_rooms(ctx: &Ctx, client: &Client) {
    for room_id in &ctx.rooms {
        let state = client.get_room(room_id).map(|r| r.state());
        if state == Some(RoomState::Joined) {
            continue;
        }
        match client.join_room_by_id(room_id).await {
            Ok(_) => info!(%room_id, "joined admin room"),
            Err(e) => warn!(%room_id, "cannot join admin room yet ({e}); waiting for an invite"),
        }
    }
}

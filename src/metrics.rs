//! The bot's metrics, recorded where things happen and served as Prometheus text by
//! `app::metrics_server` when `[metrics] listen` is set: commands by name and outcome, bot-side
//! latency, Admin API requests by endpoint and status, retries and 429s, sync failures and the
//! last good sync. Gauges read from the store (jobs, pending confirmations) are added at scrape.
//! One set per process (a bot is one process; the in-process e2e bots share it).

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// Everything recorded.
pub(crate) struct Metrics {
    registry: Registry,
    commands: Family<Labels, Counter>,
    latency: Histogram,
    admin_requests: Family<Labels, Counter>,
    admin_retries: Family<Labels, Counter>,
    sync_failures: Counter,
    last_sync_ms: AtomicI64,
    jobs: Family<Labels, Gauge>,
    pending: Gauge,
    since_sync: Gauge<f64, std::sync::atomic::AtomicU64>,
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// The one set of metrics of this process.
pub(crate) fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("syndic");
        let commands = Family::<Labels, Counter>::default();
        registry.register(
            "commands",
            "Commands handled, by command and decision",
            commands.clone(),
        );
        // 5 ms to about 10 s.
        let latency = Histogram::new([
            0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
        ]);
        registry.register(
            "command_latency_seconds",
            "From the command's server timestamp to the bot's answer being sent",
            latency.clone(),
        );
        let admin_requests = Family::<Labels, Counter>::default();
        registry.register(
            "admin_api_requests",
            "Admin API responses, by endpoint and HTTP status (0: no response)",
            admin_requests.clone(),
        );
        let admin_retries = Family::<Labels, Counter>::default();
        registry.register(
            "admin_api_retries",
            "Admin API retries, by reason (rate_limited, transient)",
            admin_retries.clone(),
        );
        let sync_failures = Counter::default();
        registry.register(
            "sync_failures",
            "Sync requests that failed",
            sync_failures.clone(),
        );
        let jobs = Family::<Labels, Gauge>::default();
        registry.register("jobs", "Stored jobs, by kind and state", jobs.clone());
        let pending = Gauge::default();
        registry.register(
            "pending_confirmations",
            "Previews waiting for their confirmation",
            pending.clone(),
        );
        let since_sync = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "seconds_since_last_sync",
            "Seconds since the last successful sync (-1: none yet)",
            since_sync.clone(),
        );
        Metrics {
            registry,
            commands,
            latency,
            admin_requests,
            admin_retries,
            sync_failures,
            last_sync_ms: AtomicI64::new(0),
            jobs,
            pending,
            since_sync,
        }
    }

    /// A command answered or refused; `sent_at_ms` is the command's server timestamp, if known.
    pub(crate) fn command(&self, name: &str, decision: &str, sent_at_ms: Option<i64>) {
        self.commands
            .get_or_create(&vec![
                ("command", name.to_owned()),
                ("decision", decision.to_owned()),
            ])
            .inc();
        if let Some(sent) = sent_at_ms {
            let secs = (now_ms().saturating_sub(sent)).max(0) as f64 / 1000.0;
            self.latency.observe(secs);
        }
    }

    /// One Admin API response (status 0: none arrived).
    pub(crate) fn admin_request(&self, endpoint: &str, status: u16) {
        self.admin_requests
            .get_or_create(&vec![
                ("endpoint", endpoint.to_owned()),
                ("status", status.to_string()),
            ])
            .inc();
    }

    pub(crate) fn admin_retry(&self, rate_limited: bool) {
        let reason = if rate_limited {
            "rate_limited"
        } else {
            "transient"
        };
        self.admin_retries
            .get_or_create(&vec![("reason", reason.to_owned())])
            .inc();
    }

    pub(crate) fn sync_ok(&self) {
        self.last_sync_ms.store(now_ms(), Ordering::Relaxed);
    }

    pub(crate) fn sync_failed(&self) {
        self.sync_failures.inc();
    }

    /// Seconds since the last successful sync; `None` before the first.
    pub(crate) fn since_last_sync(&self) -> Option<f64> {
        match self.last_sync_ms.load(Ordering::Relaxed) {
            0 => None,
            t => Some(now_ms().saturating_sub(t).max(0) as f64 / 1000.0),
        }
    }

    /// The text exposition, with the store's gauges as given.
    pub(crate) fn render(&self, jobs: &[(String, String, i64)], pending: i64) -> String {
        for (kind, state, n) in jobs {
            self.jobs
                .get_or_create(&vec![("kind", kind.clone()), ("state", state.clone())])
                .set(*n);
        }
        self.pending.set(pending);
        self.since_sync.set(self.since_last_sync().unwrap_or(-1.0));
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

/// An endpoint's path with its variable segments left out, so the label set stays small:
/// `/_synapse/admin/v2/users/@a:x` → `/_synapse/admin/v2/users/{}`.
pub(crate) fn endpoint_label(path: &str) -> String {
    let mut previous = "";
    path.split('/')
        .map(|seg| {
            // A registration token can be any word: never a label, never in a log.
            let token = previous == "registration_tokens" && seg != "new";
            previous = seg;
            let variable = token
                || seg.contains(['@', '!', '#', '$', '%', ':'])
                || seg.chars().any(|c| c.is_ascii_digit()) && !seg.starts_with('v');
            if variable { "{}" } else { seg }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_labels_drop_the_variable_segments() {
        assert_eq!(
            endpoint_label("/_synapse/admin/v2/users/%40a%3Ax/devices"),
            "/_synapse/admin/v2/users/{}/devices"
        );
        assert_eq!(
            endpoint_label("/_synapse/admin/v1/event_reports/12"),
            "/_synapse/admin/v1/event_reports/{}"
        );
        assert_eq!(
            endpoint_label("/_synapse/admin/v1/registration_tokens/onlyletters"),
            "/_synapse/admin/v1/registration_tokens/{}"
        );
        assert_eq!(
            endpoint_label("/_synapse/admin/v1/registration_tokens/new"),
            "/_synapse/admin/v1/registration_tokens/new"
        );
        assert_eq!(
            endpoint_label("/_synapse/admin/v1/server_version"),
            "/_synapse/admin/v1/server_version"
        );
    }

    #[test]
    fn what_is_recorded_is_rendered() {
        let m = Metrics::new();
        m.command("ping", "ran", Some(now_ms()));
        m.admin_request("/_synapse/admin/v1/server_version", 200);
        let text = m.render(&[("users".into(), "done".into(), 2)], 1);
        assert!(
            text.contains("syndic_commands_total{command=\"ping\",decision=\"ran\"} 1"),
            "{text}"
        );
        assert!(
            text.contains("syndic_command_latency_seconds_count 1"),
            "{text}"
        );
        assert!(
            text.contains("syndic_jobs{kind=\"users\",state=\"done\"} 2"),
            "{text}"
        );
        assert!(text.contains("syndic_pending_confirmations 1"), "{text}");
    }
}

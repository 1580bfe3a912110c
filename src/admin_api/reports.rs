//! Report endpoints: event reports (and the reported event), user reports (Synapse 1.152+), and
//! dismissing either.
//!
//! Reference: `docs/admin_api/event_reports.md` and `user_reports.md` in element-hq/synapse.

use reqwest::Method;
use serde::Deserialize;

use super::de::{null_default, opt_string_or_int};
use super::{Endpoint, encode_segment};

/// Which of Synapse's two report lists a report is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportKind {
    Event,
    User,
}

impl ReportKind {
    fn path(self) -> &'static str {
        match self {
            ReportKind::Event => "/_synapse/admin/v1/event_reports",
            ReportKind::User => "/_synapse/admin/v1/user_reports",
        }
    }
}

/// `GET /_synapse/admin/v1/event_reports` or `user_reports`: one page, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListReports {
    pub(crate) kind: ReportKind,
    pub(crate) from: u64,
    pub(crate) limit: u32,
}

/// One report of either list; the event fields are absent for user reports.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ReportEntry {
    pub(crate) id: i64,
    #[serde(default)]
    pub(crate) received_ts: i64,
    /// Who reported.
    #[serde(default)]
    pub(crate) user_id: String,
    #[serde(default)]
    pub(crate) reason: Option<String>,
    /// Event reports: the room, the event, its sender, the room's name.
    #[serde(default)]
    pub(crate) room_id: Option<String>,
    #[serde(default)]
    pub(crate) event_id: Option<String>,
    #[serde(default)]
    pub(crate) sender: Option<String>,
    #[serde(default)]
    pub(crate) name: Option<String>,
    #[serde(default)]
    pub(crate) canonical_alias: Option<String>,
    /// User reports: whom.
    #[serde(default)]
    pub(crate) target_user_id: Option<String>,
}

/// Response of [`ListReports`]; `event_reports` or `user_reports`, whichever was asked.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct ReportPage {
    #[serde(default, alias = "user_reports", deserialize_with = "null_default")]
    pub(crate) event_reports: Vec<ReportEntry>,
    #[serde(default, deserialize_with = "opt_string_or_int")]
    pub(crate) next_token: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub(crate) total: u64,
}

impl Endpoint for ListReports {
    type Response = ReportPage;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        self.kind.path().to_owned()
    }

    fn query(&self) -> Vec<(&'static str, String)> {
        vec![
            ("from", self.from.to_string()),
            ("limit", self.limit.to_string()),
            ("dir", "f".into()),
        ]
    }

    fn subject(&self) -> String {
        "the reports".into()
    }
}

/// `GET /_synapse/admin/v1/event_reports/{id}`: the report with the reported event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventReportDetails {
    pub(crate) id: i64,
}

/// Response of [`EventReportDetails`]: what the card needs beyond the list's fields.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub(crate) struct EventReport {
    #[serde(default)]
    pub(crate) event_json: serde_json::Value,
}

impl Endpoint for EventReportDetails {
    type Response = EventReport;
    const METHOD: Method = Method::GET;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "/_synapse/admin/v1/event_reports/{}",
            encode_segment(&self.id.to_string())
        )
    }

    fn subject(&self) -> String {
        format!("event report {}", self.id)
    }
}

/// `DELETE /_synapse/admin/v1/event_reports/{id}` or `user_reports/{id}`: dismiss it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeleteReport {
    pub(crate) kind: ReportKind,
    pub(crate) id: i64,
}

impl Endpoint for DeleteReport {
    type Response = serde_json::Value;
    const METHOD: Method = Method::DELETE;
    const RETRY_SAFE: bool = true;

    fn path(&self) -> String {
        format!(
            "{}/{}",
            self.kind.path(),
            encode_segment(&self.id.to_string())
        )
    }

    fn subject(&self) -> String {
        format!("report {}", self.id)
    }
}

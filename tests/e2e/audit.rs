//! The audit trail (issue "Trust", B2): every command acted on or refused is one row, `!audit`
//! lists them for `audit.view` only, and `syndic audit verify` finds a row edited in the store.

use crate::support::bot::{Fixture, Spec};
use crate::support::{Human, Synapse};

/// Runs `syndic audit <args> --config <config>`: (success, stdout).
fn syndic_audit(fx: &Fixture, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_syndic"))
        .arg("audit")
        .args(args)
        .arg("--config")
        .arg(&fx.config_path)
        .output()
        .expect("run syndic");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_and_refusals_are_audited_listed_and_a_tampered_row_is_named() {
    let synapse = Synapse::shared();
    let helpdesk = Human::new(synapse, "helpdesk").await;
    let helpdesk_id = helpdesk.user_id();
    let mut fx = Fixture::start_with(
        |_| Spec::default().role("helpdesk", &[&helpdesk_id], &["help", "user.info"]),
        vec![&helpdesk],
    )
    .await;
    let admin_id = fx.admin.user_id();
    let target = fx.plain_user("audited").await;

    let info = fx.ask(&format!("!user {target}")).await;
    assert!(info.body.contains(&target), "{}", info.body);
    let refused = fx
        .ask_as(&helpdesk, &format!("!deactivate {target} --erase"))
        .await;
    assert!(refused.body.starts_with("Refused:"), "{}", refused.body);

    // Both rows, newest first, one line each: when, who, command, decision.
    let listed = fx.ask("!audit").await;
    let lines: Vec<&str> = listed.body.lines().collect();
    let refusal = lines
        .iter()
        .position(|l| {
            l.contains(&format!(" · {helpdesk_id} · deactivate")) && l.ends_with(" · refused")
        })
        .unwrap_or_else(|| panic!("no refusal row in {}", listed.body));
    let lookup = lines
        .iter()
        .position(|l| l.contains(&format!(" · {admin_id} · user ")) && l.ends_with(" · ran"))
        .unwrap_or_else(|| panic!("no lookup row in {}", listed.body));
    assert!(refusal < lookup, "newest first: {}", listed.body);
    assert!(listed.body.contains("(2 rows)"), "{}", listed.body);

    // Filters: the user named in the command line, and the sender.
    let about = fx.ask(&format!("!audit --user {target}")).await;
    assert!(about.body.contains("(2 rows)"), "{}", about.body);
    let by = fx.ask(&format!("!audit --actor {helpdesk_id}")).await;
    assert!(by.body.contains("(1 row)"), "{}", by.body);
    let bad = fx.ask("!audit --command nosuch").await;
    assert!(bad.body.contains("is not a command"), "{}", bad.body);
    let far = fx.ask("!audit --page 18446744073709551615").await;
    assert!(
        far.body.starts_with("No audit rows on page"),
        "{}",
        far.body
    );

    // Without audit.view: refused.
    let denied = fx.ask_as(&helpdesk, "!audit").await;
    assert_eq!(
        denied.body,
        "Refused: your role does not allow this (needs permission audit.view)."
    );

    fx.stop_bot().await;
    let (ok, text) = syndic_audit(&fx, &["verify"]);
    assert!(ok, "{text}");
    assert!(text.contains("ok   audit chain intact"), "{text}");
    let (ok, text) = syndic_audit(&fx, &["export", "--since", "1d"]);
    assert!(ok, "{text}");
    let rows: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert!(rows.len() >= 8, "{text}");
    assert!(rows.iter().all(|r| r["hash"].is_string()), "{text}");

    let db = rusqlite::Connection::open(fx.store.path().join("data").join("syndic.sqlite3"))
        .expect("state db");
    let (id, command, device): (i64, String, Option<String>) = db
        .query_row(
            "SELECT id, command, device FROM audit WHERE sender = ?1 AND decision = 'refused'
             AND command LIKE 'deactivate%'",
            [helpdesk_id.as_str()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .expect("the refusal row");
    assert_eq!(command, format!("deactivate {target} --erase"));
    assert!(device.is_some(), "the sending device is recorded");
    db.execute("UPDATE audit SET command = 'ping' WHERE id = ?1", [id])
        .expect("tamper");
    drop(db);
    let (ok, text) = syndic_audit(&fx, &["verify"]);
    assert!(!ok, "{text}");
    assert!(text.contains(&format!("row #{id} was altered")), "{text}");
}

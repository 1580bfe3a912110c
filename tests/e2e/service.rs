//! Running as a service (issue: fast, small and observable): `/metrics` counts what the bot did,
//! `/health` says whether it can do its work.

use std::time::Duration;

use crate::support::bot::{Fixture, Spec};
use crate::support::synapse::http_client;

/// The value of the first sample line starting with `series` (labels included).
fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(series))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0)
}

async fn get(url: &str) -> (u16, String) {
    match http_client()
        .get(url)
        .timeout(Duration::from_secs(20))
        .send()
        .await
    {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
        Err(e) => (0, e.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_commands_and_health_follows_synapse() {
    let proxy = crate::support::proxy::Proxy::start(&crate::support::Synapse::shared().url()).await;
    let url = proxy.url().clone();
    let fx = Fixture::start(move |_| Spec {
        homeserver_url: Some(url),
        tail: "[metrics]\nlisten = \"127.0.0.1:0\"\n".into(),
        ..Spec::default()
    })
    .await;
    let addr = fx.bot().metrics_addr().expect("metrics are served");
    assert!(addr.ip().is_loopback());
    let metrics = format!("http://{addr}/metrics");
    let health = format!("http://{addr}/health");

    let (status, before) = get(&metrics).await;
    assert_eq!(status, 200, "{before}");
    let ping = "syndic_commands_total{command=\"ping\",decision=\"ran\"}";
    let pings_before = sample(&before, ping);
    let reply = fx.ask("!ping").await;
    assert!(reply.body.contains("Synapse"), "{}", reply.body);
    let (_, after) = get(&metrics).await;
    assert!(
        sample(&after, ping) >= pings_before + 1.0,
        "the !ping is counted: {after}"
    );
    assert!(
        after.contains("syndic_admin_api_requests_total{endpoint=\"/_synapse/admin/v1/server_version\",status=\"200\"}"),
        "{after}"
    );
    assert!(
        after.contains("syndic_command_latency_seconds_bucket"),
        "{after}"
    );
    assert!(after.contains("syndic_seconds_since_last_sync"), "{after}");
    let (status, body) = get(&health).await;
    assert_eq!((status, body.as_str()), (200, "ok\n"));

    // Synapse unreachable: unhealthy, with why; healthy again once it answers.
    proxy.cut();
    let (status, body) = get(&health).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.starts_with("unhealthy: "), "{body}");
    proxy.restore();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    loop {
        let (status, _) = get(&health).await;
        if status == 200 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "healthy again after the outage"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let (status, _) = get(&format!("http://{addr}/nothing")).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_puts_new_roles_in_force_and_a_bad_file_keeps_them() {
    let synapse = crate::support::Synapse::shared();
    let helpdesk = crate::support::Human::new(synapse, "reload-helpdesk").await;
    let helpdesk_id = helpdesk.user_id();
    let fx = Fixture::start_with(
        |_| Spec::default().role("helpdesk", &[&helpdesk_id], &["help"]),
        vec![&helpdesk],
    )
    .await;
    let target = fx.plain_user("reload-target").await;
    let refused = fx.ask_as(&helpdesk, &format!("!whois {target}")).await;
    assert!(
        refused.body.contains("needs permission user.whois"),
        "{}",
        refused.body
    );
    let reloader = fx.bot().roles_reloader();
    let text = std::fs::read_to_string(&fx.config_path).expect("config");
    let widened = text.replace("allow = [\"help\"]", "allow = [\"help\", \"user.whois\"]");
    assert_ne!(text, widened);
    std::fs::write(&fx.config_path, &widened).expect("write");
    assert_eq!(reloader.reload(&fx.config_path).expect("reloaded"), 2);
    let allowed = fx.ask_as(&helpdesk, &format!("!whois {target}")).await;
    assert!(
        !allowed.body.contains("needs permission"),
        "{}",
        allowed.body
    );

    // A broken file: refused with the line to fix; the roles in force stay.
    std::fs::write(
        &fx.config_path,
        widened.replace("user.whois", "user.whoami"),
    )
    .expect("write");
    let e = reloader.reload(&fx.config_path).expect_err("bad file");
    assert!(e.to_string().contains("unknown permission"), "{e}");
    let still = fx.ask_as(&helpdesk, &format!("!whois {target}")).await;
    assert!(!still.body.contains("needs permission"), "{}", still.body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_and_hold_no_password() {
    let fx = Fixture::prepare(|_| Spec {
        tail: "[log]\nformat = \"json\"\n".into(),
        ..Spec::default()
    })
    .await;
    let text = std::fs::read_to_string(&fx.config_path).expect("config");
    let real = fx.bot_user.password.clone();
    assert!(text.contains(&real));
    let wrong = "wrong-password-that-must-not-be-logged-4711";
    let bad = fx.config_path.with_file_name("wrong-password.toml");
    std::fs::write(&bad, text.replace(&real, wrong)).expect("write");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_syndic"))
            .args(["run", "--config"])
            .arg(&bad)
            .output()
            .expect("run syndic")
    })
    .await
    .expect("join");
    assert!(!out.status.success(), "a wrong password cannot start");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains(wrong),
        "the password is never logged: {stderr}"
    );
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines.iter().any(|l| l["level"] == "ERROR"
            && l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("cannot start"))),
        "{stderr}"
    );
}

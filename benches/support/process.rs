//! The bot under measurement: `syndic run` as a separate process (the release binary), its log,
//! and what `/proc` says about its memory and CPU time.
//!
//! A [`BotProcess`] is stopped (SIGTERM, then SIGKILL) when it is dropped, also while a panic
//! unwinds. Where `setpriv` exists the bot is started through it with `--pdeathsig TERM`
//! (`setpriv` execs, so the PID is the bot's), so the bot also ends if the benchmark is killed.

use std::ffi::OsStr;
use std::fs::{self, File};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The log line that says the bot is up (`info!(rooms = …, "ready")` in `src/app/mod.rs`), in
/// the text and the JSON log format.
const READY_MARKS: [&str; 2] = [": ready", "\"message\":\"ready\""];

/// A running `syndic run --config <path>`.
pub struct BotProcess {
    child: Child,
    /// When `spawn` was called.
    pub started: Instant,
    ready: Option<tokio::sync::oneshot::Receiver<Instant>>,
    ready_at: Option<Instant>,
    log_path: PathBuf,
    stopped: bool,
}

impl BotProcess {
    /// Starts the bot, appending its stdout and stderr to `log_path`.
    pub fn spawn(bin: &Path, config: &Path, log_path: &Path) -> BotProcess {
        Self::spawn_program(
            bin,
            &["run".as_ref(), "--config".as_ref(), config.as_os_str()],
            &[],
            log_path,
        )
    }

    /// Starts any bot that says `: ready` on stderr when it is (the comparison bots), with extra
    /// environment variables, appending its stdout and stderr to `log_path`.
    pub fn spawn_program(
        bin: &Path,
        args: &[&OsStr],
        envs: &[(&str, &str)],
        log_path: &Path,
    ) -> BotProcess {
        let mut log = File::options()
            .create(true)
            .append(true)
            .open(log_path)
            .unwrap_or_else(|e| panic!("opening {}: {e}", log_path.display()));
        let shown: Vec<_> = args.iter().map(|a| a.to_string_lossy()).collect();
        let _ = writeln!(log, "----- {} {}", bin.display(), shown.join(" "));
        let stdout = log.try_clone().expect("duplicating the log handle");
        let mut command = if Path::new("/usr/bin/setpriv").exists() {
            let mut c = Command::new("/usr/bin/setpriv");
            c.args(["--pdeathsig", "TERM", "--"]).arg(bin);
            c
        } else {
            Command::new(bin)
        };
        command
            .args(args)
            .envs(envs.iter().copied())
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped());
        let started = Instant::now();
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", bin.display()));
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, rx) = tokio::sync::oneshot::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            let mut reader = BufReader::new(stderr);
            let mut line = Vec::new();
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                let text = String::from_utf8_lossy(&line);
                if READY_MARKS.iter().any(|m| text.contains(m))
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(Instant::now());
                }
                let _ = log.write_all(&line);
                line.clear();
            }
        });
        BotProcess {
            child,
            started,
            ready: Some(rx),
            ready_at: None,
            log_path: log_path.to_owned(),
            stopped: false,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the "ready" log line; returns the time from spawn to it.
    pub async fn wait_ready(&mut self, timeout: Duration) -> Duration {
        if let Some(at) = self.ready_at {
            return at - self.started;
        }
        let mut rx = self.ready.take().expect("ready is awaited once");
        let deadline = Instant::now() + timeout;
        loop {
            match tokio::time::timeout(Duration::from_millis(200), &mut rx).await {
                Ok(Ok(at)) => {
                    self.ready_at = Some(at);
                    return at - self.started;
                }
                Ok(Err(_)) => panic!(
                    "the bot's log ended before it was ready; last lines of {}:\n{}",
                    self.log_path.display(),
                    self.log_tail(30)
                ),
                Err(_) => {}
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "the bot exited ({status}) before it was ready; last lines of {}:\n{}",
                    self.log_path.display(),
                    self.log_tail(30)
                );
            }
            assert!(
                Instant::now() < deadline,
                "the bot was not ready within {timeout:?}; last lines of {}:\n{}",
                self.log_path.display(),
                self.log_tail(30)
            );
        }
    }

    /// Resident memory now, its peak and what it is made of.
    pub fn memory(&self) -> Memory {
        let status = fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("reading the bot's /proc/<pid>/status");
        let field = |key: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no {key} in /proc/{}/status", self.pid()))
        };
        Memory {
            rss_kib: field("VmRSS:"),
            hwm_kib: field("VmHWM:"),
            anon_kib: field("RssAnon:"),
            file_kib: field("RssFile:"),
            threads: field("Threads:"),
        }
    }

    /// Resets the peak (`VmHWM`) to the current RSS (`echo 5 > /proc/<pid>/clear_refs`).
    /// Returns false if the kernel refused.
    pub fn reset_peak(&self) -> bool {
        fs::write(format!("/proc/{}/clear_refs", self.pid()), "5").is_ok()
    }

    /// CPU time used so far (user + system, all threads), in clock ticks.
    pub fn cpu_ticks(&self) -> u64 {
        let stat = fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .expect("reading the bot's /proc/<pid>/stat");
        // Fields after the command name (which may contain spaces) start at field 3 (state);
        // utime and stime are fields 14 and 15.
        let rest = &stat[stat.rfind(')').expect("a stat line") + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |n: usize| -> u64 { fields[n - 3].parse().expect("a number in stat") };
        field(14) + field(15)
    }

    /// SIGTERM, then waits for the exit (SIGKILL after 15 s). Returns how long the exit took.
    pub fn stop(&mut self) -> Duration {
        let asked = Instant::now();
        if self.stopped {
            return Duration::ZERO;
        }
        self.stopped = true;
        if let Ok(None) = self.child.try_wait() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.pid().to_string()])
                .stderr(Stdio::null())
                .status();
            let deadline = asked + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = self.child.try_wait() {
                    return asked.elapsed();
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            eprintln!("the bot did not exit within 15 s of SIGTERM; killing it");
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        asked.elapsed()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let text = fs::read_to_string(&self.log_path).unwrap_or_default();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Memory of a process from `/proc/<pid>/status`, in KiB, and its thread count.
#[derive(Clone, Copy, Debug)]
pub struct Memory {
    /// `VmRSS`: resident now.
    pub rss_kib: u64,
    /// `VmHWM`: peak resident.
    pub hwm_kib: u64,
    /// `RssAnon`: heap, stacks (the part the bot's data structures use).
    pub anon_kib: u64,
    /// `RssFile`: mapped files, mostly the binary's own code.
    pub file_kib: u64,
    pub threads: u64,
}

/// Clock ticks per second for `/proc/<pid>/stat` (`getconf CLK_TCK`, else 100).
pub fn clock_ticks_per_second() -> u64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100)
}

/// CPU time (user + system, all threads) of a process so far, in clock ticks; 0 if it is gone.
pub fn process_ticks(pid: u32) -> u64 {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0;
    };
    let Some(end) = stat.rfind(')') else {
        return 0;
    };
    let fields: Vec<u64> = stat[end + 1..]
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // utime and stime are fields 14 and 15; the list starts at field 3.
    fields.get(11).copied().unwrap_or(0) + fields.get(12).copied().unwrap_or(0)
}

/// Busy CPU time of the whole machine so far (all CPUs), in clock ticks (`/proc/stat`).
fn machine_busy_ticks() -> u64 {
    let stat = fs::read_to_string("/proc/stat").unwrap_or_default();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal: all but idle and iowait.
    [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| fields.get(i))
        .sum()
}

/// How busy the rest of the machine was during a measurement: CPU time used by processes other
/// than the measured ones (Synapse, the bot, the benchmark itself), in cores. On a shared machine
/// this says how far a figure is from one measured on an idle one.
pub struct OtherLoad {
    pids: Vec<u32>,
    busy: u64,
    ours: u64,
    started: Instant,
}

impl OtherLoad {
    /// Starts counting; `pids` are the measured processes (the benchmark's own is added).
    pub fn start(pids: &[u32]) -> OtherLoad {
        let mut pids = pids.to_vec();
        pids.push(std::process::id());
        pids.sort_unstable();
        pids.dedup();
        let ours = pids.iter().map(|&p| process_ticks(p)).sum();
        OtherLoad {
            pids,
            busy: machine_busy_ticks(),
            ours,
            started: Instant::now(),
        }
    }

    /// Cores used by other processes on average since `start`.
    pub fn cores(&self) -> f64 {
        let busy = machine_busy_ticks().saturating_sub(self.busy);
        let ours: u64 = self.pids.iter().map(|&p| process_ticks(p)).sum();
        let others = busy.saturating_sub(ours.saturating_sub(self.ours));
        others as f64 / clock_ticks_per_second() as f64 / self.started.elapsed().as_secs_f64()
    }
}

/// Synapse's process and its watchdog: every process whose command line names Synapse's
/// directory (the one holding its log; the bot's config is in there too).
pub fn synapse_pids(log_path: &Path) -> Vec<u32> {
    let Some(dir) = log_path.parent().map(|d| d.display().to_string()) else {
        return Vec::new();
    };
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&dir))
        })
        .collect()
}

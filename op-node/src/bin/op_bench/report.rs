//! One benchmark result and the two lines it prints.

use super::workload::Workload;
use std::{fmt, time::Duration};

/// How the transactions reach the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// The engine alone: senders already recovered, blocks built and committed back to back.
    Serial,
    /// The node binary: signed transactions in through JSON-RPC, sealed blocks out.
    E2e,
    /// Verifier sync: the blocks of a serial run, posted as compressed batches on a made-up
    /// L1, derived and executed by a second chain (sender recovery included).
    Derive,
}

impl Mode {
    /// The name printed in results.
    pub fn name(self) -> &'static str {
        match self {
            Self::Serial => "serial",
            Self::E2e => "e2e",
            Self::Derive => "derive",
        }
    }
}

/// The result of one run.
#[derive(Debug)]
pub struct Report {
    /// What was sent.
    pub workload: Workload,
    /// How.
    pub mode: Mode,
    /// Funded sender accounts.
    pub accounts: usize,
    /// Timed transactions.
    pub txs: usize,
    /// Gas the timed transactions used.
    pub gas: u64,
    /// The timed span.
    pub elapsed: Duration,
    /// Latency samples in milliseconds (per block in serial mode, per transaction in e2e).
    pub latencies_ms: Vec<f64>,
    /// Named stages and their times in milliseconds.
    pub stages: Vec<(&'static str, f64)>,
    /// What the stage figures mean and how the run was set up.
    pub stages_note: String,
}

impl Report {
    /// Transactions per second over the timed span.
    pub fn tps(&self) -> f64 {
        self.txs as f64 / self.elapsed.as_secs_f64()
    }

    /// Millions of gas per second over the timed span.
    pub fn mgas_per_s(&self) -> f64 {
        self.gas as f64 / 1e6 / self.elapsed.as_secs_f64()
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sorted = self.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        writeln!(
            f,
            "workload={} mode={} accounts={} tps={:.0} mgas_per_s={:.1} p50_ms={:.1} p99_ms={:.1}",
            self.workload.name(),
            self.mode.name(),
            self.accounts,
            self.tps(),
            self.mgas_per_s(),
            percentile(&sorted, 50.0),
            percentile(&sorted, 99.0),
        )?;
        write!(f, "stages:")?;
        for (name, ms) in &self.stages {
            write!(f, " {name}={ms:.2}")?;
        }
        write!(f, " ({})", self.stages_note)
    }
}

/// Nearest-rank percentile of sorted samples (0 when there are none).
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// CPU time (user and system, every thread) this process has used so far, from
/// `/proc/self/stat` (in clock ticks of 10 ms, Linux's `CLK_TCK` of 100); zero where it cannot
/// be read. Beside wall time it shows what a run cost when other work shares the cores.
pub fn process_cpu() -> Duration {
    cpu_of_stat(&std::fs::read_to_string("/proc/self/stat").unwrap_or_default())
}

/// CPU time the calling thread has used so far, read as [`process_cpu`] is.
pub fn current_thread_cpu() -> Duration {
    cpu_of_stat(&std::fs::read_to_string("/proc/thread-self/stat").unwrap_or_default())
}

/// CPU time process `pid` (all its threads) has used so far, read as [`process_cpu`] is;
/// zero if it cannot be read.
pub fn pid_cpu(pid: u32) -> Duration {
    cpu_of_stat(&std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default())
}

/// CPU time the threads named `name` (all of them, in this process) have used so far, read as
/// [`process_cpu`] is.
pub fn thread_cpu(name: &str) -> Duration {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return Duration::ZERO;
    };
    let mut total = Duration::ZERO;
    for task in tasks.flatten() {
        let comm = std::fs::read_to_string(task.path().join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let stat = std::fs::read_to_string(task.path().join("stat")).unwrap_or_default();
        total += cpu_of_stat(&stat);
    }
    total
}

/// utime + stime of one `/proc/.../stat` line.
fn cpu_of_stat(stat: &str) -> Duration {
    // Fields after the command name (which may hold spaces) follow its ") ".
    let Some(rest) = stat.rsplit_once(") ").map(|(_, rest)| rest) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the name.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

/// The 1-minute load average (runnable tasks), to note beside a figure.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
}

/// Milliseconds in a duration.
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank() {
        let samples: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&samples, 50.0), 50.0);
        assert_eq!(percentile(&samples, 99.0), 99.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 50.0), 0.0);
    }
}

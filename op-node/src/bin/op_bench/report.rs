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

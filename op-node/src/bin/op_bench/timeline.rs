//! Where an end-to-end run's inclusion latency went: each transaction's path from op-bench's
//! send to op-bench seeing it, split at the points the node logs for each block (target
//! `sequencer::timeline`: its tick, opening, close, seal, and durability), and the blocks' own
//! figures (slip behind the tick, backlog, build split).
//!
//! The node's times are wall-clock milliseconds; both processes run on one machine, so one
//! clock places them on op-bench's.

use super::report::percentile;
use std::{
    collections::HashMap,
    path::Path,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// Milliseconds since the Unix epoch now.
pub fn unix_now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1e3
}

/// One L2 block's line of the node's log.
#[derive(Debug, Clone, Default)]
pub struct BlockTimeline {
    /// Its number.
    pub number: u64,
    /// Transactions it holds.
    pub txs: f64,
    /// Executable pool transactions its build was offered.
    pub backlog: f64,
    /// Waiting for the previous block's report before it opened, ms.
    pub report_wait_ms: f64,
    /// The derivation step before it opened, ms.
    pub derive_ms: f64,
    /// Transactions fixed behind the tick, ms.
    pub slip_ms: f64,
    /// The engine's split of the build, ms.
    pub execute_ms: f64,
    /// The state root, ms.
    pub root_ms: f64,
    /// Sealing after the root, ms.
    pub seal_ms: f64,
    /// Staging the append and moving the warm state, ms.
    pub stage_ms: f64,
    /// Handed to the appender until durable, ms.
    pub append_ms: f64,
    /// Wall-clock times (ms since the epoch): the tick, build start, closed, sealed, durable.
    pub tick: f64,
    /// Build start (or the opening of a block that takes transactions as they arrive).
    pub opened: f64,
    /// Its transactions fixed: the build's start, or the close of an open block.
    pub closed: f64,
    /// Sealed in memory.
    pub sealed: f64,
    /// Durable and reported.
    pub durable: f64,
}

/// The L2's block timelines in the node's log at `path` (none for a node that does not log
/// them).
pub fn read_log(path: &Path) -> HashMap<u64, BlockTimeline> {
    let log = std::fs::read_to_string(path).unwrap_or_default();
    log.lines()
        .filter(|line| line.contains("block timeline") && line.contains("chain=L2"))
        .filter_map(parse_line)
        .map(|b| (b.number, b))
        .collect()
}

fn parse_line(line: &str) -> Option<BlockTimeline> {
    let fields: HashMap<&str, &str> = line
        .split_whitespace()
        .filter_map(|f| f.split_once('='))
        .collect();
    let f = |name: &str| fields.get(name).and_then(|v| v.parse::<f64>().ok());
    Some(BlockTimeline {
        number: fields.get("number")?.parse().ok()?,
        txs: f("txs")?,
        backlog: f("backlog")?,
        report_wait_ms: f("report_wait_ms").unwrap_or(0.0),
        derive_ms: f("derive_ms").unwrap_or(0.0),
        slip_ms: f("slip_ms")?,
        execute_ms: f("execute_ms")?,
        root_ms: f("root_ms")?,
        seal_ms: f("seal_ms")?,
        stage_ms: f("stage_ms")?,
        append_ms: f("append_ms")?,
        tick: f("tick_unix_ms")?,
        opened: f("opened_unix_ms")?,
        closed: f("closed_unix_ms")?,
        sealed: f("sealed_unix_ms")?,
        durable: f("durable_unix_ms")?,
    })
}

/// One transaction's path: batch sent, batch answered, the block that holds it, seen.
#[derive(Debug, Clone, Copy)]
pub struct TxPath {
    /// Its batch was sent.
    pub sent: Instant,
    /// Its batch was answered (it was admitted by then).
    pub answered: Instant,
    /// The block it is in.
    pub block: u64,
    /// op-bench's poller saw that block.
    pub seen: Instant,
}

/// The stage figures of a run: per transaction, p50 and p99 of send→answered (`admit`),
/// answered→its block closed (`pool`: the wait for the tick; the block's transactions are
/// fixed then), closed→sealed (`build`), sealed→durable (`durable`) and durable→seen
/// (`seen`); per block of the run, the largest tick slip, backlog, execute, state root and
/// close-to-sealed time. Empty when the log holds no timelines. `anchor` is an instant and the
/// wall-clock time then.
pub fn stages(
    txs: &[TxPath],
    blocks: &HashMap<u64, BlockTimeline>,
    anchor: (Instant, f64),
) -> Vec<(&'static str, f64)> {
    if blocks.is_empty() {
        return Vec::new();
    }
    let wall = |at: Instant| -> f64 {
        let (base, base_ms) = anchor;
        match at.checked_duration_since(base) {
            Some(d) => base_ms + ms(d),
            None => base_ms - ms(base.saturating_duration_since(at)),
        }
    };
    let mut split: [Vec<f64>; 5] = Default::default();
    let mut used: Vec<u64> = Vec::new();
    for tx in txs {
        let Some(b) = blocks.get(&tx.block) else {
            continue;
        };
        let (sent, answered, seen) = (wall(tx.sent), wall(tx.answered), wall(tx.seen));
        for (i, d) in [
            answered - sent,
            b.closed - answered,
            b.sealed - b.closed,
            b.durable - b.sealed,
            seen - b.durable,
        ]
        .into_iter()
        .enumerate()
        {
            split[i].push(d);
        }
        used.push(tx.block);
    }
    for s in &mut split {
        s.sort_by(f64::total_cmp);
    }
    used.sort_unstable();
    used.dedup();
    let timed: Vec<&BlockTimeline> = used.iter().filter_map(|n| blocks.get(n)).collect();
    let max = |f: fn(&BlockTimeline) -> f64| timed.iter().map(|b| f(b)).fold(0.0, f64::max);
    let names = [
        ("tx_admit_p50", "tx_admit_p99"),
        ("tx_pool_p50", "tx_pool_p99"),
        ("tx_build_p50", "tx_build_p99"),
        ("tx_durable_p50", "tx_durable_p99"),
        ("tx_seen_p50", "tx_seen_p99"),
    ];
    let mut out = Vec::new();
    for ((p50, p99), s) in names.into_iter().zip(&split) {
        out.push((p50, percentile(s, 50.0)));
        out.push((p99, percentile(s, 99.0)));
    }
    out.extend([
        ("blk_slip_max", max(|b| b.slip_ms)),
        ("blk_derive_max", max(|b| b.derive_ms)),
        ("blk_backlog_max", max(|b| b.backlog)),
        ("blk_execute_max", max(|b| b.execute_ms)),
        ("blk_root_max", max(|b| b.root_ms)),
        ("blk_close_to_sealed_max", max(|b| b.sealed - b.closed)),
        ("blk_durable_max", max(|b| b.durable - b.sealed)),
    ]);
    out
}

/// The run's blocks, one line each, for the log (stderr).
pub fn describe(blocks: &HashMap<u64, BlockTimeline>, numbers: &[u64]) -> String {
    let mut out = String::from(
        "block txs backlog report_wait_ms derive_ms open_ms slip_ms execute_ms root_ms seal_ms \
         stage_ms append_ms tick_gap_ms\n",
    );
    let mut previous_tick: Option<f64> = None;
    for n in numbers {
        let Some(b) = blocks.get(n) else { continue };
        out.push_str(&format!(
            "{} {:.0} {:.0} {:.1} {:.1} {:.1} {:.1} {:.1} {:.1} {:.1} {:.1} {:.1} {:.1}\n",
            b.number,
            b.txs,
            b.backlog,
            b.report_wait_ms,
            b.derive_ms,
            b.closed - b.opened,
            b.slip_ms,
            b.execute_ms,
            b.root_ms,
            b.seal_ms,
            b.stage_ms,
            b.append_ms,
            previous_tick.map_or(0.0, |t| b.tick - t),
        ));
        previous_tick = Some(b.tick);
    }
    out
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::parse_line;

    #[test]
    fn reads_a_logged_timeline() {
        let line = "2026-12-05T06:30:00.123456Z DEBUG sequencer::timeline: block timeline \
                    chain=L2 number=7 txs=5556 backlog=5600 slip_ms=0.25 execute_ms=40.5 \
                    root_ms=60.1 seal_ms=1.5 build_ms=102.1 stage_ms=3.0 append_ms=4.5 \
                    tick_unix_ms=1000.5 opened_unix_ms=1001.0 closed_unix_ms=1001.0 sealed_unix_ms=1103.1 \
                    durable_unix_ms=1110.6";
        let b = parse_line(line).expect("a complete line parses");
        assert_eq!(b.number, 7);
        assert_eq!(b.txs, 5556.0);
        assert_eq!(b.durable, 1110.6);
        assert!(parse_line("block timeline chain=L2 number=7").is_none());
    }
}

//! Command-line flags, grouped by concern.

use clap::{Args, Parser, Subcommand};
use std::{net::IpAddr, path::PathBuf, time::Duration};

/// op-node: an optimistic-rollup L2 node.
#[derive(Debug, Parser)]
#[command(name = "op-node", version, about, long_about = None)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the whole rollup on this machine: an embedded L1 (or `--l1-rpc`), the bridge
    /// contracts deployed on it, and the L2 sequencer deriving deposits from it, with the
    /// test-mnemonic accounts funded on both chains.
    Devnet(Box<DevnetArgs>),
    /// Rebuild the L2 chain from L1 data alone: follow the L1 at `--l1-rpc`, read the
    /// batcher's batches and the portal's deposits as `--rollup-config` says, execute every
    /// derived block, and serve the same read JSON-RPC as the sequencer.
    Verifier(Box<VerifierArgs>),
    /// Check one L2 block step by step with the fraud-proof VM: fetch it and its pre-state
    /// witness from a node (`debug_getRawBlock`, `debug_executionWitness`), trace every step
    /// with op-revm, prove it and verify the proof with fraud-vm's reference verifier. Prints
    /// the step count, proof sizes per step kind and the time taken; exits 1 if any step, the
    /// witness or the block does not check.
    CheckBlock(CheckBlockArgs),
}

/// Flags of `op-node check-block`.
#[derive(Debug, Args)]
pub struct CheckBlockArgs {
    /// JSON-RPC endpoint of an L2 node (a devnet's or a verifier's).
    #[arg(long, default_value = "http://127.0.0.1:9545")]
    pub rpc: String,
    /// The block: a number (decimal or 0x-hex), or latest, safe, finalized.
    #[arg(long)]
    pub block: String,
}

/// Flags of `op-node verifier`.
#[derive(Debug, Args)]
pub struct VerifierArgs {
    /// L1 JSON-RPC endpoint to derive from (the devnet's is in its addresses.json).
    #[arg(long)]
    pub l1_rpc: String,
    /// The rollup config: the sequencer's `<datadir>/rollup.json`, or what its
    /// `optimism_rollupConfig` returns, saved to a file.
    #[arg(long)]
    pub rollup_config: PathBuf,
    /// Directory of the verifier's database (created if missing; reused across restarts).
    #[arg(long, default_value = "data/verifier")]
    pub datadir: PathBuf,
    /// How often the L1 is polled.
    #[arg(long, default_value = "250ms", value_parser = parse_duration)]
    pub l1_poll_interval: Duration,
    /// JSON-RPC server settings (pass `--rpc-port` to run beside a devnet on 9545).
    #[command(flatten)]
    pub rpc: RpcArgs,
    /// Run a challenger that plays every game against this verifier's own chain (needs
    /// `--challenger-key`, an L1 account with ETH for bonds and gas).
    #[arg(long)]
    pub challenger: bool,
    /// The challenger's key and pace.
    #[command(flatten)]
    pub challenger_args: ChallengerArgs,
}

/// The challenger's key and pace.
#[derive(Debug, Args)]
pub struct ChallengerArgs {
    /// The challenger's L1 private key (hex). Default on the devnet: the test mnemonic's
    /// account 12; `op-node verifier --challenger` requires it.
    #[arg(long, value_parser = parse_key)]
    pub challenger_key: Option<alloy::signers::local::PrivateKeySigner>,
    /// Time between the challenger's rounds (each reads the games still in play). Keep it well
    /// under `--clock-extension`; each round costs the L1 a few requests per game.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub challenger_poll: Duration,
}

/// The dispute game's players on the devnet, and its fault injection (testing only).
#[derive(Debug, Args)]
pub struct DisputeArgs {
    /// Do not run the honest challenger (it runs by default, as account 12 of the test
    /// mnemonic, against the sequencer's own chain).
    #[arg(long)]
    pub no_challenger: bool,
    /// The challenger's key and pace.
    #[command(flatten)]
    pub challenger: ChallengerArgs,
    /// Fault injection: every N-th proposal claims a wrong output root (the proposals of the
    /// blocks whose number over `--proposal-interval` is a multiple of N); 0 never. The honest
    /// challenger should defeat each of them (`RUST_LOG=challenger=info,proposer=info`).
    #[arg(long, default_value_t = 0)]
    pub fault_proposer_every: u64,
    /// Fault injection: also run a dishonest challenger (account 14 of the test mnemonic, or
    /// `--fault-challenger-key`) that challenges right claims and answers without looking.
    #[arg(long)]
    pub fault_challenger: bool,
    /// How the dishonest challenger answers the defender's commitments.
    #[arg(long, value_enum, default_value = "disagree")]
    pub fault_challenger_answers: DishonestAnswers,
    /// With `--fault-challenger-answers disagree-at-long-step`: which kind of step over a long
    /// range the dishonest challenger takes the defender to (the first of that kind in the
    /// first L2 block holding one; the other kinds' long steps before it are answered truly).
    #[arg(long, value_enum, default_value = "any")]
    pub fault_challenger_long_step: DishonestLongStep,
    /// The dishonest challenger's L1 private key (hex).
    #[arg(long, value_parser = parse_key)]
    pub fault_challenger_key: Option<alloy::signers::local::PrivateKeySigner>,
}

/// How the dishonest challenger answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DishonestAnswers {
    /// Disagrees with every commitment.
    Disagree,
    /// Agrees or disagrees at random.
    Random,
    /// Challenges only right claims at or above the first L2 block that carries user deposits,
    /// answers truly below that block and disagrees from it on and with every layer-2
    /// commitment: it takes the defender to layer 2 over that block, whose `blockStart` needs
    /// the deposits' log indices proven to the L1 oracle first (fraud-vm/SPEC.md §5.18).
    DisagreeFromDeposits,
    /// Challenges only right claims at or above the first L2 block holding a step over a long
    /// range (more than 16 KiB: KECCAK256, a copy, RETURN or REVERT, LOG data, a call's input,
    /// sha256's and ripemd160's among them, or a transaction start whose data is that long),
    /// answers truly below that block, and in layer 2 truly up to that step and disagrees past
    /// it: the defender must run the step's range jobs on the L1 `RangeOracle` (for a
    /// transaction start under OP rules, the FLZ job of the L1 data fee too) and prove it in
    /// its L1 form (fraud-vm/SPEC.md §3.4.1).
    DisagreeAtLongStep,
}

/// Which long step `disagree-at-long-step` deviates at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DishonestLongStep {
    /// The first step whose proof is sent in an L1 form, of any kind (a long range or a step in
    /// long code; the block end's insertion is never the first: its transaction's start, or
    /// the LOG that made its long receipt, comes before it).
    Any,
    /// The first transaction start over long data (five range jobs under OP rules: HASH of
    /// the encoding, WRITE | ZEROS of the data, the signing payload's WRITE and HASH, FLZ of
    /// the L1 data fee; no start takes the FLZ job alone, since only long data gives a start
    /// an L1 form and the HASH of the encoding comes with it).
    Start,
    /// The first block end's insertion in its L1 form (a long transaction encoding or trie
    /// leaf, `InsertionStepVerifier`, fraud-vm/SPEC.md §5.19 v0.12): the transaction's start
    /// and its other long steps are answered truly.
    Insertion,
    /// The first call to the sha256 precompile over a long input (its `SHA256` job).
    Sha256,
    /// Not a long step: the last sub-step with entries (authorizations, else access-list
    /// entries) of the first transaction start that has any (fraud-vm/SPEC.md §5.9 v0.15),
    /// proven in full.
    Entries,
}

/// Parses a hex private key (with or without 0x).
pub fn parse_key(s: &str) -> Result<alloy::signers::local::PrivateKeySigner, String> {
    s.trim()
        .parse()
        .map_err(|_| "not a hex private key of 32 bytes".to_string())
}

/// Flags of `op-node devnet`.
#[derive(Debug, Args)]
pub struct DevnetArgs {
    /// Directory of the node's database (created if missing; reused across restarts).
    #[arg(long, default_value = "data/devnet")]
    pub datadir: PathBuf,
    /// Chain parameters.
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Sequencer settings.
    #[command(flatten)]
    pub sequencer: SequencerArgs,
    /// JSON-RPC server settings.
    #[command(flatten)]
    pub rpc: RpcArgs,
    /// The bridge web page.
    #[command(flatten)]
    pub web: WebArgs,
    /// Transaction pool limits.
    #[command(flatten)]
    pub txpool: TxPoolArgs,
    /// The L1 and the bridge on it.
    #[command(flatten)]
    pub l1: L1Args,
    /// The dispute game's players and fault injection.
    #[command(flatten)]
    pub dispute: DisputeArgs,
}

/// The L1 side: an embedded L1 or an external one, and the bridge's parameters.
#[derive(Debug, Args)]
pub struct L1Args {
    /// Use this Ethereum JSON-RPC endpoint as the L1 instead of the embedded one.
    #[arg(long)]
    pub l1_rpc: Option<String>,
    /// Port of the embedded L1's JSON-RPC (0 picks a free one).
    #[arg(long, default_value_t = 8545)]
    pub l1_rpc_port: u16,
    /// Chain id of the embedded L1.
    #[arg(long, default_value_t = 900)]
    pub l1_chain_id: u64,
    /// Time between embedded L1 blocks.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub l1_block_time: Duration,
    /// L1 blocks behind the L1 head before their deposits are used.
    #[arg(long, default_value_t = 1)]
    pub l1_confirmation_depth: u64,
    /// How often the L1 is polled.
    #[arg(long, default_value = "250ms", value_parser = parse_duration)]
    pub l1_poll_interval: Duration,
    /// The dispute game's challenge window after a proposal (seconds): an unchallenged claim
    /// resolves after it, and each side of a challenge has this much time on its chess clock
    /// (`BisectionGame`'s `maxClockDuration`, fraud-vm/SPEC.md §12).
    #[arg(long, default_value_t = 12)]
    pub challenge_window: u64,
    /// The least time (seconds) a side of a challenge has when its turn begins (the game's
    /// `clockExtension`): keep it above a few L1 block times, or a side moving at the last
    /// second of its clock leaves the other no time to get a transaction in.
    #[arg(long, default_value_t = 5)]
    pub clock_extension: u64,
    /// Bond (wei) each challenge posts; the winner of the challenge takes it.
    #[arg(long, default_value_t = 10_000_000_000_000_000)]
    pub challenge_bond: u128,
    /// Seconds a withdrawal proof must age before it can be finalized. Keep it longer than the
    /// challenge window plus the finality delay: then a proof made right after a proposal only
    /// matures once the proposal's game is final, and viem never sees a game in between.
    #[arg(long, default_value_t = 20)]
    pub proof_maturity_delay: u64,
    /// Seconds after a game resolves before withdrawals may finalize against it.
    #[arg(long, default_value_t = 6)]
    pub game_finality_delay: u64,
    /// Post an output root every this many L2 blocks.
    #[arg(long, default_value_t = 20)]
    pub proposal_interval: u64,
    /// Bond (wei) a proposal locks in the dispute-game factory.
    #[arg(long, default_value_t = 10_000_000_000_000_000)]
    pub proposal_bond: u128,
    /// Sequencing window in L1 blocks: the inbox takes blocks of an L1 epoch only within it;
    /// past it, anyone may force the next epoch with its deposits (fixed at the first start,
    /// in rollup.json and the inbox).
    #[arg(long, default_value_t = crate::rollup::defaults::seq_window_size())]
    pub seq_window: u64,
    /// Seconds an L2 block may run ahead of its L1 origin (fixed at the first start).
    #[arg(long, default_value_t = crate::rollup::defaults::max_sequencer_drift())]
    pub max_sequencer_drift: u64,
    /// Append sealed blocks to the inbox every this long (a round sends several appends when
    /// more than one L1 transaction's worth is waiting).
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    pub batch_interval: Duration,
    /// Fault injection (testing only): the sequencer leaves out L1 deposits and its batcher
    /// never forces an epoch; someone else must call the inbox's forceNextEpoch once the
    /// sequencing window passes.
    #[arg(long)]
    pub fault_censor_deposits: bool,
}

/// Chain parameters.
#[derive(Debug, Args)]
pub struct ChainArgs {
    /// EIP-155 chain id of the L2.
    #[arg(long, default_value_t = 901)]
    pub chain_id: u64,
    /// Gas limit of every block.
    #[arg(long, default_value_t = 30_000_000)]
    pub gas_limit: u64,
}

/// Sequencer settings.
#[derive(Debug, Args)]
pub struct SequencerArgs {
    /// Time between blocks, e.g. `250ms`, `100ms`, `1s` (a bare number is milliseconds).
    #[arg(long, default_value = "250ms", value_parser = parse_duration)]
    pub block_time: Duration,
}

/// JSON-RPC server settings (limits default to geth's).
#[derive(Debug, Args)]
pub struct RpcArgs {
    /// Address the JSON-RPC server (HTTP and WebSocket) listens on.
    #[arg(long, default_value = "127.0.0.1")]
    pub rpc_addr: IpAddr,
    /// Port of the JSON-RPC server; 0 picks a free one (logged at start).
    #[arg(long, default_value_t = 9545)]
    pub rpc_port: u16,
    /// Largest request body in bytes (HTTP 413 beyond).
    #[arg(long = "rpc.max-request-size", default_value_t = 5 * 1024 * 1024)]
    pub max_request_size: u32,
    /// Largest response body in bytes.
    #[arg(long = "rpc.max-response-size", default_value_t = 25_000_000)]
    pub max_response_size: u32,
    /// Most calls in one JSON-RPC batch.
    #[arg(long = "rpc.batch-limit", default_value_t = 1000)]
    pub batch_limit: u32,
    /// Gas cap of eth_call and eth_estimateGas.
    #[arg(long = "rpc.gascap", default_value_t = 50_000_000)]
    pub gas_cap: u64,
    /// Time limit of eth_call, eth_estimateGas and tracing, e.g. `5s`.
    #[arg(long = "rpc.evmtimeout", default_value = "5s", value_parser = parse_duration)]
    pub evm_timeout: Duration,
    /// Widest block range of one eth_getLogs.
    #[arg(long = "rpc.max-logs-range", default_value_t = 10_000)]
    pub max_logs_range: u64,
    /// How many blocks behind the head state queries, calls and traces may reach.
    #[arg(long = "rpc.state-history", default_value_t = 10_000)]
    pub state_history: u64,
    /// Largest `gas * maxFeePerGas` accepted by eth_sendRawTransaction, in ether.
    #[arg(long = "rpc.txfeecap", default_value_t = 1.0)]
    pub tx_fee_cap: f64,
}

/// Transaction pool limits (geth's defaults).
#[derive(Debug, Clone, Args)]
pub struct TxPoolArgs {
    /// Most transactions held in the pool.
    #[arg(long = "txpool.max-count", default_value_t = 5120)]
    pub max_count: usize,
    /// Most nonce-gapped transactions held per sender.
    #[arg(long = "txpool.max-queued-per-sender", default_value_t = 64)]
    pub max_queued_per_sender: usize,
    /// Most nonce-gapped transactions held over all senders (geth's `txpool.globalqueue`);
    /// they never crowd out executable ones.
    #[arg(long = "txpool.max-queued", default_value_t = 1024)]
    pub max_queued: usize,
    /// Slots each sender keeps when the pool is full (geth's `txpool.accountslots`): newcomers
    /// displace transactions of senders holding more than this first.
    #[arg(long = "txpool.slots-per-sender", default_value_t = 16)]
    pub slots_per_sender: usize,
    /// Minimum fee bump, in percent, to replace a pooled transaction.
    #[arg(long = "txpool.price-bump", default_value_t = 10)]
    pub price_bump: u64,
    /// Nonce-gapped transactions of a sender that sends nothing new for this long are
    /// dropped (geth's `txpool.lifetime`; default 3 hours, e.g. `600s`).
    #[arg(long = "txpool.lifetime", default_value = "10800s", value_parser = parse_duration)]
    pub lifetime: Duration,
}

impl Default for TxPoolArgs {
    fn default() -> Self {
        Self {
            max_count: 5120,
            max_queued_per_sender: 64,
            max_queued: 1024,
            slots_per_sender: 16,
            price_bump: 10,
            lifetime: Duration::from_secs(3 * 3600),
        }
    }
}

/// The bridge web page (built into `bridge/web/dist` by `scripts/devnet`).
#[derive(Debug, Args)]
pub struct WebArgs {
    /// Address the bridge page's web server listens on.
    #[arg(long, default_value = "127.0.0.1")]
    pub web_addr: IpAddr,
    /// Port of the bridge page; 0 picks a free one (the URL is logged at start).
    #[arg(long, default_value_t = 3000)]
    pub web_port: u16,
    /// Directory of the built page; when it holds no index.html the page is not served (logged).
    #[arg(long, default_value = "bridge/web/dist")]
    pub web_dir: PathBuf,
    /// Do not serve the bridge page.
    #[arg(long)]
    pub no_web: bool,
}

/// Parses `250ms`, `1s`, `1.5s` or a bare number of milliseconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (number, scale) = if let Some(ms) = s.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(sec) = s.strip_suffix('s') {
        (sec, 1.0)
    } else {
        (s, 1e-3)
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("not a duration: {s:?} (try 250ms or 1s)"))?;
    if !value.is_finite() || value <= 0.0 {
        return Err(format!("duration must be positive: {s:?}"));
    }
    Ok(Duration::from_secs_f64(value * scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("100").unwrap(), Duration::from_millis(100));
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("0ms").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn devnet_defaults() {
        let cli = Cli::try_parse_from(["op-node", "devnet"]).unwrap();
        let Command::Devnet(args) = cli.command else {
            panic!("devnet parses as devnet");
        };
        assert_eq!(args.chain.chain_id, 901);
        assert_eq!(args.rpc.rpc_port, 9545);
        assert_eq!(args.sequencer.block_time, Duration::from_millis(250));
    }

    #[test]
    fn verifier_flags() {
        let cli = Cli::try_parse_from([
            "op-node",
            "verifier",
            "--l1-rpc",
            "http://127.0.0.1:8545",
            "--rollup-config",
            "rollup.json",
            "--datadir",
            "v",
            "--rpc-port",
            "9546",
        ])
        .unwrap();
        let Command::Verifier(args) = cli.command else {
            panic!("verifier parses as verifier");
        };
        assert_eq!(args.rpc.rpc_port, 9546);
        assert_eq!(args.datadir, PathBuf::from("v"));
        assert!(Cli::try_parse_from(["op-node", "verifier", "--l1-rpc", "x"]).is_err());
    }
}

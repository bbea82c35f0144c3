//! `op-node check-block`: fetches one L2 block and its pre-state witness from a node's JSON-RPC
//! (`debug_getRawBlock`, `debug_executionWitness`), then traces, proves and verifies every step
//! of it with fraud-vm's reference verifier (fraud-vm/SPEC.md) and prints what it measured.

use crate::cli::CheckBlockArgs;
use alloy::{
    consensus::Block,
    eips::{BlockNumberOrTag, Encodable2718},
    primitives::{Bytes, U64},
    rlp::Decodable,
    rpc::{client::RpcClient, types::debug::ExecutionWitness},
    transports::http::{Http, reqwest},
};
use fraud_vm::check::{BlockReport, ChainConfig, CheckError, check_block};
use op_alloy::consensus::OpTxEnvelope;
use std::time::Duration;
use tracing::info;

/// Longest one request may take: a witness of a full block is large.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

/// Why a block could not be checked (the node is unreachable, or it answered something else
/// than a block) or did not check.
#[derive(Debug, thiserror::Error)]
pub enum CheckBlockError {
    /// The node could not be asked.
    #[error("{method} from {url}: {reason}")]
    Rpc {
        /// The node's URL.
        url: String,
        /// The method asked.
        method: &'static str,
        /// What failed.
        reason: String,
    },
    /// `--block` is not a block number or tag.
    #[error("--block {0:?}: expected a number (decimal or 0x-hex) or latest, safe, finalized")]
    BadBlock(String),
    /// The node's raw block does not decode.
    #[error("debug_getRawBlock answered bytes that are not an OP block: {0}")]
    BadRawBlock(String),
    /// The checker itself failed (a bug in fraud-vm, never a verdict on the block).
    #[error("the check did not finish: {0}")]
    Panicked(String),
    /// A step, the witness or the block failed the check.
    #[error("block {number}: {error}")]
    Check {
        /// The block checked.
        number: u64,
        /// What failed.
        error: Box<CheckError>,
    },
}

fn parse_block(s: &str) -> Result<BlockNumberOrTag, CheckBlockError> {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
        return s
            .parse()
            .map(BlockNumberOrTag::Number)
            .map_err(|_| CheckBlockError::BadBlock(s.into()));
    }
    match s.parse::<BlockNumberOrTag>() {
        Ok(b @ (BlockNumberOrTag::Number(_) | BlockNumberOrTag::Latest))
        | Ok(b @ (BlockNumberOrTag::Safe | BlockNumberOrTag::Finalized)) => Ok(b),
        _ => Err(CheckBlockError::BadBlock(s.into())),
    }
}

/// Runs `op-node check-block`: prints the report and returns an error if any step fails.
pub async fn run(args: CheckBlockArgs) -> Result<(), CheckBlockError> {
    let block = parse_block(&args.block)?;
    let url = args.rpc.clone();
    let rpc_error = |method: &'static str| {
        let url = url.clone();
        move |e: alloy::transports::TransportError| CheckBlockError::Rpc {
            url,
            method,
            reason: e.to_string(),
        }
    };
    let parsed: reqwest::Url = args.rpc.parse().map_err(|e| CheckBlockError::Rpc {
        url: args.rpc.clone(),
        method: "connect",
        reason: format!("not a URL: {e}"),
    })?;
    let http = reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .build()
        .map_err(|e| CheckBlockError::Rpc {
            url: args.rpc.clone(),
            method: "connect",
            reason: e.to_string(),
        })?;
    let http = Http::with_client(http, parsed);
    let local = http.guess_local();
    let client = RpcClient::new(http, local);

    let chain_id: U64 = client
        .request_noparams("eth_chainId")
        .await
        .map_err(rpc_error("eth_chainId"))?;
    let raw: Bytes = client
        .request("debug_getRawBlock", (block,))
        .await
        .map_err(rpc_error("debug_getRawBlock"))?;
    let decoded = Block::<OpTxEnvelope>::decode(&mut raw.as_ref())
        .map_err(|e| CheckBlockError::BadRawBlock(e.to_string()))?;
    let number = decoded.header.number;
    // The witness of exactly the block fetched, even if `latest` moved meanwhile.
    let witness: ExecutionWitness = client
        .request(
            "debug_executionWitness",
            (BlockNumberOrTag::Number(number),),
        )
        .await
        .map_err(rpc_error("debug_executionWitness"))?;
    let transactions: Vec<Bytes> = decoded
        .body
        .transactions
        .iter()
        .map(|tx| tx.encoded_2718().into())
        .collect();
    let hash = decoded.header.hash_slow();
    info!(
        target: "check-block",
        number,
        %hash,
        transactions = transactions.len(),
        witness_nodes = witness.state.len(),
        witness_codes = witness.codes.len(),
        "checking every step"
    );
    // The chain's parameters (fraud-vm/SPEC.md §5.18): op-node's L2 with the gas limit its
    // rollup config declares; a node without one (no L1) is taken at the block's word.
    let gas_limit = match client
        .request_noparams::<serde_json::Value>("optimism_rollupConfig")
        .await
    {
        Ok(rollup) => rollup
            .get("l2_gas_limit")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(decoded.header.gas_limit),
        Err(e) => {
            info!(target: "check-block", error = %e, "no rollup config: the block's gas limit is taken as the chain's");
            decoded.header.gas_limit
        }
    };
    let config = ChainConfig::op_node(chain_id.to(), gas_limit);
    let header = decoded.header;
    let outcome =
        tokio::task::spawn_blocking(move || check_block(&header, &transactions, &witness, &config))
            .await
            .map_err(|e| CheckBlockError::Panicked(e.to_string()))?
            .map_err(|error| CheckBlockError::Check {
                number,
                error: Box::new(error),
            });
    match outcome {
        Ok(report) => {
            print!("{}", render(number, &hash.to_string(), &report));
            println!("every step verified");
            Ok(())
        }
        Err(CheckBlockError::Check { number, error }) => {
            if let CheckError::Unsupported { report, .. } = error.as_ref()
                && report.steps > 0
            {
                print!("{}", render(number, &hash.to_string(), report));
            }
            Err(CheckBlockError::Check { number, error })
        }
        Err(e) => Err(e),
    }
}

/// The report as the command prints it: the block, fraud-vm's table, and how much slower than
/// executing the block it is to trace, prove and verify every step, and to trace with every
/// state's commitment alone (what answering one bisection move re-runs).
pub fn render(number: u64, hash: &str, report: &BlockReport) -> String {
    let exec = report.execution_time.as_secs_f64();
    let times = |t: Duration| {
        if exec > 0.0 {
            t.as_secs_f64() / exec
        } else {
            0.0
        }
    };
    format!(
        "block {number} {hash}\n{report}trace, prove and verify: {:.0}x op-revm's execution; \
         commitments only: {:.0}x; a layer-2 answer: {:.1}x (counting N: {:.1}x)\n",
        times(report.trace_prove_time),
        times(report.commit_time),
        times(report.answer_time),
        times(report.count_time)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_flag_takes_numbers_and_tags_and_refuses_the_rest() {
        assert_eq!(parse_block("12").unwrap(), BlockNumberOrTag::Number(12));
        assert_eq!(parse_block("0x0c").unwrap(), BlockNumberOrTag::Number(12));
        assert_eq!(parse_block("latest").unwrap(), BlockNumberOrTag::Latest);
        assert_eq!(parse_block("safe").unwrap(), BlockNumberOrTag::Safe);
        for bad in [
            "",
            "-1",
            "twelve",
            "pending",
            "99999999999999999999999",
            "0xzz",
        ] {
            assert!(parse_block(bad).is_err(), "{bad:?} refused");
        }
    }
}

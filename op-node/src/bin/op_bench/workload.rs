//! What the benchmark sends: deterministic keys, the random transfer plan, signed transactions
//! and the ERC-20 token they move.

use super::BenchError;
use alloy::{
    consensus::{SignableTransaction, TxEip1559, crypto::secp256k1::sign_message},
    eips::eip2718::Encodable2718,
    primitives::{Address, B256, Bytes, TxKind, U256, hex, keccak256, uint},
    signers::local::{MnemonicBuilder, coins_bip39::English},
    sol,
    sol_types::{SolCall, SolConstructor},
};
use op_alloy::consensus::OpTxEnvelope;
use op_node::chain::TEST_MNEMONIC;
use rayon::prelude::*;

sol! {
    /// The OpenZeppelin 5 ERC-20 of testdata/contracts/TestToken.sol.
    contract TestToken {
        constructor(string name_, string symbol_, uint256 initialSupply);
        function transfer(address to, uint256 value) external returns (bool);
        function balanceOf(address account) external view returns (uint256);
    }
}

/// The compiled TestToken (solc output committed by scripts/build-contracts).
const TEST_TOKEN_ARTIFACT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/artifacts/TestToken.json"
));

/// Every benchmark transaction offers this fee cap: far above the base fee a run reaches, and
/// low enough that `gas * maxFeePerGas` stays under the RPC's 1 ETH fee cap.
pub const MAX_FEE_PER_GAS: u128 = 10_000_000_000;
/// And this tip.
pub const PRIORITY_FEE_PER_GAS: u128 = 1_000_000_000;
/// Gas limit of a token deployment.
const DEPLOY_GAS: u64 = 3_000_000;
/// Token units each benchmark account receives before the timed transfers.
pub const TOKENS_PER_ACCOUNT: U256 = uint!(1_000_000_000_000_000_000_000_U256);

/// What the timed transactions do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Plain value transfers between funded accounts.
    EthTransfer,
    /// `transfer` calls on an OpenZeppelin ERC-20 between accounts that hold it.
    Erc20Transfer,
}

impl Workload {
    /// The name printed in results.
    pub fn name(self) -> &'static str {
        match self {
            Self::EthTransfer => "eth-transfer",
            Self::Erc20Transfer => "erc20-transfer",
        }
    }

    /// Gas limit of one timed transaction (an ERC-20 transfer to a new holder uses ~52k).
    pub fn gas_limit(self) -> u64 {
        match self {
            Self::EthTransfer => 21_000,
            Self::Erc20Transfer => 70_000,
        }
    }

    /// The most one timed transaction can cost its sender: its gas at the fee cap, plus the
    /// 1 wei an ETH transfer moves.
    pub fn max_cost(self) -> U256 {
        U256::from(self.gas_limit()) * U256::from(MAX_FEE_PER_GAS) + U256::from(1)
    }
}

/// A secret key and its address.
#[derive(Debug, Clone, Copy)]
pub struct Key {
    /// The secp256k1 secret.
    pub secret: B256,
    /// Its Ethereum address.
    pub address: Address,
}

impl Key {
    /// The `index`-th benchmark key: `keccak256("op-bench" ++ index)`, so every run and every
    /// mode uses the same accounts.
    pub fn derive(index: u64) -> Self {
        let mut seed = b"op-bench".to_vec();
        seed.extend_from_slice(&index.to_be_bytes());
        Self::from_secret(keccak256(&seed))
    }

    /// `count` benchmark keys, derived in parallel.
    pub fn derive_many(count: usize) -> Vec<Self> {
        (0..count as u64)
            .into_par_iter()
            .map(Self::derive)
            .collect()
    }

    /// The first `count` accounts of the test mnemonic, which devnet genesis funds.
    pub fn dev_accounts(count: u32) -> Vec<Self> {
        (0..count)
            .map(|i| {
                let signer = MnemonicBuilder::<English>::default()
                    .phrase(TEST_MNEMONIC)
                    .index(i)
                    .and_then(|b| b.build())
                    .expect("the test mnemonic and its derivation path are valid");
                Self::from_secret(signer.to_bytes())
            })
            .collect()
    }

    fn from_secret(secret: B256) -> Self {
        // A keccak output is a valid secret but for a 2^-128 chance.
        let key = secp256k1::SecretKey::from_byte_array(secret.0)
            .expect("a keccak256 output is a valid secp256k1 secret");
        let public = secp256k1::PublicKey::from_secret_key_global(&key);
        let hash = keccak256(&public.serialize_uncompressed()[1..]);
        Self {
            secret,
            address: Address::from_slice(&hash[12..]),
        }
    }
}

/// Signs EIP-1559 transactions of one chain.
#[derive(Debug, Clone, Copy)]
pub struct Signer {
    /// EIP-155 chain id.
    pub chain_id: u64,
}

impl Signer {
    /// Signs a call (or a creation when `to` is `None`) and returns its EIP-2718 bytes.
    pub fn sign(
        &self,
        from: &Key,
        nonce: u64,
        to: Option<Address>,
        value: U256,
        input: Bytes,
        gas_limit: u64,
    ) -> Result<Bytes, BenchError> {
        let tx = TxEip1559 {
            chain_id: self.chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: MAX_FEE_PER_GAS,
            max_priority_fee_per_gas: PRIORITY_FEE_PER_GAS,
            to: to.map_or(TxKind::Create, TxKind::Call),
            value,
            access_list: Default::default(),
            input,
        };
        let signature = sign_message(from.secret, tx.signature_hash())
            .map_err(|e| BenchError::Workload(format!("signing: {e}")))?;
        Ok(OpTxEnvelope::Eip1559(tx.into_signed(signature))
            .encoded_2718()
            .into())
    }

    /// A value transfer.
    pub fn eth_transfer(
        &self,
        from: &Key,
        nonce: u64,
        to: Address,
        value: U256,
    ) -> Result<Bytes, BenchError> {
        self.sign(from, nonce, Some(to), value, Bytes::new(), 21_000)
    }

    /// An ERC-20 `transfer(to, amount)` on `token`.
    pub fn token_transfer(
        &self,
        from: &Key,
        nonce: u64,
        token: Address,
        to: Address,
        amount: U256,
    ) -> Result<Bytes, BenchError> {
        let input = TestToken::transferCall { to, value: amount }.abi_encode();
        self.sign(
            from,
            nonce,
            Some(token),
            U256::ZERO,
            input.into(),
            Workload::Erc20Transfer.gas_limit(),
        )
    }

    /// Deploys TestToken with `supply` minted to `from`; returns the transaction and the
    /// token's address.
    pub fn deploy_token(
        &self,
        from: &Key,
        nonce: u64,
        supply: U256,
    ) -> Result<(Bytes, Address), BenchError> {
        let mut input = token_bytecode()?;
        input.extend(
            TestToken::constructorCall {
                name_: "Bench Token".into(),
                symbol_: "BENCH".into(),
                initialSupply: supply,
            }
            .abi_encode(),
        );
        let tx = self.sign(from, nonce, None, U256::ZERO, input.into(), DEPLOY_GAS)?;
        Ok((tx, from.address.create(nonce)))
    }

    /// Signs every transfer of `plan` in parallel (the token's when `token` is given).
    pub fn sign_plan(
        &self,
        plan: &[Transfer],
        keys: &[Key],
        token: Option<Address>,
    ) -> Result<Vec<Bytes>, BenchError> {
        plan.par_iter()
            .map(|t| {
                let (from, to) = (&keys[t.from], keys[t.to].address);
                match token {
                    Some(token) => self.token_transfer(from, t.nonce, token, to, U256::from(1)),
                    None => self.eth_transfer(from, t.nonce, to, U256::from(1)),
                }
            })
            .collect()
    }
}

/// TestToken's creation bytecode, from the committed artifact.
fn token_bytecode() -> Result<Vec<u8>, BenchError> {
    let artifact: serde_json::Value = serde_json::from_str(TEST_TOKEN_ARTIFACT)?;
    let hex = artifact["bytecode"]
        .as_str()
        .ok_or_else(|| BenchError::Workload("TestToken.json has no bytecode".into()))?;
    hex::decode(hex.trim_start_matches("0x"))
        .map_err(|e| BenchError::Workload(format!("TestToken.json bytecode: {e}")))
}

/// One timed transfer: sender index, its nonce, receiver index.
#[derive(Debug, Clone, Copy)]
pub struct Transfer {
    /// Index of the sender among the benchmark keys.
    pub from: usize,
    /// The sender's nonce.
    pub nonce: u64,
    /// Index of the receiver.
    pub to: usize,
}

/// `txs` transfers between `accounts` accounts, in rounds: each round every account sends one
/// transaction (in a random order) to a random other account, so any prefix of the plan is
/// executable in order and consecutive blocks touch spread-out senders.
pub fn plan(accounts: usize, txs: usize, seed: u64, first_nonce: u64) -> Vec<Transfer> {
    assert!(accounts >= 2, "transfers need at least two accounts");
    let mut rng = SplitMix64(seed);
    let mut out = Vec::with_capacity(txs);
    let mut order: Vec<usize> = (0..accounts).collect();
    let mut round = 0;
    while out.len() < txs {
        for i in (1..order.len()).rev() {
            order.swap(i, rng.below(i + 1));
        }
        for &from in order.iter().take(txs - out.len()) {
            let mut to = rng.below(accounts - 1);
            if to >= from {
                to += 1;
            }
            out.push(Transfer {
                from,
                nonce: first_nonce + round,
                to,
            });
        }
        round += 1;
    }
    out
}

/// How many timed transactions the busiest account sends.
pub fn txs_per_account(accounts: usize, txs: usize) -> u64 {
    txs.div_ceil(accounts) as u64
}

/// A small deterministic generator (SplitMix64); the plan needs spread, not cryptography.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform enough in `0..n` for n far below 2^64.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

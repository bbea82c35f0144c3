//! What the benchmark sends: deterministic keys, the random transfer plan, signed transactions,
//! the ERC-20 token they move and the Uniswap V2 pair they swap on.

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
        function approve(address spender, uint256 value) external returns (bool);
        function allowance(address owner, address spender) external view returns (uint256);
    }

    /// Uniswap V2's factory (@uniswap/v2-core, unchanged).
    contract UniswapV2Factory {
        constructor(address feeToSetter);
    }

    /// Uniswap V2's router 02 (@uniswap/v2-periphery, unchanged).
    contract UniswapV2Router02 {
        constructor(address factory, address weth);
        function addLiquidity(
            address tokenA,
            address tokenB,
            uint256 amountADesired,
            uint256 amountBDesired,
            uint256 amountAMin,
            uint256 amountBMin,
            address to,
            uint256 deadline
        ) external returns (uint256 amountA, uint256 amountB, uint256 liquidity);
        function swapExactTokensForTokens(
            uint256 amountIn,
            uint256 amountOutMin,
            address[] path,
            address to,
            uint256 deadline
        ) external returns (uint256[] amounts);
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
/// Gas limit of a Uniswap contract deployment (the router's takes about 4.5M).
const UNISWAP_DEPLOY_GAS: u64 = 8_000_000;
/// Gas limit of the first `addLiquidity`, which creates the pair (about 3M).
const ADD_LIQUIDITY_GAS: u64 = 6_000_000;
/// Gas limit of an `approve` (about 46k).
pub const APPROVE_GAS: u64 = 70_000;
/// Each token's reserve in the benchmark pair: a billion tokens, so that the at most one
/// token a timed swap moves shifts the price by under a billionth.
const POOL_RESERVE: U256 = uint!(1_000_000_000_000_000_000_000_000_000_U256);
/// The timed swaps' deadline: far past any block timestamp of a run.
const FAR_DEADLINE: U256 = uint!(18_446_744_073_709_551_615_U256);
/// Smallest amount a timed swap sells (0.001 token); the largest is 1,000 times that.
const MIN_SWAP: u64 = 1_000_000_000_000_000;

/// What the timed transactions do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Workload {
    /// Plain value transfers between funded accounts.
    EthTransfer,
    /// `transfer` calls on an OpenZeppelin ERC-20 between accounts that hold it.
    Erc20Transfer,
    /// `swapExactTokensForTokens` on Uniswap V2's router 02 (deployed unchanged from the npm
    /// packages) through a pair of two OpenZeppelin ERC-20s with deep liquidity: a random
    /// small amount, in a random direction, from accounts that hold both tokens and approved
    /// the router.
    UniswapSwap,
}

impl Workload {
    /// The name printed in results.
    pub fn name(self) -> &'static str {
        match self {
            Self::EthTransfer => "eth-transfer",
            Self::Erc20Transfer => "erc20-transfer",
            Self::UniswapSwap => "uniswap-swap",
        }
    }

    /// Gas limit of one timed transaction (an ERC-20 transfer to a new holder uses ~52k, a
    /// swap through the router ~100k).
    pub fn gas_limit(self) -> u64 {
        match self {
            Self::EthTransfer => 21_000,
            Self::Erc20Transfer => 70_000,
            Self::UniswapSwap => 200_000,
        }
    }

    /// The nonce of each account's first timed transaction: the swap workload's accounts
    /// approve the router for both tokens first.
    pub fn first_nonce(self) -> u64 {
        match self {
            Self::EthTransfer | Self::Erc20Transfer => 0,
            Self::UniswapSwap => 2,
        }
    }

    /// What an account's own set-up transactions can cost it at most (the swap workload's
    /// two approvals).
    pub fn setup_cost(self) -> U256 {
        U256::from(APPROVE_GAS * self.first_nonce()) * U256::from(MAX_FEE_PER_GAS)
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

    /// A call of `input` on `to`, moving no value.
    fn call(
        &self,
        from: &Key,
        nonce: u64,
        to: Address,
        input: Vec<u8>,
        gas_limit: u64,
    ) -> Result<Bytes, BenchError> {
        self.sign(from, nonce, Some(to), U256::ZERO, input.into(), gas_limit)
    }

    /// A swap of `t`'s random amount through `pool`'s pair, its direction random, the output
    /// going back to the sender.
    fn swap(&self, from: &Key, t: &Transfer, pool: &Uniswap) -> Result<Bytes, BenchError> {
        let mut rng = SplitMix64((t.from as u64) << 32 ^ t.nonce ^ (t.to as u64).rotate_left(17));
        let r = rng.next();
        let amount = U256::from(MIN_SWAP) * U256::from(1 + r % 1_000);
        let path = match r >> 63 {
            0 => vec![pool.tokens[0], pool.tokens[1]],
            _ => vec![pool.tokens[1], pool.tokens[0]],
        };
        let input = UniswapV2Router02::swapExactTokensForTokensCall {
            amountIn: amount,
            amountOutMin: U256::ZERO,
            path,
            to: from.address,
            deadline: FAR_DEADLINE,
        }
        .abi_encode();
        self.call(
            from,
            t.nonce,
            pool.router,
            input,
            Workload::UniswapSwap.gas_limit(),
        )
    }

    /// Signs every transaction of `plan` in parallel, as `target` says.
    pub fn sign_plan(
        &self,
        plan: &[Transfer],
        keys: &[Key],
        target: &Target,
    ) -> Result<Vec<Bytes>, BenchError> {
        plan.par_iter()
            .map(|t| {
                let (from, to) = (&keys[t.from], keys[t.to].address);
                match target {
                    Target::Token(token) => {
                        self.token_transfer(from, t.nonce, *token, to, U256::from(1))
                    }
                    Target::Accounts => self.eth_transfer(from, t.nonce, to, U256::from(1)),
                    Target::Uniswap(pool) => self.swap(from, t, pool),
                }
            })
            .collect()
    }

    /// The swap workload's set-up: `deployer` (from `nonce` on) deploys WETH9, the factory and
    /// router 02 from the npm packages' build JSON and two TestTokens, adds deep liquidity
    /// (which creates the pair) and hands both tokens out to every key; then each key approves
    /// the router for both tokens with its nonces 0 and 1.
    pub fn uniswap_setup(
        &self,
        deployer: &Key,
        nonce: u64,
        keys: &[Key],
    ) -> Result<UniswapSetup, BenchError> {
        let (weth_code, factory_code, router_code) = (
            npm_bytecode("@uniswap/v2-periphery", "WETH9")?,
            npm_bytecode("@uniswap/v2-core", "UniswapV2Factory")?,
            npm_bytecode("@uniswap/v2-periphery", "UniswapV2Router02")?,
        );
        let at = |n: u64| deployer.address.create(nonce + n);
        let (weth, factory, router) = (at(0), at(1), at(2));
        let tokens = [at(3), at(4)];
        let create = |n: u64, code: Vec<u8>| {
            self.sign(
                deployer,
                nonce + n,
                None,
                U256::ZERO,
                code.into(),
                UNISWAP_DEPLOY_GAS,
            )
        };
        let with_args = |mut code: Vec<u8>, args: Vec<u8>| {
            code.extend(args);
            code
        };
        let supply = TOKENS_PER_ACCOUNT * U256::from(keys.len()) + POOL_RESERVE;
        let token_code = |symbol: &str| -> Result<Vec<u8>, BenchError> {
            Ok(with_args(
                token_bytecode()?,
                TestToken::constructorCall {
                    name_: format!("Bench {symbol}"),
                    symbol_: symbol.into(),
                    initialSupply: supply,
                }
                .abi_encode(),
            ))
        };
        let approve = |from: &Key, n: u64, token: Address| {
            let input = TestToken::approveCall {
                spender: router,
                value: U256::MAX,
            }
            .abi_encode();
            self.call(from, n, token, input, APPROVE_GAS)
        };
        let mut contracts = vec![
            create(0, weth_code)?,
            create(
                1,
                with_args(
                    factory_code,
                    UniswapV2Factory::constructorCall {
                        feeToSetter: deployer.address,
                    }
                    .abi_encode(),
                ),
            )?,
            create(
                2,
                with_args(
                    router_code,
                    UniswapV2Router02::constructorCall { factory, weth }.abi_encode(),
                ),
            )?,
            create(3, token_code("BTA")?)?,
            create(4, token_code("BTB")?)?,
            approve(deployer, nonce + 5, tokens[0])?,
            approve(deployer, nonce + 6, tokens[1])?,
        ];
        let add = UniswapV2Router02::addLiquidityCall {
            tokenA: tokens[0],
            tokenB: tokens[1],
            amountADesired: POOL_RESERVE,
            amountBDesired: POOL_RESERVE,
            amountAMin: POOL_RESERVE,
            amountBMin: POOL_RESERVE,
            to: deployer.address,
            deadline: FAR_DEADLINE,
        }
        .abi_encode();
        contracts.push(self.call(deployer, nonce + 7, router, add, ADD_LIQUIDITY_GAS)?);
        let first = nonce + contracts.len() as u64;
        let handouts = keys
            .par_iter()
            .enumerate()
            .map(|(i, key)| {
                let n = first + 2 * i as u64;
                Ok([
                    self.token_transfer(deployer, n, tokens[0], key.address, TOKENS_PER_ACCOUNT)?,
                    self.token_transfer(
                        deployer,
                        n + 1,
                        tokens[1],
                        key.address,
                        TOKENS_PER_ACCOUNT,
                    )?,
                ])
            })
            .collect::<Result<Vec<_>, BenchError>>()?
            .into_iter()
            .flatten()
            .collect();
        let approvals = keys
            .par_iter()
            .map(|key| Ok([approve(key, 0, tokens[0])?, approve(key, 1, tokens[1])?]))
            .collect::<Result<Vec<_>, BenchError>>()?
            .into_iter()
            .flatten()
            .collect();
        Ok(UniswapSetup {
            contracts,
            handouts,
            approvals,
            pool: Uniswap { router, tokens },
        })
    }
}

/// Where the timed transactions go.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    /// Value transfers between the benchmark accounts.
    Accounts,
    /// Transfers of this ERC-20 between them.
    Token(Address),
    /// Swaps on this pool.
    Uniswap(Uniswap),
}

/// The swap workload's router and the pair's two tokens.
#[derive(Debug, Clone, Copy)]
pub struct Uniswap {
    /// UniswapV2Router02.
    pub router: Address,
    /// The two TestTokens of the pair.
    pub tokens: [Address; 2],
}

/// The swap workload's set-up transactions, in the order they must be included.
#[derive(Debug)]
pub struct UniswapSetup {
    /// The deployer's contract creations, approvals and `addLiquidity`.
    pub contracts: Vec<Bytes>,
    /// Then its hand-outs of both tokens to every key.
    pub handouts: Vec<Bytes>,
    /// Each key's approvals of the router (nonces 0 and 1; in e2e mode only once the key
    /// holds ETH).
    pub approvals: Vec<Bytes>,
    /// What the timed swaps use.
    pub pool: Uniswap,
}

/// The creation bytecode of `name` in the npm package `package`'s build JSON, from
/// testdata/js/node_modules (under the working directory, or else the source tree op-bench was
/// built from).
fn npm_bytecode(package: &str, name: &str) -> Result<Vec<u8>, BenchError> {
    let relative = format!("node_modules/{package}/build/{name}.json");
    let candidates = [
        std::path::PathBuf::from("testdata/js").join(&relative),
        std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/js"))
            .join(&relative),
    ];
    let Some(path) = candidates.iter().find(|p| p.is_file()) else {
        return Err(BenchError::Workload(format!(
            "{relative} not found under testdata/js: the uniswap-swap workload deploys Uniswap V2 \
             from the npm packages; run `npm ci` in testdata/js first"
        )));
    };
    let build: serde_json::Value = serde_json::from_slice(&std::fs::read(path)?)?;
    let hex = build["bytecode"]
        .as_str()
        .ok_or_else(|| BenchError::Workload(format!("{} has no bytecode", path.display())))?;
    hex::decode(hex.trim_start_matches("0x"))
        .map_err(|e| BenchError::Workload(format!("{} bytecode: {e}", path.display())))
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

#[cfg(test)]
mod tests {
    use super::*;
    use alloy::{consensus::Transaction, eips::eip2718::Decodable2718};

    /// Timed swaps sell a small random amount in a random direction back to their sender,
    /// with `amountOutMin` 0 and nonces after the two approvals.
    #[test]
    fn swaps_are_small_random_and_both_ways() {
        let keys = Key::derive_many(8);
        let pool = Uniswap {
            router: Address::repeat_byte(1),
            tokens: [Address::repeat_byte(2), Address::repeat_byte(3)],
        };
        let signer = Signer { chain_id: 901 };
        let plan = plan(8, 200, 7, Workload::UniswapSwap.first_nonce());
        let raw = signer
            .sign_plan(&plan, &keys, &Target::Uniswap(pool))
            .expect("signs");
        let (mut forward, mut amounts) = (0, std::collections::HashSet::new());
        for (t, raw) in plan.iter().zip(&raw) {
            let OpTxEnvelope::Eip1559(tx) =
                OpTxEnvelope::decode_2718(&mut raw.as_ref()).expect("decodes")
            else {
                panic!("not an EIP-1559 transaction");
            };
            assert_eq!(tx.tx().to(), Some(pool.router));
            assert_eq!(tx.tx().gas_limit, Workload::UniswapSwap.gas_limit());
            assert!(tx.tx().nonce >= 2);
            let call = UniswapV2Router02::swapExactTokensForTokensCall::abi_decode(tx.tx().input())
                .expect("a swap");
            assert_eq!(call.amountOutMin, U256::ZERO);
            assert_eq!(call.to, keys[t.from].address);
            assert!(call.deadline >= U256::from(u64::MAX));
            assert!(call.amountIn >= U256::from(MIN_SWAP));
            assert!(call.amountIn <= U256::from(MIN_SWAP) * U256::from(1_000));
            match call.path.as_slice() {
                [a, b] if *a == pool.tokens[0] && *b == pool.tokens[1] => forward += 1,
                [a, b] if *a == pool.tokens[1] && *b == pool.tokens[0] => {}
                other => panic!("path {other:?}"),
            }
            amounts.insert(call.amountIn);
        }
        assert!((50..150).contains(&forward), "{forward} of 200 forward");
        assert!(amounts.len() > 150, "{} distinct amounts", amounts.len());
    }
}

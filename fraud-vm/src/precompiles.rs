//! The rollup's L2 precompile set (SPEC.md §5.15, "Bounds"): op-revm's OP Stack Isthmus
//! precompiles with every call bounded so that its one-step proof fits one L1 transaction well
//! under the 2^24 gas cap. Four inputs are limited to 128 pairs (ecPairing 0x08, BLS12-381
//! G1MSM 0x0c, G2MSM 0x0e and PAIRING_CHECK 0x0f, in place of Granite's and Isthmus's limits),
//! modexp (0x05) to operands of at most 1024 bytes (EIP-7823) whose price on an Osaka L1
//! (EIP-7883) is at most [`MODEXP_MAX_L1_GAS`], and blake2f (0x09) to
//! [`BLAKE2F_MAX_ROUNDS`] rounds (its gas). A call beyond a bound fails like op-revm's
//! over-limit calls: it consumes all the gas it was given. Every precompile call then costs the
//! L1 at most 4.4M gas.
//!
//! Every place that executes L2 blocks uses this one set: op-node's sequencer, derivation,
//! `eth_call` and `eth_estimateGas` and its traces through [`RollupEvmFactory`], and the trace
//! re-execution of [`crate::check`] through [`RollupPrecompiles`]; the Rust verifier's
//! precompile steps (`step/precompile.rs`, `bn254.rs`, `bls12_381.rs`) and the Solidity
//! `L2Precompiles` apply the same bounds, from the constants here.

use alloy::primitives::{Address, U256};
use alloy_evm::{Database, Evm, EvmEnv, EvmFactory, precompiles::PrecompilesMap};
use alloy_op_evm::{OpEvm, OpEvmContext, OpEvmFactory, OpTx, OpTxError};
use op_revm::{OpHaltReason, OpSpecId};
use revm::{
    Inspector,
    context::{BlockEnv, Cfg, result::EVMError},
    context_interface::ContextTr,
    handler::{EthPrecompiles, PrecompileProvider},
    inspector::NoOpInspector,
    interpreter::{CallInputs, InterpreterResult},
    precompile::{
        EthPrecompileResult, Precompile, PrecompileHalt, PrecompileId, Precompiles,
        bls12_381_const::{G1_MSM_ADDRESS, G2_MSM_ADDRESS, PAIRING_ADDRESS},
        bn254, eth_precompile_fn, modexp, u64_to_address,
    },
    primitives::OnceLock,
    primitives::hardfork::SpecId,
};

/// The most pairs a call to ecPairing, G1MSM, G2MSM or PAIRING_CHECK may pass: EIP-2537's
/// discount table ends at 128, and a bn254 pairing of 128 pairs costs 4,397,000 gas.
pub const MAX_PAIRS: usize = 128;
/// ecPairing (0x08): at most 128 pairs of 192 bytes (Granite allowed 112,687 bytes).
pub const BN254_PAIRING_MAX_INPUT: usize = MAX_PAIRS * 192;
/// BLS12_G1MSM (0x0c): at most 128 pairs of 160 bytes (Isthmus allowed 513,760 bytes).
pub const G1_MSM_MAX_INPUT: usize = MAX_PAIRS * 160;
/// BLS12_G2MSM (0x0e): at most 128 pairs of 288 bytes (Isthmus allowed 488,448 bytes).
pub const G2_MSM_MAX_INPUT: usize = MAX_PAIRS * 288;
/// BLS12_PAIRING_CHECK (0x0f): at most 128 pairs of 384 bytes (Isthmus allowed 235,008 bytes).
pub const BLS_PAIRING_MAX_INPUT: usize = MAX_PAIRS * 384;
/// modexp (0x05): the most bytes of each of the base, the exponent and the modulus (EIP-7823).
pub const MODEXP_MAX_LEN: u64 = 1024;
/// modexp (0x05): the most its call may cost on an Osaka L1 (EIP-7883's price, never below
/// EIP-2565's, which the L2 charges), so that the L1's own precompile decides it within the
/// step's transaction.
pub const MODEXP_MAX_L1_GAS: u64 = 4_000_000;
/// blake2f (0x09): the most rounds a call may ask for; its gas, on the L2 and the L1, is its
/// rounds, which only the call's gas bounded before (2^32 − 1).
pub const BLAKE2F_MAX_ROUNDS: u32 = 4_000_000;

/// Whether a modexp input is within the rollup's bounds: each length at most
/// [`MODEXP_MAX_LEN`] and the EIP-7883 price at most [`MODEXP_MAX_L1_GAS`]. The lengths are
/// the input's first three words (zero past its end); the exponent's first 32 bytes (at most its
/// length) decide its adjusted length.
pub fn modexp_within_bounds(input: &[u8]) -> bool {
    let word = |at: usize| {
        let mut w = [0u8; 32];
        if at < input.len() {
            let n = (input.len() - at).min(32);
            w[..n].copy_from_slice(&input[at..at + n]);
        }
        U256::from_be_bytes(w)
    };
    let limit = U256::from(MODEXP_MAX_LEN);
    let (b, e, m) = (word(0), word(32), word(64));
    if b > limit || e > limit || m > limit {
        return false;
    }
    let (b, e, m) = (b.to::<u64>(), e.to::<u64>(), m.to::<u64>());
    // The exponent's head: its first min(e, 32) bytes as a number.
    let head_len = e.min(32) as usize;
    let start = 96 + b as usize;
    let mut head = [0u8; 32];
    for (i, byte) in head[32 - head_len..].iter_mut().enumerate() {
        *byte = input.get(start + i).copied().unwrap_or(0);
    }
    let head = U256::from_be_bytes(head);
    modexp::osaka_gas_calc(b, e, m, &head) <= MODEXP_MAX_L1_GAS
}

fn modexp_bounded(input: &[u8], gas_limit: u64) -> EthPrecompileResult {
    if !modexp_within_bounds(input) {
        return Err(PrecompileHalt::Other(
            "modexp beyond the rollup's bounds (1024-byte operands, 4M gas on an Osaka L1)".into(),
        ));
    }
    modexp::berlin_run(input, gas_limit)
}

fn blake2f_bounded(input: &[u8], gas_limit: u64) -> EthPrecompileResult {
    if let Some(rounds) = input.first_chunk::<4>()
        && input.len() == 213
        && u32::from_be_bytes(*rounds) > BLAKE2F_MAX_ROUNDS
    {
        return Err(PrecompileHalt::Other(
            "blake2f beyond the rollup's 4M rounds".into(),
        ));
    }
    revm::precompile::blake2::run(input, gas_limit)
}

fn bn254_pairing_bounded(input: &[u8], gas_limit: u64) -> EthPrecompileResult {
    if input.len() > BN254_PAIRING_MAX_INPUT {
        return Err(PrecompileHalt::Bn254PairLength);
    }
    bn254::run_pair(
        input,
        bn254::pair::ISTANBUL_PAIR_PER_POINT,
        bn254::pair::ISTANBUL_PAIR_BASE,
        gas_limit,
    )
}

fn g1_msm_bounded(input: &[u8], gas_limit: u64) -> EthPrecompileResult {
    if input.len() > G1_MSM_MAX_INPUT {
        return Err(PrecompileHalt::Other("G1MSM beyond 128 pairs".into()));
    }
    revm::precompile::bls12_381::g1_msm::g1_msm(input, gas_limit)
}

fn g2_msm_bounded(input: &[u8], gas_limit: u64) -> EthPrecompileResult {
    if input.len() > G2_MSM_MAX_INPUT {
        return Err(PrecompileHalt::Other("G2MSM beyond 128 pairs".into()));
    }
    revm::precompile::bls12_381::g2_msm::g2_msm(input, gas_limit)
}

fn bls_pairing_bounded(input: &[u8], gas_limit: u64) -> EthPrecompileResult {
    if input.len() > BLS_PAIRING_MAX_INPUT {
        return Err(PrecompileHalt::Other(
            "BLS12-381 pairing beyond 128 pairs".into(),
        ));
    }
    revm::precompile::bls12_381::pairing::pairing(input, gas_limit)
}

eth_precompile_fn!(modexp_precompile, modexp_bounded);
eth_precompile_fn!(blake2f_precompile, blake2f_bounded);
eth_precompile_fn!(bn254_pairing_precompile, bn254_pairing_bounded);
eth_precompile_fn!(g1_msm_precompile, g1_msm_bounded);
eth_precompile_fn!(g2_msm_precompile, g2_msm_bounded);
eth_precompile_fn!(bls_pairing_precompile, bls_pairing_bounded);

/// The rollup's precompile set: op-revm's Isthmus set with the six bounded precompiles
/// replaced (0x05, 0x08, 0x09, 0x0c, 0x0e, 0x0f); every other address as OP Isthmus has it.
pub fn rollup() -> &'static Precompiles {
    static SET: OnceLock<Precompiles> = OnceLock::new();
    SET.get_or_init(|| {
        let mut set = op_revm::precompiles::isthmus().clone();
        // `extend` replaces the precompile at an address already in the set.
        set.extend([
            Precompile::new(PrecompileId::ModExp, u64_to_address(5), modexp_precompile),
            Precompile::new(
                PrecompileId::Bn254Pairing,
                bn254::pair::ADDRESS,
                bn254_pairing_precompile,
            ),
            Precompile::new(PrecompileId::Blake2F, u64_to_address(9), blake2f_precompile),
            Precompile::new(PrecompileId::Bls12G1Msm, G1_MSM_ADDRESS, g1_msm_precompile),
            Precompile::new(PrecompileId::Bls12G2Msm, G2_MSM_ADDRESS, g2_msm_precompile),
            Precompile::new(
                PrecompileId::Bls12Pairing,
                PAIRING_ADDRESS,
                bls_pairing_precompile,
            ),
        ]);
        set
    })
}

/// [`rollup`] as alloy-evm's precompile map (the precompiles of [`RollupEvmFactory`]'s EVMs).
pub fn map() -> PrecompilesMap {
    PrecompilesMap::from_static(rollup())
}

/// [`rollup`] as the precompile provider of an op-revm EVM over any context
/// (`Context::op()…build_op().with_precompiles(RollupPrecompiles::default())`): the set does not
/// follow the context's spec, since the rollup runs one.
#[derive(Debug, Clone)]
pub struct RollupPrecompiles(EthPrecompiles);

impl Default for RollupPrecompiles {
    fn default() -> Self {
        Self(EthPrecompiles {
            precompiles: rollup(),
            spec: SpecId::PRAGUE,
        })
    }
}

impl<CTX: ContextTr> PrecompileProvider<CTX> for RollupPrecompiles {
    type Output = InterpreterResult;

    fn set_spec(&mut self, _spec: <CTX::Cfg as Cfg>::Spec) -> bool {
        false
    }

    fn run(
        &mut self,
        context: &mut CTX,
        inputs: &CallInputs,
    ) -> Result<Option<InterpreterResult>, String> {
        PrecompileProvider::<CTX>::run(&mut self.0, context, inputs)
    }

    fn warm_addresses(&self) -> Box<impl Iterator<Item = Address>> {
        PrecompileProvider::<CTX>::warm_addresses(&self.0)
    }

    fn contains(&self, address: &Address) -> bool {
        PrecompileProvider::<CTX>::contains(&self.0, address)
    }
}

/// The block executor's EVM factory for the rollup: alloy-op-evm's [`OpEvmFactory`] with the
/// precompiles of [`rollup`] in place of op-revm's, whatever the spec (the rollup runs Isthmus
/// from genesis).
#[derive(Debug, Clone, Copy, Default)]
pub struct RollupEvmFactory;

impl EvmFactory for RollupEvmFactory {
    type Evm<DB: Database, I: Inspector<OpEvmContext<DB>>> = OpEvm<DB, I, PrecompilesMap, OpTx>;
    type Context<DB: Database> = OpEvmContext<DB>;
    type Tx = OpTx;
    type Error<DBError: core::error::Error + Send + Sync + 'static> = EVMError<DBError, OpTxError>;
    type HaltReason = OpHaltReason;
    type Spec = OpSpecId;
    type BlockEnv = BlockEnv;
    type Precompiles = PrecompilesMap;

    fn create_evm<DB: Database>(
        &self,
        db: DB,
        input: EvmEnv<OpSpecId, BlockEnv>,
    ) -> Self::Evm<DB, NoOpInspector> {
        let mut evm = OpEvmFactory::<OpTx>::default().create_evm(db, input);
        *evm.precompiles_mut() = map();
        evm
    }

    fn create_evm_with_inspector<DB: Database, I: Inspector<Self::Context<DB>>>(
        &self,
        db: DB,
        input: EvmEnv<OpSpecId, BlockEnv>,
        inspector: I,
    ) -> Self::Evm<DB, I> {
        let mut evm =
            OpEvmFactory::<OpTx>::default().create_evm_with_inspector(db, input, inspector);
        *evm.precompiles_mut() = map();
        evm
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(b: u64, e: u64, m: u64) -> Vec<u8> {
        [
            U256::from(b).to_be_bytes::<32>(),
            U256::from(e).to_be_bytes::<32>(),
            U256::from(m).to_be_bytes::<32>(),
        ]
        .concat()
    }

    /// The modexp bound: lengths up to 1024 bytes, the EIP-7883 price up to 4M gas.
    #[test]
    fn modexp_bounds() {
        // RSA-4096 verification (e = 65537): 2 · 64² · 16 = 131,072 on Osaka.
        let mut rsa = header(512, 3, 512);
        rsa.extend(vec![1u8; 512]);
        rsa.extend([1, 0, 1]);
        assert!(modexp_within_bounds(&rsa));
        // An operand of 1025 bytes is refused whatever the price.
        assert!(!modexp_within_bounds(&header(1025, 0, 1)));
        assert!(!modexp_within_bounds(&header(1, 1025, 1)));
        assert!(modexp_within_bounds(&header(1024, 0, 1024)));
        // 1024-byte operands with a 1024-byte exponent of all ones: far beyond 4M.
        let mut big = header(1024, 1024, 1024);
        big.extend(vec![0xff; 3072]);
        assert!(!modexp_within_bounds(&big));
        // A 256-byte modulus: 2 · 32² · (16 · (e − 32) + 255) ≤ 4M up to e = 138 bytes.
        let within = |e: u64| {
            let mut input = header(256, e, 256);
            input.extend(vec![0u8; 256]);
            input.extend(vec![0xff; e as usize]);
            modexp_within_bounds(&input)
        };
        assert!(within(138));
        assert!(!within(139));
    }

    /// The set replaces exactly the six bounded precompiles and keeps Isthmus's addresses.
    #[test]
    fn the_set_is_isthmus_with_bounds() {
        let isthmus = op_revm::precompiles::isthmus();
        assert_eq!(rollup().len(), isthmus.len());
        for address in isthmus.addresses() {
            assert!(rollup().contains(address));
        }
        let pairs = |address: u64, pair: usize, gas: u64| {
            let at = Address::left_padding_from(&address.to_be_bytes());
            let p = rollup().get(&at).expect("bounded precompile");
            let ok = |len: usize| {
                p.execute(&vec![0u8; len], gas, 0)
                    .map(|o| o.is_success())
                    .unwrap_or(false)
            };
            (ok(MAX_PAIRS * pair), ok((MAX_PAIRS + 1) * pair))
        };
        assert_eq!(pairs(0x08, 192, 30_000_000), (true, false));
        assert_eq!(pairs(0x0c, 160, 30_000_000), (true, false));
        assert_eq!(pairs(0x0e, 288, 30_000_000), (true, false));
        assert_eq!(pairs(0x0f, 384, 30_000_000), (true, false));
        // blake2f: 213 bytes, rounds first, the final flag last.
        let blake2f = rollup().get(&u64_to_address(9)).expect("blake2f");
        let rounds = |r: u32| {
            let mut input = vec![0u8; 213];
            input[..4].copy_from_slice(&r.to_be_bytes());
            blake2f
                .execute(&input, 5_000_000, 0)
                .map(|o| o.is_success())
                .unwrap_or(false)
        };
        assert!(rounds(BLAKE2F_MAX_ROUNDS));
        assert!(!rounds(BLAKE2F_MAX_ROUNDS + 1));
    }
}

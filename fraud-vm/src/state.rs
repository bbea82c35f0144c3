//! The machine state record and its commitment (SPEC.md §3), the stack hash chain (§3.3) and the
//! transaction and block environment records (§3.6).

use crate::merkle::empty_root;
use crate::world::WorldState;
use alloy::primitives::{Address, B256, U256, keccak256};

/// Domain tag of the machine state record (SPEC.md §2).
pub const TAG_STATE: u8 = 0x01;
/// Domain tag of a stack hash-chain link.
pub const TAG_STACK: u8 = 0x02;
/// Domain tag of the transaction environment record.
pub const TAG_TX_ENV: u8 = 0x03;
/// Domain tag of the block environment record.
pub const TAG_BLOCK_ENV: u8 = 0x04;
/// Domain tag of the block constants record.
pub const TAG_BLOCK_CONSTANTS: u8 = 0x17;

/// Maximum number of stack items (EVM limit).
pub const STACK_LIMIT: u64 = 1024;

/// Length in bytes of an encoded [`MachineState`].
pub const STATE_ENCODED_LEN: usize = 443;

/// Length in bytes of an encoded [`TxEnv`] without blob hashes.
pub const TX_ENV_FIXED_LEN: usize = 1 + 20 + 32 + 8 + 8 + 1 + 8 + 32 + 1 + 32 + 8 + 8 + 8 + 8;

/// Length in bytes of an encoded [`BlockEnv`].
pub const BLOCK_ENV_ENCODED_LEN: usize = 1 + 20 + 7 * 32 + 32 + 8 + 32 + 32 + 1;

/// Length in bytes of an encoded [`BlockConstants`].
pub const BLOCK_CONSTANTS_ENCODED_LEN: usize = 1 + 32 + 32 + 32 + 8 + 1 + 32;

/// Longest extra data a header holds (Ethereum's limit).
pub const MAX_EXTRA_DATA: usize = 32;

/// The execution rules of a block (SPEC.md §3.6): which engine built it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Rules {
    /// Ethereum Prague as plain revm runs it: no deposits, the base fee is burnt.
    #[default]
    Prague = 0,
    /// OP Stack Isthmus as op-revm runs it: deposit transactions, the L1 data fee, the operator
    /// fee, and the base fee paid to the BaseFeeVault.
    Isthmus = 1,
}

impl Rules {
    /// The rules with this code, if any.
    pub fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(Self::Prague),
            1 => Some(Self::Isthmus),
            _ => None,
        }
    }
}

/// Execution status of the current frame (SPEC.md §3.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    /// The frame executes its next opcode.
    Running = 0,
    /// STOP executed (success, no output).
    Stopped = 1,
    /// RETURN executed (success with output).
    Returned = 2,
    /// REVERT executed.
    Reverted = 3,
    /// Exceptional halt: out of gas, stack under/overflow, invalid jump, invalid or undefined
    /// opcode. All gas of the frame is consumed.
    ExceptionalHalt = 4,
    /// Between transactions: the state after a transaction end step (SPEC.md §5.9).
    Idle = 5,
    /// Before the block's pre-execution system calls: the state `blockStart` derives from the
    /// parent's output (SPEC.md §5.18); `pc` counts the system calls made.
    BlockStart = 6,
    /// After the last transaction, while the block end folds the world into the state trie and
    /// builds the transactions and receipts tries (SPEC.md §5.19).
    Sealing = 7,
    /// The block-end state: it holds the block's output root and is its own successor
    /// (SPEC.md §5.19, §12.6).
    BlockEnd = 8,
    /// [v0.15] Inside a transaction start with access-list entries or EIP-7702 authorizations:
    /// the stack holds the entries still to apply, each sub-step applies a bounded group of
    /// them, and the last one enters the top frame (SPEC.md §5.9).
    Starting = 9,
}

impl Status {
    /// The status with this code, if any.
    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Running,
            1 => Self::Stopped,
            2 => Self::Returned,
            3 => Self::Reverted,
            4 => Self::ExceptionalHalt,
            5 => Self::Idle,
            6 => Self::BlockStart,
            7 => Self::Sealing,
            8 => Self::BlockEnd,
            9 => Self::Starting,
            _ => return None,
        })
    }
}

/// The machine state record: everything a step may read, in committed form (SPEC.md §3.1).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MachineState {
    /// L2 block number.
    pub block_number: u64,
    /// Index of the transaction in its block.
    pub tx_index: u64,
    /// Call depth; 0 for the transaction's top frame.
    pub depth: u64,
    /// Program counter in the current code.
    pub pc: u64,
    /// Status of the current frame.
    pub status: Status,
    /// Gas left in the current frame.
    pub gas: u64,
    /// Refund counter of the current frame (may be negative inside a frame).
    pub refund: i64,
    /// Hash chain of the suspended caller frames (SPEC.md §3.5); zero at depth 0.
    pub frames_root: B256,
    /// Address whose code runs (ADDRESS).
    pub address: Address,
    /// Caller of the frame (CALLER).
    pub caller: Address,
    /// Value sent with the call (CALLVALUE).
    pub call_value: U256,
    /// Whether state changes are forbidden (STATICCALL context).
    pub is_static: bool,
    /// keccak256 of the code being executed.
    pub code_hash: B256,
    /// Top of the stack hash chain (SPEC.md §3.3).
    pub stack_root: B256,
    /// Number of stack items.
    pub stack_len: u64,
    /// Word-tree root of memory (SPEC.md §3.4).
    pub memory_root: B256,
    /// Memory size in bytes, a multiple of 32.
    pub memory_size: u64,
    /// Word-tree root of the calldata.
    pub calldata_root: B256,
    /// Calldata length in bytes.
    pub calldata_size: u64,
    /// Word-tree root of the return data of the last call.
    pub returndata_root: B256,
    /// Return data length in bytes.
    pub returndata_size: u64,
    /// Hash of the [`TxEnv`] record.
    pub tx_env_hash: B256,
    /// Hash of the [`BlockEnv`] record.
    pub block_env_hash: B256,
    /// World-state commitment: `keccak256` of the [`crate::world::World`] record (SPEC.md §3.7).
    pub world_root: B256,
}

impl MachineState {
    /// A state outside any call frame (block start, between transactions, sealing, block end):
    /// no frame, code, stack or return data, empty memory and calldata, no transaction or block
    /// environment. Callers set what their status carries.
    pub fn outside_frames(block_number: u64, status: Status, world_root: B256) -> Self {
        Self {
            block_number,
            tx_index: 0,
            depth: 0,
            pc: 0,
            status,
            gas: 0,
            refund: 0,
            frames_root: B256::ZERO,
            address: Address::ZERO,
            caller: Address::ZERO,
            call_value: U256::ZERO,
            is_static: false,
            code_hash: B256::ZERO,
            stack_root: B256::ZERO,
            stack_len: 0,
            memory_root: empty_root(),
            memory_size: 0,
            calldata_root: empty_root(),
            calldata_size: 0,
            returndata_root: B256::ZERO,
            returndata_size: 0,
            tx_env_hash: B256::ZERO,
            block_env_hash: B256::ZERO,
            world_root,
        }
    }

    /// The exact byte encoding hashed by [`Self::commitment`] (SPEC.md §3.1).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(STATE_ENCODED_LEN);
        out.push(TAG_STATE);
        out.extend_from_slice(&self.block_number.to_be_bytes());
        out.extend_from_slice(&self.tx_index.to_be_bytes());
        out.extend_from_slice(&self.depth.to_be_bytes());
        out.extend_from_slice(&self.pc.to_be_bytes());
        out.push(self.status as u8);
        out.extend_from_slice(&self.gas.to_be_bytes());
        out.extend_from_slice(&self.refund.to_be_bytes());
        out.extend_from_slice(self.frames_root.as_slice());
        out.extend_from_slice(self.address.as_slice());
        out.extend_from_slice(self.caller.as_slice());
        out.extend_from_slice(&self.call_value.to_be_bytes::<32>());
        out.push(u8::from(self.is_static));
        out.extend_from_slice(self.code_hash.as_slice());
        out.extend_from_slice(self.stack_root.as_slice());
        out.extend_from_slice(&self.stack_len.to_be_bytes());
        out.extend_from_slice(self.memory_root.as_slice());
        out.extend_from_slice(&self.memory_size.to_be_bytes());
        out.extend_from_slice(self.calldata_root.as_slice());
        out.extend_from_slice(&self.calldata_size.to_be_bytes());
        out.extend_from_slice(self.returndata_root.as_slice());
        out.extend_from_slice(&self.returndata_size.to_be_bytes());
        out.extend_from_slice(self.tx_env_hash.as_slice());
        out.extend_from_slice(self.block_env_hash.as_slice());
        out.extend_from_slice(self.world_root.as_slice());
        debug_assert_eq!(out.len(), STATE_ENCODED_LEN);
        out
    }

    /// The 32-byte commitment: `keccak256(encode())`.
    pub fn commitment(&self) -> B256 {
        keccak256(self.encode())
    }

    /// A running top-frame state with empty stack, memory and return data.
    pub fn new_frame(frame: FrameContext, env: &TxEnv, block: &BlockEnv) -> Self {
        Self::new_frame_hashed(frame, env.hash(), block.hash())
    }

    /// [`Self::new_frame`] with the environments' hashes given (a callee's are its caller's).
    pub fn new_frame_hashed(frame: FrameContext, tx_env_hash: B256, block_env_hash: B256) -> Self {
        Self {
            block_number: frame.block_number,
            tx_index: frame.tx_index,
            depth: 0,
            pc: 0,
            status: Status::Running,
            gas: frame.gas,
            refund: 0,
            frames_root: B256::ZERO,
            address: frame.address,
            caller: frame.caller,
            call_value: frame.call_value,
            is_static: frame.is_static,
            code_hash: crate::memo::code_hash(&frame.code),
            stack_root: B256::ZERO,
            stack_len: 0,
            memory_root: empty_root(),
            memory_size: 0,
            calldata_root: crate::merkle::WordTree::root_of(&frame.calldata),
            calldata_size: frame.calldata.len() as u64,
            returndata_root: empty_root(),
            returndata_size: 0,
            tx_env_hash,
            block_env_hash,
            world_root: frame.world_root,
        }
    }
}

/// Inputs of [`MachineState::new_frame`].
#[derive(Clone, Debug, Default)]
pub struct FrameContext {
    /// L2 block number.
    pub block_number: u64,
    /// Transaction index.
    pub tx_index: u64,
    /// Gas given to the frame.
    pub gas: u64,
    /// Executing address.
    pub address: Address,
    /// Caller.
    pub caller: Address,
    /// Call value.
    pub call_value: U256,
    /// Static context flag.
    pub is_static: bool,
    /// Code run by the frame.
    pub code: Vec<u8>,
    /// Calldata of the frame.
    pub calldata: Vec<u8>,
    /// World-state commitment.
    pub world_root: B256,
}

/// One link of the stack hash chain: the root of `below` with `item` pushed on top.
pub fn stack_push(below: B256, item: U256) -> B256 {
    let mut buf = [0u8; 65];
    buf[0] = TAG_STACK;
    buf[1..33].copy_from_slice(below.as_slice());
    buf[33..].copy_from_slice(&item.to_be_bytes::<32>());
    keccak256(buf)
}

/// A full stack with the hash-chain root of its prefixes (prover side). The roots are made
/// lazily: [`Self::sync`] and [`Self::push`] only keep the items, and the roots above the
/// last hashed prefix are made by [`Self::hash`] (kept) or folded on the fly by
/// [`Self::root`] (not kept), so a stack a tracer mirrors at every call but whose root no
/// committed state reads is never hashed.
#[derive(Clone, Debug)]
pub struct StackChain {
    items: Vec<U256>,
    /// `roots[i]` is the root of the bottom `i` items, for `i < roots.len() ≤ items.len() + 1`;
    /// `roots[0]` is zero.
    roots: Vec<B256>,
}

impl Default for StackChain {
    fn default() -> Self {
        Self {
            items: Vec::new(),
            roots: vec![B256::ZERO],
        }
    }
}

impl StackChain {
    /// Items, bottom first.
    pub fn items(&self) -> &[U256] {
        &self.items
    }

    /// Root of the whole stack.
    pub fn root(&self) -> B256 {
        self.root_of_bottom(self.items.len())
    }

    /// Root of the bottom `n` items (`n ≤ items().len()`), folded from the highest root kept.
    pub fn root_of_bottom(&self, n: usize) -> B256 {
        let kept = self.roots.len() - 1;
        if n <= kept {
            return self.roots[n];
        }
        self.items[kept..n]
            .iter()
            .fold(self.roots[kept], |root, item| stack_push(root, *item))
    }

    /// Makes and keeps the roots of every prefix, returning the whole stack's.
    pub fn hash(&mut self) -> B256 {
        for i in self.roots.len() - 1..self.items.len() {
            let root = stack_push(self.roots[i], self.items[i]);
            self.roots.push(root);
        }
        self.roots[self.items.len()]
    }

    /// Pushes an item on top.
    pub fn push(&mut self, item: U256) {
        self.items.push(item);
    }

    /// Keeps the bottom `n` items (all if fewer), with their roots.
    pub fn truncate(&mut self, n: usize) {
        self.items.truncate(n);
        self.roots.truncate(self.items.len() + 1);
    }

    /// Makes the stack equal to `items` (bottom first), keeping the roots of the common
    /// prefix.
    pub fn sync(&mut self, items: &[U256]) {
        let common = self
            .items
            .iter()
            .zip(items)
            .take_while(|(a, b)| a == b)
            .count();
        self.items.truncate(common);
        self.roots.truncate(common + 1);
        self.items.extend_from_slice(&items[common..]);
    }
}

/// The transaction environment read by ORIGIN, GASPRICE and BLOBHASH (SPEC.md §3.6).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TxEnv {
    /// Transaction sender (ORIGIN).
    pub origin: Address,
    /// Effective gas price (GASPRICE).
    pub gas_price: U256,
    /// The transaction's gas limit.
    pub gas_limit: u64,
    /// The least gas the transaction pays (EIP-7623 calldata floor).
    pub floor_gas: u64,
    /// Whether the transaction creates a contract (its top frame runs initcode).
    pub create: bool,
    /// Gas used by the block's earlier transactions.
    pub block_gas_before: u64,
    /// The receipt chain of the block's earlier transactions with this transaction's receipt
    /// opened (SPEC.md §5.9): what the transaction end links its receipt to.
    pub receipt_open: B256,
    /// Whether the transaction is an OP deposit (type 0x7E): no fee purchase, no refund, no
    /// fees at its end (SPEC.md §5.9).
    pub deposit: bool,
    /// The OP L1 data fee charged at the transaction start and paid to the L1FeeVault at its
    /// end (zero under Prague rules and for deposits).
    pub l1_fee: U256,
    /// The operator fee scalar read at the transaction start (Isthmus; zero otherwise).
    pub operator_fee_scalar: u64,
    /// The operator fee constant read at the transaction start (Isthmus; zero otherwise).
    pub operator_fee_constant: u64,
    /// The EIP-7702 refund of the authorizations applied to existing accounts (12500 each),
    /// added to the refund counter at the transaction end.
    pub auth_refund: u64,
    /// EIP-4844 versioned blob hashes (BLOBHASH).
    pub blob_hashes: Vec<B256>,
}

impl TxEnv {
    /// Encoding: `0x03 ‖ origin(20) ‖ gas_price(32) ‖ gas_limit(8) ‖ floor_gas(8) ‖ create(1) ‖
    /// block_gas_before(8) ‖ receipt_open(32) ‖ deposit(1) ‖ l1_fee(32) ‖
    /// operator_fee_scalar(8) ‖ operator_fee_constant(8) ‖ auth_refund(8) ‖ count(8) ‖
    /// blob_hashes(32 each)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(TX_ENV_FIXED_LEN + 32 * self.blob_hashes.len());
        out.push(TAG_TX_ENV);
        out.extend_from_slice(self.origin.as_slice());
        out.extend_from_slice(&self.gas_price.to_be_bytes::<32>());
        out.extend_from_slice(&self.gas_limit.to_be_bytes());
        out.extend_from_slice(&self.floor_gas.to_be_bytes());
        out.push(u8::from(self.create));
        out.extend_from_slice(&self.block_gas_before.to_be_bytes());
        out.extend_from_slice(self.receipt_open.as_slice());
        out.push(u8::from(self.deposit));
        out.extend_from_slice(&self.l1_fee.to_be_bytes::<32>());
        out.extend_from_slice(&self.operator_fee_scalar.to_be_bytes());
        out.extend_from_slice(&self.operator_fee_constant.to_be_bytes());
        out.extend_from_slice(&self.auth_refund.to_be_bytes());
        out.extend_from_slice(&(self.blob_hashes.len() as u64).to_be_bytes());
        for h in &self.blob_hashes {
            out.extend_from_slice(h.as_slice());
        }
        out
    }

    /// `keccak256(encode())`.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }
}

/// The block environment read by COINBASE..BLOBBASEFEE and CHAINID (SPEC.md §3.6).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlockEnv {
    /// Fee recipient (COINBASE).
    pub coinbase: Address,
    /// TIMESTAMP.
    pub timestamp: U256,
    /// NUMBER.
    pub number: U256,
    /// PREVRANDAO (0x44).
    pub prevrandao: U256,
    /// GASLIMIT.
    pub gas_limit: U256,
    /// BASEFEE.
    pub basefee: U256,
    /// BLOBBASEFEE.
    pub blob_basefee: U256,
    /// CHAINID.
    pub chain_id: U256,
    /// `keccak256` of the block's [`BlockConstants`]: the fields only the block's boundary
    /// steps read.
    pub constants_hash: B256,
    /// The block's transactions in their two sections (SPEC.md §3.6).
    pub transactions: TxRoots,
    /// The execution rules of the block.
    pub rules: Rules,
}

impl Default for BlockEnv {
    /// All fields zero, the default constants and the empty transaction list.
    fn default() -> Self {
        Self {
            coinbase: Address::ZERO,
            timestamp: U256::ZERO,
            number: U256::ZERO,
            prevrandao: U256::ZERO,
            gas_limit: U256::ZERO,
            basefee: U256::ZERO,
            blob_basefee: U256::ZERO,
            chain_id: U256::ZERO,
            constants_hash: BlockConstants::default().hash(),
            transactions: TxRoots::default(),
            rules: Rules::Prague,
        }
    }
}

impl BlockEnv {
    /// Encoding: `0x04 ‖ coinbase(20) ‖` the seven 32-byte words in field order
    /// `‖ constants_hash ‖ deposit_count(u64) ‖ deposits_root ‖ recorded_root ‖ rules(1)`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BLOCK_ENV_ENCODED_LEN);
        out.push(TAG_BLOCK_ENV);
        out.extend_from_slice(self.coinbase.as_slice());
        for w in [
            self.timestamp,
            self.number,
            self.prevrandao,
            self.gas_limit,
            self.basefee,
            self.blob_basefee,
            self.chain_id,
        ] {
            out.extend_from_slice(&w.to_be_bytes::<32>());
        }
        out.extend_from_slice(self.constants_hash.as_slice());
        out.extend_from_slice(&self.transactions.deposit_count.to_be_bytes());
        out.extend_from_slice(self.transactions.deposits_root.as_slice());
        out.extend_from_slice(self.transactions.recorded_root.as_slice());
        out.push(self.rules as u8);
        out
    }

    /// `keccak256(encode())`.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }
}

/// The block's transaction list in the two sections L1 defines (SPEC.md §3.6): the deposits
/// (derived from L1's deposit events) first, then the recorded transactions (the batch inbox's
/// list). Transaction `i` is word `i` of `deposits_root` when `i < deposit_count`, else word
/// `i − deposit_count` of `recorded_root`; each word is `keccak256` of the EIP-2718 encoding.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TxRoots {
    /// The number of transactions in the deposits section.
    pub deposit_count: u64,
    /// The word tree of the deposits' hashes.
    pub deposits_root: B256,
    /// The word tree of the recorded transactions' hashes.
    pub recorded_root: B256,
}

impl Default for TxRoots {
    /// Both sections empty.
    fn default() -> Self {
        Self {
            deposit_count: 0,
            deposits_root: empty_root(),
            recorded_root: empty_root(),
        }
    }
}

impl TxRoots {
    /// Whether transaction `index` is in the deposits section.
    pub fn is_deposit_slot(&self, index: u64) -> bool {
        index < self.deposit_count
    }

    /// Whether `proof` opens `word` as transaction `index`: in the section `index` falls in.
    pub fn verifies(&self, proof: &crate::merkle::WordProof, index: u64) -> bool {
        if self.is_deposit_slot(index) {
            proof.verifies(self.deposits_root, index)
        } else {
            proof.verifies(self.recorded_root, index - self.deposit_count)
        }
    }
}

/// The block-level values that no opcode reads, committed by the block environment's
/// `constants_hash` (SPEC.md §3.6): the system calls, the transaction count check and the
/// header read them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct BlockConstants {
    /// Hash of the parent block (the EIP-2935 system call writes it; the header's parent hash).
    pub parent_hash: B256,
    /// The parent beacon block root (EIP-4788; the header carries it).
    pub parent_beacon_root: B256,
    /// `keccak256` of the block's inputs record (SPEC.md §5.18): what ties the block to L1.
    pub inputs_hash: B256,
    /// Number of transactions in the block.
    pub tx_count: u64,
    /// The header's extra data, at most [`MAX_EXTRA_DATA`] bytes.
    pub extra_data: Vec<u8>,
}

impl BlockConstants {
    /// `0x17 ‖ parent_hash ‖ parent_beacon_root ‖ inputs_hash ‖ tx_count(u64) ‖ len(u8) ‖
    /// extra_data zero-padded to 32 bytes`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(BLOCK_CONSTANTS_ENCODED_LEN);
        out.push(TAG_BLOCK_CONSTANTS);
        out.extend_from_slice(self.parent_hash.as_slice());
        out.extend_from_slice(self.parent_beacon_root.as_slice());
        out.extend_from_slice(self.inputs_hash.as_slice());
        out.extend_from_slice(&self.tx_count.to_be_bytes());
        let len = self.extra_data.len().min(MAX_EXTRA_DATA);
        out.push(len as u8);
        let mut padded = [0u8; MAX_EXTRA_DATA];
        padded[..len].copy_from_slice(&self.extra_data[..len]);
        out.extend_from_slice(&padded);
        out
    }

    /// `keccak256(encode())`.
    pub fn hash(&self) -> B256 {
        keccak256(self.encode())
    }
}

/// The prover's full view of a machine state: the record plus the data behind its roots.
#[derive(Debug)]
pub struct FullState {
    /// The committed record.
    pub record: MachineState,
    /// The code of the current frame (`keccak256(code) == record.code_hash`).
    pub code: Vec<u8>,
    /// The stack (`stack.root() == record.stack_root`).
    pub stack: StackChain,
    /// Memory (`memory.root() == record.memory_root`).
    pub memory: crate::merkle::WordTree,
    /// Calldata (`calldata.root() == record.calldata_root`).
    pub calldata: crate::merkle::WordTree,
    /// Return data of the last call (`returndata.root() == record.returndata_root`).
    pub returndata: crate::merkle::WordTree,
    /// The transaction environment (`hash() == record.tx_env_hash`).
    pub tx_env: TxEnv,
    /// The block environment (`hash() == record.block_env_hash`).
    pub block_env: BlockEnv,
    /// The block constants (`hash() == block_env.constants_hash`), shared by every state of
    /// the block.
    pub constants: std::sync::Arc<BlockConstants>,
    /// The world (`record.commitment() == record.world_root`).
    pub world: WorldState,
    /// The suspended caller, for a frame at depth > 0 (`link().hash() == record.frames_root`).
    pub parent: Option<Box<crate::frame::ParentFrame>>,
    /// For the top frame: the world the transaction's checkpoint holds, which the transaction
    /// end restores if the top frame fails.
    pub entry_world: Option<Box<WorldState>>,
    /// The block's transactions and their trees (`roots() == block_env.transactions`), for
    /// transaction start steps.
    pub transactions: Option<std::sync::Arc<crate::tx::Transactions>>,
    /// The block end's prover state, for the block end steps (`record.hash() ==
    /// record.tx_env_hash` in a Sealing state).
    pub sealing: Option<Box<crate::block::Sealing>>,
}

impl Clone for FullState {
    /// A deep copy. The chain of suspended callers is copied in a loop, not by recursion, so
    /// that a state 1024 calls deep does not need a deep stack.
    fn clone(&self) -> Self {
        let mut callers = Vec::new();
        let mut next = self.parent.as_deref();
        while let Some(frame) = next {
            callers.push(frame);
            next = frame.state.parent.as_deref();
        }
        let mut parent = None;
        for frame in callers.into_iter().rev() {
            let mut state = frame.state.clone_frame();
            state.parent = parent;
            parent = Some(Box::new(crate::frame::ParentFrame {
                state,
                out_offset: frame.out_offset,
                out_len: frame.out_len,
                kind: frame.kind,
                world_at_entry: frame.world_at_entry.clone(),
            }));
        }
        let mut state = self.clone_frame();
        state.parent = parent;
        state
    }
}

impl FullState {
    /// The first state of a frame: empty stack and memory, calldata and code as given, in the
    /// world `world` (whose commitment replaces `frame.world_root`). `constants` must hash to
    /// `block_env.constants_hash`.
    pub fn new_frame(
        mut frame: FrameContext,
        tx_env: TxEnv,
        block_env: BlockEnv,
        constants: std::sync::Arc<BlockConstants>,
        world: WorldState,
    ) -> Self {
        frame.world_root = world.commitment();
        let mut state = Self::new_frame_uncommitted(frame, tx_env, block_env, constants, world);
        state.commit_words();
        state
    }

    /// [`Self::new_frame`] with `frame.world_root` kept as given (the world not hashed) and the
    /// calldata tree not hashed either (the record's `calldata_root` is stale until
    /// [`Self::commit_words`]): for a tracer that commits the world and the word trees only in
    /// the states it hands out (SPEC.md §7).
    pub fn new_frame_uncommitted(
        frame: FrameContext,
        tx_env: TxEnv,
        block_env: BlockEnv,
        constants: std::sync::Arc<BlockConstants>,
        world: WorldState,
    ) -> Self {
        let hashes = (tx_env.hash(), block_env.hash());
        Self::frame_uncommitted(frame, tx_env, block_env, hashes, constants, world)
    }

    /// [`Self::new_frame_uncommitted`] for a callee of `caller`: the same transaction and
    /// block environments, whose hashes the caller's record holds (not hashed again).
    pub fn callee_uncommitted(frame: FrameContext, caller: &FullState, world: WorldState) -> Self {
        Self::frame_uncommitted(
            frame,
            caller.tx_env.clone(),
            caller.block_env.clone(),
            (caller.record.tx_env_hash, caller.record.block_env_hash),
            caller.constants.clone(),
            world,
        )
    }

    /// A frame's first state with the environments' hashes given (for a state whose record
    /// the caller replaces, any).
    pub(crate) fn frame_uncommitted(
        mut frame: FrameContext,
        tx_env: TxEnv,
        block_env: BlockEnv,
        (tx_env_hash, block_env_hash): (B256, B256),
        constants: std::sync::Arc<BlockConstants>,
        world: WorldState,
    ) -> Self {
        // The calldata tree is hashed when a commitment first needs its root.
        let calldata_bytes = std::mem::take(&mut frame.calldata);
        let calldata_size = calldata_bytes.len() as u64;
        let calldata = crate::merkle::WordTree::from_vec(calldata_bytes);
        let code = frame.code.clone();
        let mut record = MachineState::new_frame_hashed(frame, tx_env_hash, block_env_hash);
        record.calldata_size = calldata_size;
        Self {
            constants,
            world,
            parent: None,
            entry_world: None,
            transactions: None,
            sealing: None,
            record,
            code,
            stack: StackChain::default(),
            memory: crate::merkle::WordTree::new(),
            calldata,
            returndata: crate::merkle::WordTree::new(),
            tx_env,
            block_env,
        }
    }

    /// The Idle state before transaction `tx_index` of block `block_number` (SPEC.md §5.9): the
    /// block's gas used so far, the receipt chain of `receipts` receipts, and `world` with its
    /// per-transaction parts empty.
    #[allow(clippy::too_many_arguments)]
    pub fn idle(
        block_number: u64,
        tx_index: u64,
        gas: u64,
        receipts: B256,
        block_env: BlockEnv,
        constants: std::sync::Arc<BlockConstants>,
        world: WorldState,
        transactions: std::sync::Arc<crate::tx::Transactions>,
    ) -> Self {
        let mut idle = Self::new_frame(
            FrameContext::default(),
            TxEnv::default(),
            block_env,
            constants,
            world,
        );
        idle.code = Vec::new();
        idle.record = MachineState {
            tx_index,
            gas,
            returndata_root: receipts,
            returndata_size: tx_index,
            block_env_hash: idle.record.block_env_hash,
            ..MachineState::outside_frames(block_number, Status::Idle, idle.world.commitment())
        };
        idle.transactions = Some(transactions);
        idle
    }

    /// Makes the record's memory, calldata and return data roots from the trees held: a tracer
    /// leaves them stale (as it leaves the world's commitment) in the states it does not commit
    /// (SPEC.md §7), so a tree is hashed only for a state whose commitment is read. Only for a
    /// state inside a call frame (an Idle state's `returndata_root` is its receipt chain).
    pub fn commit_words(&mut self) {
        self.record.stack_root = self.stack.hash();
        self.record.stack_len = self.stack.items().len() as u64;
        self.record.memory_root = self.memory.root();
        self.record.calldata_root = self.calldata.root();
        self.record.returndata_root = self.returndata.root();
    }

    /// A copy of this frame's state without its suspended callers.
    fn clone_frame(&self) -> Self {
        Self {
            record: self.record.clone(),
            code: self.code.clone(),
            stack: self.stack.clone(),
            memory: self.memory.clone(),
            calldata: self.calldata.clone(),
            returndata: self.returndata.clone(),
            tx_env: self.tx_env.clone(),
            block_env: self.block_env.clone(),
            constants: self.constants.clone(),
            world: self.world.clone(),
            parent: None,
            entry_world: self.entry_world.clone(),
            transactions: self.transactions.clone(),
            sealing: self.sealing.clone(),
        }
    }

    /// Whether every root and hash in the record matches the data held (a prover self-check).
    pub fn is_consistent(&self) -> bool {
        let r = &self.record;
        keccak256(&self.code) == r.code_hash
            && self.stack.root() == r.stack_root
            && self.stack.items().len() as u64 == r.stack_len
            && self.memory.root() == r.memory_root
            && self.calldata.root() == r.calldata_root
            && self.returndata.root() == r.returndata_root
            && self.tx_env.hash() == r.tx_env_hash
            && self.block_env.hash() == r.block_env_hash
            && self.constants.hash() == self.block_env.constants_hash
            && self.world.commitment() == r.world_root
            && match &self.parent {
                Some(p) => p.link().hash() == r.frames_root && p.state.record.depth + 1 == r.depth,
                None => r.frames_root.is_zero() && r.depth == 0,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_has_fixed_length_and_fields_matter() {
        let s = MachineState::new_frame(
            FrameContext {
                gas: 100,
                code: vec![0x00],
                ..Default::default()
            },
            &TxEnv::default(),
            &BlockEnv::default(),
        );
        assert_eq!(s.encode().len(), STATE_ENCODED_LEN);
        let mut t = s.clone();
        t.refund = -1;
        assert_ne!(s.commitment(), t.commitment());
        let mut t = s.clone();
        t.is_static = true;
        assert_ne!(s.commitment(), t.commitment());
    }

    /// The state of the test vector in SPEC.md §9.
    pub(crate) fn vector_state() -> MachineState {
        MachineState::new_frame(
            FrameContext {
                block_number: 1,
                tx_index: 2,
                gas: 100_000,
                address: Address::repeat_byte(0xaa),
                caller: Address::repeat_byte(0xcc),
                call_value: U256::from(5),
                is_static: false,
                code: vec![0x60, 0x01, 0x00],
                calldata: vec![0x01, 0x02, 0x03],
                world_root: B256::repeat_byte(0x77),
            },
            &TxEnv::default(),
            &BlockEnv::default(),
        )
    }

    /// The block constants of the test vector in SPEC.md §9: parent hash `0x11…11`, parent
    /// beacon root `0x22…22`, inputs hash `0x33…33`, 5 transactions, op-node's Holocene extra
    /// data (version 0, denominator 250, elasticity 6).
    pub(crate) fn vector_constants() -> BlockConstants {
        BlockConstants {
            parent_hash: B256::repeat_byte(0x11),
            parent_beacon_root: B256::repeat_byte(0x22),
            inputs_hash: B256::repeat_byte(0x33),
            tx_count: 5,
            extra_data: vec![0, 0, 0, 0, 250, 0, 0, 0, 6],
        }
    }

    /// The vectors of SPEC.md §9, so that the document and the code cannot drift apart.
    #[test]
    fn spec_vectors() {
        use crate::smt::SparseTree;
        use crate::world::{AccountRecord, World, account_key, slot_leaf};
        let hex = |b: B256| b.to_string();
        let mut tree = SparseTree::default();
        tree.set(
            account_key(Address::repeat_byte(0xaa)),
            AccountRecord::default().leaf(),
        );
        let vectors = [
            ("empty word tree", empty_root()),
            ("stack [1]", stack_push(B256::ZERO, U256::from(1))),
            ("tx env", TxEnv::default().hash()),
            ("block env", BlockEnv::default().hash()),
            ("state", vector_state().commitment()),
            ("world", World::default().commitment()),
            ("account record", AccountRecord::default().leaf()),
            ("account key", account_key(Address::repeat_byte(0xaa))),
            ("slot leaf 0", slot_leaf(U256::ZERO)),
            ("overlay of one account", tree.root()),
            ("block constants", vector_constants().hash()),
            (
                "receipt opening",
                crate::step::receipt_open(B256::repeat_byte(0x44), Some(5), 3),
            ),
            (
                "sealing record",
                crate::block::SealingRecord::default().hash(),
            ),
            (
                "folded key",
                crate::block::folded_key(Address::repeat_byte(0xaa)),
            ),
            (
                "output root",
                crate::block::output_root(
                    B256::repeat_byte(0x11),
                    B256::repeat_byte(0x22),
                    B256::repeat_byte(0x33),
                ),
            ),
            (
                "block-end state",
                crate::block::block_end_state(1, B256::repeat_byte(0x77)).commitment(),
            ),
            (
                "block inputs",
                crate::block_start::BlockInputs {
                    timestamp: 1_700_000_000,
                    prevrandao: B256::repeat_byte(0x42),
                    parent_beacon_root: B256::ZERO,
                    deposit_count: 1,
                    deposits_root: empty_root(),
                    recorded_count: 1,
                    recorded_root: empty_root(),
                }
                .hash(),
            ),
        ];

        let expected = [
            "0x27ae5ba08d7291c96c8cbddcc148bf48a6d68c7974b94356f53754ef6171d757",
            "0x38da5aeb02e83ef4d3be6943577dabd54c0571a7d3ccbdf5ed5f07ffcb40c46c",
            "0x01cc2d292ced368379f14e169482ca5354949f3b9cb605d5e3785806dcea515d",
            "0xdaf0771eea84f0620fd0ed006b98f21c306a0f56448a272bfffa975748cef5a8",
            "0x144cb553693f2ff237648383d940b01a468f1d9a7302dcb4379cf9007d5256a9",
            "0xec829739907d57e6bb1c9a5a859900526651c6fc94aa029b2d7d7b20c61bf9d7",
            "0x078cfee41c5e6e2b45222a4eb56c47143323f887cc39c0a607f129cd06f27a49",
            "0x83a6517503b3c208235ec369ec52e65e39d654a5a903d0b9c9c0ed7a97e939d9",
            "0xe86a1db0d58cfb8350c8538652ad0bab73337472ac49793a2eb9d03f1a615d83",
            "0x5e6bf182185c6886f8edbfa5fc7f57ea7af80eb4d355f9cd66b3c4aa4da8d58d",
            "0x1d7fb42221668cc641d08bfd4c97eb3841f1db38dd4c031e92efb54ed6850341",
            "0x558d99aa5db324c3219f864c9594f2668110b9d21f794464ba5e39b8db6ebdd9",
            "0x616cd07850cec54047ed999c9b575decb7281be47b7f2333ad97bf711cd45bcf",
            "0x7754f672ec4e8d7fdd1d55a5598d7aa7823564bb4d058cfb06bcc5f39d377158",
            "0xd50bf2ff34ced71be0d2f0be7c2433c6b39d9c3b16c95daf1ed6f24b7578a3b2",
            "0xaf09f5b3cf0d32273158bf4d022d9dee108e04b09769dfa61fd1d5abdaf684d3",
            "0xb01a15f5d942520faddeb0694227e606b431976e61c78ee62bddb2bdf1c77177",
        ];
        for ((name, value), want) in vectors.iter().zip(expected) {
            assert_eq!(hex(*value), want, "{name}");
        }
    }

    #[test]
    fn stack_chain_sync_matches_fresh_build() {
        let mut a = StackChain::default();
        a.sync(&[U256::from(1), U256::from(2), U256::from(3)]);
        a.sync(&[U256::from(1), U256::from(9)]);
        let mut b = StackChain::default();
        b.push(U256::from(1));
        b.push(U256::from(9));
        assert_eq!(a.root(), b.root());
        assert_eq!(
            a.root(),
            stack_push(stack_push(B256::ZERO, U256::from(1)), U256::from(9))
        );
    }
}

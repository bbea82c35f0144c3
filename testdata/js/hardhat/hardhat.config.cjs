// The L1 of the "hardhat as the L1" bridge test (test/bridge.test.mjs): a plain `npx hardhat node`
// with the test mnemonic's accounts. op-node's service keys are accounts 10..13, so there must be
// at least 14 funded accounts; interval mining keeps blocks coming for the node's L1 watcher even
// when nobody sends a transaction. Blocks may share a timestamp, so that block time follows the wall
// clock: otherwise each extra block in a second pushes it a second ahead (the proposer alone sends one
// transaction every couple of seconds), and viem's countdowns, which compare L1 timestamps with the
// wall clock, would be off by that drift.
module.exports = {
  networks: {
    hardhat: {
      chainId: 31337,
      accounts: {
        mnemonic: "test test test test test test test test test test test junk",
        count: 20,
      },
      mining: { auto: true, interval: 1000 },
      allowBlocksWithSameTimestamp: true,
    },
  },
};

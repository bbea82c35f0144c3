// The L1 batch inbox (bridge/contracts/L1/BatchInbox.sol, op-node/BATCHES.md v1) as a user sees it:
// where it stands, and forcing the next epoch once the sequencer has left it for the sequencing
// window — what anyone does to get a censored deposit in.
//
//   const inbox = batchInbox(r);                 // r = loadRollup(...)
//   await inbox.forceWhenDue(r.wallet(9), () => landed());
import { bridgeAbi } from "./rollup.mjs";
import { headerHash, headerRlp } from "./block.mjs";
import { rpc } from "./rpc.mjs";
import { sleep } from "./node.mjs";

const ABI = bridgeAbi("BatchInbox");

export function batchInbox(r) {
  const address = r.addresses.BatchInbox;
  const read = (functionName, args = []) => r.l1.readContract({ address, abi: ABI, functionName, args });
  return {
    address,
    state: () => read("inboxState"),
    forcibleFrom: () => read("forcibleFrom"),
    /** The RLP header of L1 block `number`, checked against its hash. */
    async header(number) {
      const block = await rpc(r.addresses.l1RpcUrl, "eth_getBlockByNumber", [`0x${number.toString(16)}`, false]);
      const rlp = headerRlp(block);
      if (headerHash(block) !== block.hash) throw new Error(`L1 block ${number}: the header does not re-encode to its hash`);
      return rlp;
    },
    /** Forces the next epoch from `wallet` (anyone); returns the receipt. */
    async forceNextEpoch(wallet) {
      const s = await read("inboxState");
      const epoch = s.started ? s.epoch + 1n : await read("genesisEpoch");
      const hash = await wallet.l1.writeContract({ address, abi: ABI, functionName: "forceNextEpoch", args: [await this.header(Number(epoch))] });
      return r.l1.waitForTransactionReceipt({ hash, timeout: 30_000 });
    },
    /** Forces epochs as their windows pass until `done()` answers truthy (or `limitMs`); returns how many. */
    async forceUntil(wallet, done, limitMs = 90_000) {
      const deadline = Date.now() + limitMs;
      let forced = 0;
      while (!(await done())) {
        if (Date.now() > deadline) throw new Error(`not done after forcing ${forced} epochs in ${limitMs / 1000} s`);
        const head = await r.l1.getBlockNumber();
        if (head + 1n >= (await read("forcibleFrom"))) {
          // Someone else may force first: the estimate then reverts WindowOpen; look again.
          const receipt = await this.forceNextEpoch(wallet).catch(() => null);
          if (receipt?.status === "success") forced += 1;
        } else {
          await sleep(250);
        }
      }
      return forced;
    },
  };
}

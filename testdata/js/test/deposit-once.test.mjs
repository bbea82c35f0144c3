// Each L1 deposit log mints exactly once on L2, even when the node is killed (SIGKILL) and
// restarted after the deposit landed: derivation reads its L1 origin back from the L2 head and
// never includes an origin's deposits twice. Also: a deposit whose L2 call reverts still mints,
// and a contract-creation deposit deploys its code.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { ethers } from "ethers";
import { startNode, MNEMONIC, makeProvider } from "../lib/node.mjs";

const PORTAL_ABI = ["function depositTransaction(address,uint256,uint64,bool,bytes) payable"];
const DEPOSITED = ethers.id("TransactionDeposited(address,address,uint256,bytes)");
const nodes = [];
after(async () => {
  for (const n of nodes) await n.stop();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

function addresses(node) {
  return JSON.parse(fs.readFileSync(path.join(node.datadir, "addresses.json"), "utf8"));
}

/** Every deposit transaction (type 0x7e, not the L1-info one) on L2 with this source hash. */
async function depositsWithSource(l2, sourceHash) {
  const head = await l2.getBlockNumber();
  let found = 0;
  for (let n = 0; n <= head; n++) {
    const block = await l2.send("eth_getBlockByNumber", [ethers.toQuantity(n), true]);
    found += block.transactions.filter((t) => t.type === "0x7e" && t.sourceHash === sourceHash).length;
  }
  return found;
}

function userSourceHash(l1BlockHash, logIndex) {
  const inner = ethers.keccak256(ethers.concat([l1BlockHash, ethers.zeroPadValue(ethers.toBeHex(logIndex), 32)]));
  return ethers.keccak256(ethers.concat([ethers.ZeroHash, inner]));
}

test("deposits mint once across kill -9 and restart; reverting and creation deposits", async () => {
  const node = await startNode({ name: "deposit-once" });
  nodes.push(node);
  const a = addresses(node);
  const l1 = new ethers.JsonRpcProvider(a.l1RpcUrl, undefined, { polling: true, pollingInterval: 100 });
  const user = ethers.HDNodeWallet.fromPhrase(MNEMONIC, undefined, "m/44'/60'/0'/0/5").connect(l1);
  const portal = new ethers.Contract(a.OptimismPortal, PORTAL_ABI, user);
  let l2 = node.provider();

  // A plain deposit.
  const amount = ethers.parseEther("3");
  const before = await l2.getBalance(user.address);
  const receipt = await (await portal.depositTransaction(user.address, amount, 100_000, false, "0x", { value: amount })).wait();
  const log = receipt.logs.find((l) => l.topics[0] === DEPOSITED);
  assert.ok(log, "the portal emits TransactionDeposited");
  const source = userSourceHash(receipt.blockHash, log.index);
  await until("the deposit on L2", async () => (await l2.getBalance(user.address)) === before + amount);
  assert.equal(await depositsWithSource(l2, source), 1);

  // Kill the node right after the deposit landed, restart it, let it build more blocks.
  await node.kill9();
  await node.restart();
  l2 = node.provider();
  const restartHead = await l2.getBlockNumber();
  await until("blocks after the restart", async () => (await l2.getBlockNumber()) > restartHead + 20);
  assert.equal(await l2.getBalance(user.address), before + amount, "no second mint after a restart");
  assert.equal(await depositsWithSource(l2, source), 1, "the deposit is in exactly one L2 block");

  // A deposit whose call reverts on L2 (a contract-creation-free call into code that reverts:
  // the L1Block predeploy refuses anyone but the depositor) still mints to the sender.
  const a2 = addresses(node);
  const l1b = new ethers.JsonRpcProvider(a2.l1RpcUrl, undefined, { polling: true, pollingInterval: 100 });
  const user2 = user.connect(l1b);
  const portal2 = new ethers.Contract(a2.OptimismPortal, PORTAL_ABI, user2);
  const mint = ethers.parseEther("1");
  const beforeRevert = await l2.getBalance(user.address);
  const revertData = "0x098999be"; // setL1BlockValuesIsthmus() from a non-depositor: reverts
  const r2 = await (await portal2.depositTransaction(a2.L1Block, 0, 200_000, false, revertData, { value: mint })).wait();
  const log2 = r2.logs.find((l) => l.topics[0] === DEPOSITED);
  const source2 = userSourceHash(r2.blockHash, log2.index);
  const tx2 = await until("the reverting deposit on L2", async () => {
    const head = await l2.getBlockNumber();
    for (let n = Math.max(0, head - 40); n <= head; n++) {
      const block = await l2.send("eth_getBlockByNumber", [ethers.toQuantity(n), true]);
      const t = block.transactions.find((t) => t.type === "0x7e" && t.sourceHash === source2);
      if (t) return t;
    }
    return null;
  });
  const rc2 = await l2.send("eth_getTransactionReceipt", [tx2.hash]);
  assert.equal(rc2.status, "0x0", "the deposit's L2 call reverted");
  assert.equal(BigInt(tx2.mint), mint);
  assert.equal(await l2.getBalance(user.address), beforeRevert + mint, "the mint still landed");

  // A contract-creation deposit: init code that deploys runtime 0x602a60005260206000f3 (returns 42).
  const runtime = "602a60005260206000f3";
  const init = "0x69" + runtime + "600052600a6016f3";
  const r3 = await (await portal2.depositTransaction(ethers.ZeroAddress, 0, 300_000, true, init)).wait();
  const log3 = r3.logs.find((l) => l.topics[0] === DEPOSITED);
  const source3 = userSourceHash(r3.blockHash, log3.index);
  const tx3 = await until("the creation deposit on L2", async () => {
    const head = await l2.getBlockNumber();
    for (let n = Math.max(0, head - 40); n <= head; n++) {
      const block = await l2.send("eth_getBlockByNumber", [ethers.toQuantity(n), true]);
      const t = block.transactions.find((t) => t.type === "0x7e" && t.sourceHash === source3);
      if (t) return t;
    }
    return null;
  });
  const rc3 = await l2.send("eth_getTransactionReceipt", [tx3.hash]);
  assert.equal(rc3.status, "0x1");
  assert.ok(rc3.contractAddress, "the receipt names the created contract");
  assert.equal(await l2.getCode(rc3.contractAddress), "0x" + runtime);
  assert.equal(BigInt(await l2.call({ to: rc3.contractAddress })), 42n);
});

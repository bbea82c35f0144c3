// `op-node check-block` (issue 5) as a user runs it against a running devnet: every step of blocks
// holding the deployment of Uniswap V2 (WETH9, UniswapV2Factory, UniswapV2Router02 from npm,
// unchanged) and of OpenZeppelin ERC-20s, liquidity, swaps, token transfers, ETH transfers and the
// L1-info deposit that opens every block, traced with op-revm, proved and verified by fraud-vm's
// reference verifier from the node's `debug_executionWitness`.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { MaxUint256, parseEther } from "ethers";
import { OP_NODE_BIN, makeProvider, startNode, testWallets } from "../lib/node.mjs";
import { artifact, deploy, npmBuild } from "../lib/contracts.mjs";

let node;
let provider;

before(async () => {
  node = await startNode({ name: "check-block", blockTime: "1s", args: ["--no-web"] });
  provider = makeProvider(node.url);
});

after(async () => {
  provider?.destroy();
  await node?.stop();
});

/** Runs `op-node check-block`; resolves to { code, stdout, stderr }. */
function checkBlock(args) {
  return new Promise((resolve) => {
    execFile(OP_NODE_BIN, ["check-block", ...args], { timeout: 300_000, maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      resolve({ code: error ? (error.code ?? 1) : 0, stdout, stderr });
    });
  });
}

test("every step of blocks with Uniswap V2 swaps, ERC-20 transfers and deposits verifies", { timeout: 600_000 }, async () => {
  const [deployer, trader] = testWallets(provider);
  const blocks = new Set();
  const mined = async (txPromise) => {
    const tx = await txPromise;
    const receipt = await tx.wait(1, 30_000);
    assert.equal(receipt.status, 1, `tx ${tx.hash} succeeded`);
    blocks.add(receipt.blockNumber);
    return receipt;
  };
  const deployed = async (...args) => {
    const d = await deploy(...args);
    blocks.add(d.receipt.blockNumber);
    return d.contract;
  };
  const weth = await deployed(deployer, npmBuild("@uniswap/v2-periphery", "WETH9"));
  const factory = await deployed(deployer, npmBuild("@uniswap/v2-core", "UniswapV2Factory"), [deployer.address]);
  const router = await deployed(deployer, npmBuild("@uniswap/v2-periphery", "UniswapV2Router02"), [await factory.getAddress(), await weth.getAddress()]);
  const token = await deployed(deployer, artifact("TestToken"), ["Token", "TK", parseEther("1000000")]);
  const deadline = BigInt((await provider.getBlock("latest")).timestamp) + 3600n;
  await mined(token.approve(await router.getAddress(), MaxUint256));
  await mined(router.addLiquidityETH(await token.getAddress(), parseEther("10000"), 0, 0, deployer.address, deadline, { value: parseEther("10") }));
  const path = [await weth.getAddress(), await token.getAddress()];
  // One block with several kinds at once: swaps both ways, token transfers, an ETH transfer.
  await mined(token.transfer(trader.address, parseEther("100")));
  await mined(token.connect(trader).approve(await router.getAddress(), MaxUint256));
  const sent = [
    await router.connect(trader).swapExactETHForTokens(0, path, trader.address, deadline, { value: parseEther("0.1"), gasLimit: 300_000 }),
    await router.connect(trader).swapExactTokensForETH(parseEther("5"), 0, [...path].reverse(), trader.address, deadline, { gasLimit: 300_000 }),
    await token.transfer("0x000000000000000000000000000000000000c0de", 12345n),
    await deployer.sendTransaction({ to: "0x000000000000000000000000000000000000beef", value: 1n }),
  ];
  for (const t of sent) await mined(Promise.resolve(t));

  // fraud-vm v0.5 proves every step of a block: the block start from the parent's output (its
  // system calls), every transaction step, and the block end (state trie fold, transactions and
  // receipts roots, header, block hash), whose output root must be the one the header gives. A
  // valid block exits 0; a step that fails says so ("transaction i, step k (kind): ...").
  let steps = 0;
  for (const n of [...blocks].sort((a, b) => a - b)) {
    const { code, stdout, stderr } = await checkBlock(["--rpc", node.url, "--block", String(n)]);
    const all = `check-block --block ${n} exited ${code}:\n${stdout}\n${stderr.slice(-3000)}`;
    assert.equal(code, 0, all);
    assert.match(stdout, /every step verified/, all);
    assert.match(stdout, /SystemCall +2 /, `the block start's system calls: ${all}`);
    assert.match(stdout, /Seal +1 /, `the block end's seal: ${all}`);
    assert.doesNotMatch(stderr, /not checkable|differ|missing/, all);
    const m = stdout.match(/(\d+) transactions, (\d+) gas, (\d+) steps proved and verified/);
    assert.ok(m, `the report of block ${n}: ${all}`);
    steps += Number(m[3]);
    console.log(`# block ${n}: ${stdout.split("\n")[1]} | ${stdout.split("\n").find((l) => l.startsWith("trace, prove and verify"))}`);
  }
  assert.ok(steps > 1000, `the checked blocks hold real work (${steps} steps)`);
});

test("bad input to check-block: a clear error and exit 1", async () => {
  const future = await checkBlock(["--rpc", node.url, "--block", "99999999"]);
  assert.equal(future.code, 1);
  assert.match(future.stderr, /debug_getRawBlock/);
  const garbage = await checkBlock(["--rpc", node.url, "--block", "pending"]);
  assert.equal(garbage.code, 1);
  assert.match(garbage.stderr, /--block "pending"/);
  const nobody = await checkBlock(["--rpc", "http://127.0.0.1:1", "--block", "1"]);
  assert.equal(nobody.code, 1);
  assert.match(nobody.stderr, /eth_chainId from http:\/\/127\.0\.0\.1:1/);
});

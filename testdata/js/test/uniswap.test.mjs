// Acceptance of issue 2: a dapp developer deploys Uniswap V2 unchanged (the bytecode shipped in
// @uniswap/v2-core and @uniswap/v2-periphery) and two OpenZeppelin 5 ERC-20s with ethers v6, adds
// liquidity, swaps, and checks the outcome through the node's JSON-RPC.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import {
  Contract,
  Interface,
  MaxUint256,
  Transaction,
  getAddress,
  getCreate2Address,
  getCreateAddress,
  keccak256,
  parseEther,
  solidityPacked,
  toQuantity,
  zeroPadValue,
} from "ethers";
import { makeProvider, startNode, testWallets, CHAIN_ID } from "../lib/node.mjs";
import { artifact, deploy, npmBuild } from "../lib/contracts.mjs";
import { describe as describeRpc, rpc, rpcError } from "../lib/rpc.mjs";
import { logsBloom, bloomContains } from "../lib/bloom.mjs";

const CORE = "@uniswap/v2-core";
const PERIPHERY = "@uniswap/v2-periphery";
// keccak256 of UniswapV2Pair's creation code, hard-coded in the router's UniswapV2Library.pairFor.
const PAIR_INIT_CODE_HASH = "0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f";
const ERROR_STRING = new Interface(["function Error(string)"]);

let node;
let provider;
let deployer;
let trader;
// Filled in as the tests go; each test depends on the ones before it (node:test runs them in order).
const c = {};
let deadline;

async function mined(txPromise) {
  const tx = await txPromise;
  const receipt = await tx.wait(1, 30_000);
  assert.equal(receipt.status, 1, `tx ${tx.hash} reverted`);
  return receipt;
}

before(async () => {
  node = await startNode({ name: "uniswap" });
  provider = makeProvider(node.url);
  [deployer, trader] = testWallets(provider);
});

after(async () => {
  provider?.destroy();
  await node?.stop();
});

describe("Uniswap V2 on op-node", () => {
  test("deploys WETH9, UniswapV2Factory, UniswapV2Router02 from npm unchanged and two TestTokens", async () => {
    const latest = await provider.getBlock("latest");
    deadline = BigInt(latest.timestamp) + 3600n;

    const startNonce = await provider.getTransactionCount(deployer.address, "latest");
    const weth = await deploy(deployer, npmBuild(PERIPHERY, "WETH9"));
    const factory = await deploy(deployer, npmBuild(CORE, "UniswapV2Factory"), [deployer.address]);
    c.weth = weth.contract;
    c.factory = factory.contract;
    // constructor(address _factory, address _WETH)
    const router = await deploy(deployer, npmBuild(PERIPHERY, "UniswapV2Router02"), [await c.factory.getAddress(), await c.weth.getAddress()]);
    c.router = router.contract;
    const supply = parseEther("1000000");
    const a = await deploy(deployer, artifact("TestToken"), ["Token A", "TKA", supply]);
    const b = await deploy(deployer, artifact("TestToken"), ["Token B", "TKB", supply]);
    c.tokenA = a.contract;
    c.tokenB = b.contract;

    // Contract addresses follow CREATE's rule, receipt by receipt.
    const receipts = [weth.receipt, factory.receipt, router.receipt, a.receipt, b.receipt];
    receipts.forEach((r, i) => {
      assert.equal(r.contractAddress, getCreateAddress({ from: deployer.address, nonce: startNonce + i }));
      assert.equal(r.to, null);
    });

    // The code at those addresses is the compiled runtime code, unchanged.
    assert.equal(await provider.getCode(factory.receipt.contractAddress), npmBuild(CORE, "UniswapV2Factory").deployedBytecode);
    assert.equal(await provider.getCode(a.receipt.contractAddress), artifact("TestToken").deployedBytecode);

    assert.equal(await c.router.factory(), await c.factory.getAddress());
    assert.equal(await c.router.WETH(), await c.weth.getAddress());
    assert.equal(await c.tokenA.name(), "Token A");
    assert.equal(await c.tokenB.symbol(), "TKB");
    assert.equal(await c.tokenA.totalSupply(), supply);
    assert.equal(await c.tokenA.balanceOf(deployer.address), supply);
  });

  test("adds liquidity through the router (pair created with CREATE2)", async () => {
    const routerAddr = await c.router.getAddress();
    await mined(c.tokenA.approve(routerAddr, MaxUint256));
    await mined(c.tokenB.approve(routerAddr, MaxUint256));
    const amountA = parseEther("10000");
    const amountB = parseEther("40000");
    const A = await c.tokenA.getAddress();
    const B = await c.tokenB.getAddress();
    const receipt = await mined(c.router.addLiquidity(A, B, amountA, amountB, 0, 0, deployer.address, deadline));
    c.liquidityBlock = receipt.blockNumber;

    const pairAddr = await c.factory.getPair(A, B);
    const [t0, t1] = BigInt(A) < BigInt(B) ? [A, B] : [B, A];
    const salt = keccak256(solidityPacked(["address", "address"], [t0, t1]));
    assert.equal(pairAddr, getCreate2Address(await c.factory.getAddress(), salt, PAIR_INIT_CODE_HASH));
    assert.equal(await c.factory.allPairsLength(), 1n);
    assert.equal(await provider.getCode(pairAddr), npmBuild(CORE, "UniswapV2Pair").deployedBytecode, "the pair's runtime code, from CREATE2");
    c.pair = new Contract(pairAddr, npmBuild(CORE, "UniswapV2Pair").abi, provider);
    c.aIsToken0 = t0 === A;
    assert.equal(await c.pair.token0(), t0);

    const [r0, r1] = await c.pair.getReserves();
    assert.deepEqual([r0, r1], c.aIsToken0 ? [amountA, amountB] : [amountB, amountA]);
    // sqrt(10000e18 * 40000e18) = 20000e18, less MINIMUM_LIQUIDITY locked at address 0.
    assert.equal(await c.pair.balanceOf(deployer.address), parseEther("20000") - 1000n);
    assert.equal(await c.pair.totalSupply(), parseEther("20000"));

    const mint = receipt.logs.map((l) => c.pair.interface.parseLog(l)).find((e) => e?.name === "Mint");
    assert.ok(mint, "Mint event in the addLiquidity receipt");
    assert.equal(mint.args.sender, routerAddr);
    assert.deepEqual([mint.args.amount0, mint.args.amount1], [r0, r1]);
  });

  test("swap: output equals the eth_call quote; Swap event via eth_getLogs; reserves and balances", async () => {
    const routerAddr = await c.router.getAddress();
    const pairAddr = await c.pair.getAddress();
    const A = await c.tokenA.getAddress();
    const B = await c.tokenB.getAddress();
    await mined(c.tokenA.transfer(trader.address, parseEther("1000")));
    const traderA = c.tokenA.connect(trader);
    await mined(traderA.approve(routerAddr, MaxUint256));

    // The pair's _update writes its price accumulators only when block.timestamp moved since the last
    // update. With 100 ms blocks several blocks share a (1-second) timestamp, so an estimate made in the
    // second of addLiquidity skips those SSTOREs while the mined swap, a second later, pays for them.
    // Estimate once the chain's timestamp has moved on, so estimate and execution take the same path.
    const liqTime = (await provider.getBlock(c.liquidityBlock)).timestamp;
    while ((await provider.getBlock("latest")).timestamp <= liqTime) await new Promise((r) => setTimeout(r, 100));

    const amountIn = parseEther("100");
    const path = [A, B];
    const [rA, rB] = c.aIsToken0 ? await c.pair.getReserves() : [...(await c.pair.getReserves())].reverse();

    // The quote, through eth_call, must equal Uniswap's formula on the current reserves.
    const amounts = await c.router.getAmountsOut(amountIn, path);
    const expectedOut = (amountIn * 997n * rB) / (rA * 1000n + amountIn * 997n);
    assert.deepEqual([...amounts], [amountIn, expectedOut]);
    // The same quote through a raw eth_call with an explicit block tag.
    const raw = await rpc(node.url, "eth_call", [
      { to: routerAddr, data: c.router.interface.encodeFunctionData("getAmountsOut", [amountIn, path]) },
      "latest",
    ]);
    assert.deepEqual([...c.router.interface.decodeFunctionResult("getAmountsOut", raw)[0]], [amountIn, expectedOut]);
    c.quote = expectedOut;

    const router = c.router.connect(trader);
    const estimate = await router.swapExactTokensForTokens.estimateGas(amountIn, expectedOut, path, trader.address, deadline);
    const beforeA = await c.tokenA.balanceOf(trader.address);
    const tx = await router.swapExactTokensForTokens(amountIn, expectedOut, path, trader.address, deadline);
    const receipt = await tx.wait(1, 30_000);
    assert.equal(receipt.status, 1);
    c.swapTx = tx;
    c.swapReceipt = receipt;
    c.swapEstimate = estimate;

    assert.equal(await c.tokenB.balanceOf(trader.address), expectedOut, "swap output equals the quote");
    assert.equal(await c.tokenA.balanceOf(trader.address), beforeA - amountIn);
    const [n0, n1] = await c.pair.getReserves();
    const [nA, nB] = c.aIsToken0 ? [n0, n1] : [n1, n0];
    assert.equal(nA, rA + amountIn);
    assert.equal(nB, rB - expectedOut);
    assert.equal(await c.tokenA.balanceOf(pairAddr), nA);
    assert.equal(await c.tokenB.balanceOf(pairAddr), nB);

    // The Swap event, by address + topic over the block range.
    const swapTopic = c.pair.interface.getEvent("Swap").topicHash;
    const blockHex = toQuantity(receipt.blockNumber);
    const byRange = await rpc(node.url, "eth_getLogs", [{ address: pairAddr, topics: [swapTopic], fromBlock: blockHex, toBlock: blockHex }]);
    assert.equal(byRange.length, 1, `one Swap log in block ${receipt.blockNumber}: ${JSON.stringify(byRange)}`);
    const log = byRange[0];
    assert.equal(getAddress(log.address), pairAddr);
    assert.equal(log.transactionHash, tx.hash);
    assert.equal(log.blockHash, receipt.blockHash);
    assert.equal(BigInt(log.blockNumber), BigInt(receipt.blockNumber));
    assert.equal(log.removed, false);
    const ev = c.pair.interface.parseLog(log);
    assert.equal(ev.args.sender, routerAddr);
    assert.equal(ev.args.to, trader.address);
    const [in0, in1, out0, out1] = [ev.args.amount0In, ev.args.amount1In, ev.args.amount0Out, ev.args.amount1Out];
    assert.deepEqual(c.aIsToken0 ? [in0, in1, out0, out1] : [in1, in0, out1, out0], [amountIn, 0n, 0n, expectedOut]);
    // The same log as the receipt holds it.
    const inReceipt = receipt.logs.find((l) => l.index === Number(BigInt(log.logIndex)));
    assert.ok(inReceipt, "the Swap log's logIndex is in the receipt");
    assert.equal(inReceipt.topics[0], swapTopic);
    assert.equal(inReceipt.data, log.data);

    // By block hash, and with the indexed `to` topic.
    const byHash = await rpc(node.url, "eth_getLogs", [{ blockHash: receipt.blockHash, address: pairAddr, topics: [swapTopic] }]);
    assert.deepEqual(byHash, byRange);
    const traderTopic = zeroPadValue(trader.address, 32);
    const byTo = await rpc(node.url, "eth_getLogs", [{ address: pairAddr, topics: [swapTopic, null, traderTopic], fromBlock: "0x0", toBlock: "latest" }]);
    assert.deepEqual(byTo, byRange);
    const nobody = await rpc(node.url, "eth_getLogs", [{ address: pairAddr, topics: [swapTopic, null, zeroPadValue(deployer.address, 32)], fromBlock: "0x0", toBlock: "latest" }]);
    assert.deepEqual(nobody, []);
    // OR within a topic position, several addresses: every Transfer of either token to or from the trader.
    const transferTopic = c.tokenA.interface.getEvent("Transfer").topicHash;
    const transfers = await rpc(node.url, "eth_getLogs", [{ address: [A, B], topics: [transferTopic], fromBlock: "0x0", toBlock: "latest" }]);
    const swapTransfers = transfers.filter((l) => l.transactionHash === tx.hash);
    assert.equal(swapTransfers.length, 2, "the swap moved token A in and token B out");
    // Logs come in (block, logIndex) order.
    for (let i = 1; i < transfers.length; i++) {
      const [p, q] = [transfers[i - 1], transfers[i]];
      assert.ok(BigInt(p.blockNumber) < BigInt(q.blockNumber) || (p.blockNumber === q.blockNumber && BigInt(p.logIndex) < BigInt(q.logIndex)), "logs are ordered");
    }
    // The pair's Sync in the same receipt carries the new reserves.
    const sync = receipt.logs.map((l) => (getAddress(l.address) === pairAddr ? c.pair.interface.parseLog(l) : null)).find((e) => e?.name === "Sync");
    assert.deepEqual([sync.args.reserve0, sync.args.reserve1], [n0, n1]);
  });

  test("eth_estimateGas is sane against the gas the swap used", () => {
    const used = c.swapReceipt.gasUsed;
    assert.ok(c.swapEstimate >= used, `estimate ${c.swapEstimate} >= gasUsed ${used}`);
    assert.ok(c.swapEstimate <= (used * 3n) / 2n, `estimate ${c.swapEstimate} <= 1.5 x gasUsed ${used}`);
    assert.ok(used > 21_000n && used < 300_000n, `a V2 swap uses roughly 100k gas, got ${used}`);
  });

  test("eth_call of a swap with amountOutMin too high: code 3, the router's reason and revert data", async () => {
    const reason = "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT";
    const A = await c.tokenA.getAddress();
    const B = await c.tokenB.getAddress();
    const data = c.router.interface.encodeFunctionData("swapExactTokensForTokens", [parseEther("1"), parseEther("1000000"), [A, B], trader.address, deadline]);
    const call = { from: trader.address, to: await c.router.getAddress(), data };
    const res = await rpcError(node.url, "eth_call", [call, "latest"]);
    const ctx = describeRpc(res);
    assert.equal(res.error.code, 3, ctx);
    assert.equal(res.error.message, `execution reverted: ${reason}`, ctx);
    assert.equal(res.error.data, ERROR_STRING.encodeFunctionData("Error", [reason]), ctx);

    // ethers decodes it the same way for a dapp.
    await assert.rejects(
      c.router.connect(trader).swapExactTokensForTokens.staticCall(parseEther("1"), parseEther("1000000"), [A, B], trader.address, deadline),
      (e) => e.code === "CALL_EXCEPTION" && e.reason === reason,
    );
  });

  test("eth_estimateGas of the reverting swap reports the revert as eth_call does", async () => {
    const reason = "UniswapV2Router: INSUFFICIENT_OUTPUT_AMOUNT";
    const A = await c.tokenA.getAddress();
    const B = await c.tokenB.getAddress();
    const data = c.router.interface.encodeFunctionData("swapExactTokensForTokens", [parseEther("1"), parseEther("1000000"), [A, B], trader.address, deadline]);
    const res = await rpcError(node.url, "eth_estimateGas", [{ from: trader.address, to: await c.router.getAddress(), data }]);
    const ctx = describeRpc(res);
    assert.equal(res.error.code, 3, ctx);
    assert.equal(res.error.message, `execution reverted: ${reason}`, ctx);
    assert.equal(res.error.data, ERROR_STRING.encodeFunctionData("Error", [reason]), ctx);
  });

  test("eth_call reverting with an OpenZeppelin custom error returns its data", async () => {
    const token = await c.tokenA.getAddress();
    const balance = await c.tokenA.balanceOf(trader.address);
    const data = c.tokenA.interface.encodeFunctionData("transfer", [deployer.address, balance + 1n]);
    const res = await rpcError(node.url, "eth_call", [{ from: trader.address, to: token, data }, "latest"]);
    const ctx = describeRpc(res);
    assert.equal(res.error.code, 3, ctx);
    assert.match(res.error.message, /^execution reverted/, ctx);
    assert.equal(res.error.data, c.tokenA.interface.encodeErrorResult("ERC20InsufficientBalance", [trader.address, balance, balance + 1n]), ctx);
  });

  test("the swap's transaction and receipt as eth_getTransactionByHash / eth_getTransactionReceipt give them", async () => {
    const hash = c.swapTx.hash;
    const tx = await rpc(node.url, "eth_getTransactionByHash", [hash]);
    const rc = await rpc(node.url, "eth_getTransactionReceipt", [hash]);
    assert.equal(tx.hash, hash);
    assert.equal(getAddress(tx.from), trader.address);
    assert.equal(getAddress(tx.to), await c.router.getAddress());
    assert.equal(tx.input, c.swapTx.data);
    assert.equal(BigInt(tx.nonce), BigInt(c.swapTx.nonce));
    assert.equal(BigInt(tx.chainId), CHAIN_ID);
    assert.equal(tx.type, "0x2");
    assert.equal(BigInt(tx.value), 0n);
    assert.equal(BigInt(tx.gas), c.swapTx.gasLimit);
    assert.equal(BigInt(tx.maxFeePerGas), c.swapTx.maxFeePerGas);
    assert.equal(BigInt(tx.maxPriorityFeePerGas), c.swapTx.maxPriorityFeePerGas);
    assert.equal(tx.blockHash, rc.blockHash);
    assert.equal(tx.blockNumber, rc.blockNumber);
    assert.equal(tx.transactionIndex, rc.transactionIndex);
    // The signature fields the node serves re-derive the same hash and sender.
    const rebuilt = Transaction.from({
      type: 2,
      chainId: tx.chainId,
      nonce: Number(BigInt(tx.nonce)),
      to: tx.to,
      value: tx.value,
      data: tx.input,
      gasLimit: tx.gas,
      maxFeePerGas: tx.maxFeePerGas,
      maxPriorityFeePerGas: tx.maxPriorityFeePerGas,
      accessList: tx.accessList ?? [],
      signature: { r: tx.r, s: tx.s, yParity: Number(BigInt(tx.yParity ?? tx.v)) },
    });
    assert.equal(rebuilt.hash, hash);
    assert.equal(rebuilt.from, trader.address);

    assert.equal(rc.transactionHash, hash);
    assert.equal(rc.status, "0x1");
    assert.equal(rc.type, "0x2");
    assert.equal(getAddress(rc.from), trader.address);
    assert.equal(getAddress(rc.to), await c.router.getAddress());
    assert.equal(rc.contractAddress, null);
    assert.equal(BigInt(rc.gasUsed), c.swapReceipt.gasUsed);
    assert.ok(BigInt(rc.cumulativeGasUsed) >= BigInt(rc.gasUsed));
    const block = await rpc(node.url, "eth_getBlockByHash", [rc.blockHash, false]);
    assert.ok(block.transactions.includes(hash));
    const baseFee = BigInt(block.baseFeePerGas);
    const tip = BigInt(tx.maxPriorityFeePerGas);
    const maxFee = BigInt(tx.maxFeePerGas);
    const effective = baseFee + tip < maxFee ? baseFee + tip : maxFee;
    assert.equal(BigInt(rc.effectiveGasPrice), effective, "effectiveGasPrice = min(maxFee, baseFee + tip)");
    assert.equal(BigInt(tx.gasPrice), effective, "a mined 1559 tx's gasPrice is its effective price");
    assert.ok(rc.logs.length >= 4, "Transfer in, Transfer out, Sync, Swap");
    rc.logs.forEach((l) => {
      assert.equal(l.transactionHash, hash);
      assert.equal(l.blockHash, rc.blockHash);
      assert.equal(l.blockNumber, rc.blockNumber);
      assert.equal(l.transactionIndex, rc.transactionIndex);
    });
    for (let i = 1; i < rc.logs.length; i++) assert.equal(BigInt(rc.logs[i].logIndex), BigInt(rc.logs[i - 1].logIndex) + 1n);
    assert.equal(rc.logsBloom, logsBloom(rc.logs), "receipt logsBloom matches its logs");
    assert.ok(bloomContains(block.logsBloom, rc.logsBloom), "block logsBloom covers the receipt's");
  });

  test("eth_feeHistory over the blocks up to the swap", async () => {
    const newest = BigInt(c.swapReceipt.blockNumber);
    const count = 4n;
    const percentiles = [10, 50, 90];
    const fh = await rpc(node.url, "eth_feeHistory", [toQuantity(count), toQuantity(newest), percentiles]);
    assert.equal(BigInt(fh.oldestBlock), newest - count + 1n);
    assert.equal(fh.baseFeePerGas.length, Number(count) + 1, "baseFeePerGas has blocks + 1 entries");
    assert.equal(fh.gasUsedRatio.length, Number(count));
    assert.equal(fh.reward.length, Number(count));
    for (let i = 0; i < Number(count); i++) {
      const block = await rpc(node.url, "eth_getBlockByNumber", [toQuantity(newest - count + 1n + BigInt(i)), true]);
      assert.equal(BigInt(fh.baseFeePerGas[i]), BigInt(block.baseFeePerGas), `baseFee of block ${block.number}`);
      const ratio = Number(BigInt(block.gasUsed)) / Number(BigInt(block.gasLimit));
      assert.ok(Math.abs(fh.gasUsedRatio[i] - ratio) < 1e-9, `gasUsedRatio of block ${block.number}: ${fh.gasUsedRatio[i]} vs ${ratio}`);
      assert.equal(fh.reward[i].length, percentiles.length);
      if (block.transactions.length === 0) fh.reward[i].forEach((r) => assert.equal(BigInt(r), 0n));
    }
    // The swap's block (the newest) holds only the swap: every percentile is its effective tip.
    const swapBlock = await rpc(node.url, "eth_getBlockByNumber", [toQuantity(newest), true]);
    if (swapBlock.transactions.length === 1) {
      const baseFee = BigInt(swapBlock.baseFeePerGas);
      const maxFee = c.swapTx.maxFeePerGas;
      const tip = c.swapTx.maxPriorityFeePerGas < maxFee - baseFee ? c.swapTx.maxPriorityFeePerGas : maxFee - baseFee;
      fh.reward[Number(count) - 1].forEach((r) => assert.equal(BigInt(r), tip));
    }
    const nextBase = BigInt(fh.baseFeePerGas[Number(count)]);
    assert.ok(nextBase > 0n, "the base fee after the newest block is given");

    // "latest" and a block count larger than the chain is long both work.
    const latest = await rpc(node.url, "eth_feeHistory", ["0x2", "latest", []]);
    assert.equal(latest.baseFeePerGas.length, 3);
    assert.equal(latest.gasUsedRatio.length, 2);
    const all = await rpc(node.url, "eth_feeHistory", ["0x400", toQuantity(newest), [50]]);
    assert.equal(BigInt(all.oldestBlock), newest + 1n > 1024n ? newest - 1023n : 0n);
    assert.equal(all.gasUsedRatio.length, Number(newest - BigInt(all.oldestBlock) + 1n));

    // ethers' fee data rests on eth_gasPrice, eth_maxPriorityFeePerGas and the latest base fee.
    const fee = await provider.getFeeData();
    assert.ok(fee.gasPrice > 0n && fee.maxFeePerGas > 0n && fee.maxPriorityFeePerGas !== null);
  });

  test("WETH9: deposit and withdraw ETH", async () => {
    const w = c.weth.connect(trader);
    const before = await provider.getBalance(trader.address);
    const r1 = await mined(w.deposit({ value: parseEther("2") }));
    assert.equal(await c.weth.balanceOf(trader.address), parseEther("2"));
    const r2 = await mined(w.withdraw(parseEther("0.5")));
    assert.equal(await c.weth.balanceOf(trader.address), parseEther("1.5"));
    assert.equal(await provider.getBalance(await c.weth.getAddress()), parseEther("1.5"));
    // What the sender pays: gasUsed * effectiveGasPrice, plus the OP-Stack L1 data fee when the receipt has one.
    let fees = 0n;
    for (const r of [r1, r2]) {
      const raw = await rpc(node.url, "eth_getTransactionReceipt", [r.hash]);
      fees += BigInt(raw.gasUsed) * BigInt(raw.effectiveGasPrice) + BigInt(raw.l1Fee ?? 0);
    }
    assert.equal(await provider.getBalance(trader.address), before - parseEther("1.5") - fees, "balance moves by value + fees");
  });
});

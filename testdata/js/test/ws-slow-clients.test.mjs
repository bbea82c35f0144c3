// Many WebSocket subscribers, half of them never reading (issue 9, "RPC and txpool under load"):
// WS_CLIENTS (default 200) connections each subscribe to newHeads and to the logs of an ERC-20 that
// the traffic transfers; half of them then stop reading (their TCP socket paused, so the kernel
// buffers fill and the node's sends block). While ERC-20 transfers stream in for WS_LOAD_MS
// (default 20 s):
//   - block production keeps its rate: eth_blockNumber advances at the block time (100 ms) within a
//     tolerance, with no long stall;
//   - every reading client receives every head, consecutive, and the logs of the mined transfers;
//   - the node's memory (VmRSS) stays bounded while the slow clients' backlog grows, and does not
//     keep growing after every connection is closed.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { computeAddress, Interface, parseUnits, SigningKey } from "ethers";
import { makeProvider, sleep, startNode, testKeys, testWallets } from "../lib/node.mjs";
import { artifact, deploy } from "../lib/contracts.mjs";
import { rpc } from "../lib/rpc.mjs";
import { headOf } from "../lib/chain-check.mjs";
import { sendRawBatch, signTx } from "../lib/txs.mjs";
import { wsConnect } from "../lib/ws-client.mjs";

const CLIENTS = Number(process.env.WS_CLIENTS ?? 200);
const LOAD_MS = Number(process.env.WS_LOAD_MS ?? 20_000);
const BLOCK_MS = 100;
const RATE_TOLERANCE = 0.6; // at least 60 % of the blocks the block time allows
const MAX_STALL_MS = 1500;
const RSS_GROWTH_LIMIT_MB = 400; // over the idle baseline, at any time
const TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef";

let node;
let token;
const tokenIface = new Interface(artifact("TestToken").abi);

const rssMb = (pid) => {
  const m = fs.readFileSync(`/proc/${pid}/status`, "utf8").match(/VmRSS:\s+(\d+) kB/);
  return m ? Number(m[1]) / 1024 : NaN;
};

/** Send and receive queues (bytes) of loopback TCP sockets of `port`: the node's side and the clients' side. */
function tcpQueues(port) {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  const server = [];
  const client = [];
  for (const line of fs.readFileSync("/proc/net/tcp", "utf8").split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || f[3] !== "01") continue; // established only
    const [tx, rx] = f[4].split(":").map((h) => parseInt(h, 16));
    if (f[1].endsWith(`:${hexPort}`)) server.push(tx);
    else if (f[2].endsWith(`:${hexPort}`)) client.push(rx);
  }
  return { server, client };
}

before(async () => {
  node = await startNode({ name: "ws-slow", blockTime: `${BLOCK_MS}ms`, args: ["--no-web"] });
  const provider = makeProvider(node.url);
  token = await (await deploy(testWallets(provider)[3], artifact("TestToken"), ["Slow", "SLW", 10n ** 30n])).contract.getAddress();
  provider.destroy();
});

after(async () => {
  await node?.stop();
});

test(`${CLIENTS} WebSocket subscribers, half never reading: blocks keep their rate, readers get every head, memory stays bounded`, { timeout: LOAD_MS + CLIENTS * 200 + 120_000 }, async (t) => {
  const pid = node.proc.pid;
  await sleep(1000);
  const baseline = rssMb(pid);

  const clients = [];
  for (let i = 0; i < CLIENTS; i++) {
    const c = await wsConnect(node.wsUrl);
    c.slow = i % 2 === 1;
    c.heads = [];
    c.logs = 0;
    const headsId = await c.call("eth_subscribe", ["newHeads"]);
    const logsId = await c.call("eth_subscribe", ["logs", { address: token, topics: [TRANSFER_TOPIC] }]);
    c.onNotify = (sub, result) => {
      if (sub === headsId) c.heads.push(Number(BigInt(result.number)));
      else if (sub === logsId) c.logs += 1;
    };
    clients.push(c);
  }
  // The slow half stops reading: the socket is paused, so nothing more is read from the kernel.
  for (const c of clients) if (c.slow) c.sock._socket.pause();
  const afterConnect = rssMb(pid);

  // ERC-20 transfers from test account 3: each mined one is a log for every subscriber.
  const k = { key: new SigningKey(testKeys()[3]), address: computeAddress(testKeys()[3]) };
  let nonce = Number(BigInt(await rpc(node.url, "eth_getTransactionCount", [k.address, "pending"])));
  const control = { stop: false };
  const sent = [];
  const traffic = (async () => {
    while (!control.stop) {
      const raws = [];
      for (let i = 0; i < 40; i++) {
        const data = tokenIface.encodeFunctionData("transfer", [`0x${(0x77770000 + (nonce % 300)).toString(16).padStart(40, "0")}`, 1n]);
        const s = signTx(k, { nonce: nonce++, to: token, data, gasLimit: 80_000n, maxFeePerGas: parseUnits("5", "gwei"), maxPriorityFeePerGas: 1_000_000n });
        raws.push(s.raw);
        sent.push(s.hash);
      }
      const answers = await sendRawBatch(node.url, raws);
      assert.deepEqual(answers.filter((a) => a.error), [], "transfers refused");
      await sleep(200);
    }
  })();

  // Heads over HTTP every 100 ms, RSS every second.
  const samples = [];
  const rss = [];
  const started = Date.now();
  const startHead = await headOf(node.url);
  let lastRss = 0;
  while (Date.now() - started < LOAD_MS) {
    samples.push({ at: Date.now(), head: await headOf(node.url) });
    if (Date.now() - lastRss >= 1000) {
      rss.push(rssMb(pid));
      lastRss = Date.now();
    }
    await sleep(BLOCK_MS);
  }
  // Backpressure really built up: the node's sends to the silent clients are stuck in full kernel buffers.
  const queues = tcpQueues(node.port);
  control.stop = true;
  await traffic;
  const stuckServer = queues.server.filter((b) => b > 0).length;
  const stuckClient = queues.client.filter((b) => b > 64 * 1024).length;
  t.diagnostic(`TCP queues at the end of the load: ${stuckServer} of the node's sockets with unsent bytes (max ${Math.max(0, ...queues.server)}), ${stuckClient} client sockets holding over 64 KiB unread (max ${Math.max(0, ...queues.client)})`);
  assert.ok(stuckClient >= CLIENTS / 2 * 0.9, `only ${stuckClient} silent clients hold unread data: the backpressure this test needs did not build up`);
  const elapsed = samples.at(-1).at - started;
  const gained = samples.at(-1).head - startHead;
  let stall = 0;
  let changedAt = started;
  for (let i = 1; i < samples.length; i++) {
    if (samples[i].head > samples[i - 1].head) {
      stall = Math.max(stall, samples[i].at - changedAt);
      changedAt = samples[i].at;
    }
  }
  const peak = Math.max(...rss);
  t.diagnostic(`${gained} blocks in ${elapsed} ms (block time allows ${Math.floor(elapsed / BLOCK_MS)}), longest stall ${stall} ms; ${sent.length} transfers sent`);
  t.diagnostic(`VmRSS MB: idle ${baseline.toFixed(0)}, after ${CLIENTS} connections ${afterConnect.toFixed(0)}, during load ${rss.map((x) => x.toFixed(0)).join(" ")}`);
  assert.ok(gained >= (elapsed / BLOCK_MS) * RATE_TOLERANCE, `only ${gained} blocks in ${elapsed} ms with slow subscribers`);
  assert.ok(stall <= MAX_STALL_MS, `no new block for ${stall} ms`);

  // Readers: every head since they subscribed, consecutive, up to (nearly) the head; logs arrived.
  const finalHead = await headOf(node.url);
  await sleep(500);
  const readers = clients.filter((c) => !c.slow);
  for (const [i, c] of readers.entries()) {
    assert.ok(c.heads.length > 0, `reader ${i} got no heads`);
    for (let j = 1; j < c.heads.length; j++) assert.equal(c.heads[j], c.heads[j - 1] + 1, `reader ${i}: head ${c.heads[j]} after ${c.heads[j - 1]}`);
    assert.ok(c.heads.at(-1) >= finalHead - 1, `reader ${i}: last head ${c.heads.at(-1)}, node at ${finalHead}`);
    assert.ok(c.logs > 0, `reader ${i} got no logs`);
  }
  const minLogs = Math.min(...readers.map((c) => c.logs));
  t.diagnostic(`readers: ${readers.length}, each got ${readers[0].heads.length}+ consecutive heads and at least ${minLogs} logs; slow clients' sockets held back`);

  assert.ok(peak - baseline <= RSS_GROWTH_LIMIT_MB, `VmRSS grew by ${(peak - baseline).toFixed(0)} MB under slow subscribers (limit ${RSS_GROWTH_LIMIT_MB})`);

  // Close everything; memory must not keep growing, and the node keeps serving.
  for (const c of clients) c.close();
  await sleep(3000);
  const closed = rssMb(pid);
  await sleep(3000);
  const later = rssMb(pid);
  t.diagnostic(`VmRSS MB after closing every connection: ${closed.toFixed(0)}, 3 s later ${later.toFixed(0)}`);
  assert.ok(later <= peak + 20, `VmRSS kept growing after the connections closed: peak ${peak.toFixed(0)}, now ${later.toFixed(0)}`);
  const head = await headOf(node.url);
  await sleep(1000);
  assert.ok((await headOf(node.url)) > head, "blocks still come after the connections closed");
});

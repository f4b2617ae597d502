#!/usr/bin/env node
// A reference chain peer for libethp2p's sync interoperability tests: an
// @ethereumjs/devp2p node (its RLPx class for the connection, its ETH class
// for eth/68) that either serves a chain it made itself or syncs one from a
// peer, checking everything on its own (sync_chain.js). A test talks to it
// through JSON lines: events on stdout, commands on stdin.
//
// Usage: chain_peer.js serve|sync|selftest [options]
//   serve     build a sealed chain on the example genesis of --chain-id and
//             serve GetBlockHeaders / GetBlockBodies to whoever connects
//   sync      dial --dial, learn its head from Status, fetch headers in
//             batches and then bodies, check links, roots and seals
//   selftest  check sync_chain.js against tests/vectors/{trie,transactions}.json
// Options:
//   --chain-id N    network id and genesis (default 1337)
//   --blocks N      serve: chain length (default 300)
//   --txs K         serve: transactions per block (default 2)
//   --key HEX       node key (default random)
//   --port N        listen on 127.0.0.1:N (default 0, any free port)
//   --dial ENODE    dial this node once listening
//   --batch N       sync: headers per request (default 192)
//   --timeout MS    sync: deadline of each request (default 5000)
//   --corrupt-bodies  serve: every body without its last transaction (a
//                   testing aid: peers must find it does not match its header)
//
// Events (one JSON object per line, always with "event"; hashes are 0x-hex):
//   listening  {port, id, enode, genesis, head: {number, hash}, sealer}
//   peer_added {id, client}                 both Hellos done
//   status     {id, best, td, genesis, forkHash, forkNext}   Status accepted
//   served     {what: "headers"|"bodies", count, last}   serve: one per reply
//   progress   {current, target}             sync: after each stored chunk
//   synced     {number, hash, sealer, txs}    sync: all of the peer's chain
//   block      {number, hash, txs: [{hash, type, from}]}  reply to "block"
//   peer_removed {id, reason}
//   selftest   {trie, blocks, txs}           counts of the vector cases passed
//   error      {message}                     anything that went wrong; a failed
//                                            sync also exits with status 1
// Commands (one JSON object per line, with "cmd"):
//   {"cmd":"block","number":N}   describe block N of our chain
//   {"cmd":"exit"}               exit at once (also on end of stdin)
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { ETH, RLPx } from '@ethereumjs/devp2p';
import { Common, Mainnet } from '@ethereumjs/common';
import { RLP } from '@ethereumjs/rlp';
import { bytesToHex, equalsBytes, hexToBytes } from '@ethereumjs/util';
import { keccak_256 as keccak } from '@noble/hashes/sha3.js';
import {
  addressOf, buildChain, checkBlock, decodeTx, genesisHeader, headerHash, num, parseTx, sealer,
  trieRoot, uint,
} from './sync_chain.js';

const CODES = { GET_HEADERS: 0x03, HEADERS: 0x04, GET_BODIES: 0x05, BODIES: 0x06 };
const SERVE_LIMIT = 1024;   // headers or bodies per reply, as the reference clients
const BODIES_PER_REQUEST = 128;

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function fail(message) {
  emit({ event: 'error', message });
  process.exit(1);
}

const hex = (b) => bytesToHex(b);
const unhex = (s) => hexToBytes(s.startsWith('0x') ? s : `0x${s}`);
const utf8 = (s) => new TextEncoder().encode(s);

function parseArgs(argv) {
  const o = { mode: argv[0], chainId: 1337, blocks: 300, txs: 2, key: null, port: 0, dial: null,
    batch: 192, timeout: 5000, corrupt: false };
  const names = { '--chain-id': 'chainId', '--blocks': 'blocks', '--txs': 'txs', '--key': 'key',
    '--port': 'port', '--dial': 'dial', '--batch': 'batch', '--timeout': 'timeout' };
  if (!['serve', 'sync', 'selftest'].includes(o.mode)) fail('usage: chain_peer.js serve|sync|selftest [options]');
  for (let i = 1; i < argv.length; i += 2) {
    if (argv[i] === '--corrupt-bodies') {
      o.corrupt = true;
      i--;
      continue;
    }
    const name = names[argv[i]];
    if (name === undefined || argv[i + 1] === undefined) fail(`bad option ${argv[i]}`);
    o[name] = argv[i + 1];
  }
  for (const k of ['chainId', 'blocks', 'txs', 'port', 'batch', 'timeout']) {
    o[k] = Number(o[k]);
    if (!Number.isSafeInteger(o[k]) || o[k] < 0) fail(`bad --${k}`);
  }
  if (o.port > 65535 || o.batch < 1 || o.batch > SERVE_LIMIT) fail('bad --port or --batch');
  if (o.mode === 'sync' && !o.dial) fail('sync needs --dial');
  return o;
}

function parseEnode(url) {
  const m = /^enode:\/\/([0-9a-fA-F]{128})@([^:]+):(\d+)/.exec(url);
  if (!m) fail(`bad enode URL ${url}`);
  return { id: unhex(m[1]), address: m[2], tcpPort: Number(m[3]) };
}

/* A chain whose forks are all at block 0: the fork id is CRC32(genesis) with
 * no next fork, as libethp2p computes it without a fork list. */
function chainCommon(chainId, genesisHash) {
  const common = new Common({
    chain: { ...Mainnet, name: 'ethp2p-example', chainId,
      hardforks: [{ name: 'chainstart', block: 0 }, { name: 'london', block: 0 }] },
    hardfork: 'london',
  });
  common.setForkHashes(genesisHash);
  return common;
}

/* ------------------------------------------------------------- our chain */

const opts = parseArgs(process.argv.slice(2));
const genesis = { header: genesisHeader(opts.chainId), body: [[], []] };
genesis.hash = headerHash(genesis.header);
const chain = [genesis];              // blocks by number, genesis first
const byHash = new Map();             // hex hash -> block
const index = (b) => byHash.set(hex(b.hash), b);
index(genesis);

function describe(n) {
  const b = chain[n];
  if (!b) throw new Error(`no block ${n}`);
  const txs = b.body[0].map((t) => {
    const d = decodeTx(t);
    return { hash: hex(d.hash), type: d.type, from: hex(d.from) };
  });
  return { number: n, hash: hex(b.hash), txs };
}

/* --------------------------------------------------------------- serving */

function headersFor([origin, amount, skip, reverse]) {
  const start = origin.length === 32 ? byHash.get(hex(origin)) : chain[Number(num(origin))];
  const out = [];
  if (!start) return out;
  const step = (num(skip) + 1n) * (num(reverse) ? -1n : 1n);
  const limit = Math.min(Number(num(amount)), SERVE_LIMIT);
  for (let n = num(start.header[8]); out.length < limit && n >= 0n && n < chain.length; n += step)
    out.push(chain[Number(n)].header);
  return out;
}

function serve(eth, code, payload) {
  const [reqId, query] = payload; // eth/66+: the ETH class leaves request ids to us
  if (code === CODES.GET_HEADERS) {
    const headers = headersFor(query);
    eth.sendMessage(CODES.HEADERS, [reqId, headers]);
    emit({ event: 'served', what: 'headers', count: headers.length,
      last: headers.length ? Number(num(headers[headers.length - 1][8])) : null });
  } else if (code === CODES.GET_BODIES) {
    const blocks = query.slice(0, SERVE_LIMIT).map((h) => byHash.get(hex(h))).filter(Boolean);
    const bodies = blocks.map(({ body: [txs, ...rest] }) => (opts.corrupt ? [txs.slice(0, -1), ...rest] : [txs, ...rest]));
    eth.sendMessage(CODES.BODIES, [reqId, bodies]);
    emit({ event: 'served', what: 'bodies', count: blocks.length,
      last: blocks.length ? Number(num(blocks[blocks.length - 1].header[8])) : null });
  }
}

/* --------------------------------------------------------------- syncing */

let nextReqId = 1n;
const pending = new Map(); // request id (decimal) -> {resolve, reject, timer, code}

function request(eth, code, replyCode, query) {
  const id = nextReqId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      pending.delete(String(id));
      reject(new Error(`no reply to request ${id} (code ${code}) within ${opts.timeout} ms`));
    }, opts.timeout);
    pending.set(String(id), { resolve, reject, timer, code: replyCode });
    eth.sendMessage(code, [uint(id), query]);
  });
}

function onReply(code, payload) {
  if (!Array.isArray(payload) || payload.length !== 2 || !(payload[0] instanceof Uint8Array)) return;
  const key = String(num(payload[0]));
  const p = pending.get(key);
  if (!p || p.code !== code) return;
  pending.delete(key);
  clearTimeout(p.timer);
  p.resolve(payload[1]);
}

/* The peer's head from the hash in its Status (eth/68 gives no number). */
async function headOf(eth, best) {
  const [h] = await request(eth, CODES.GET_HEADERS, CODES.HEADERS, [best, uint(1), uint(0), uint(0)]);
  if (!h || !equalsBytes(headerHash(h), best)) throw new Error('peer did not serve its own head');
  return Number(num(h[8]));
}

/* Headers @from.. (at most @count), each the child of the block below. */
async function fetchHeaders(eth, from, count) {
  const headers = await request(eth, CODES.GET_HEADERS, CODES.HEADERS, [uint(from), uint(count), uint(0), uint(0)]);
  if (!Array.isArray(headers) || headers.length === 0) throw new Error(`no headers from ${from}`);
  let parent = chain[from - 1];
  return headers.map((header, i) => {
    if (Number(num(header[8])) !== from + i) throw new Error(`header ${from + i} has number ${num(header[8])}`);
    if (!equalsBytes(header[0], parent.hash)) throw new Error(`header ${from + i} does not link to its parent`);
    parent = { header, hash: headerHash(header) };
    return parent;
  });
}

/* Bodies for @blocks (in order), each checked against its header. */
async function fetchBodies(eth, blocks) {
  let i = 0;
  while (i < blocks.length) {
    const ask = blocks.slice(i, i + BODIES_PER_REQUEST);
    const bodies = await request(eth, CODES.GET_BODIES, CODES.BODIES, ask.map((b) => b.hash));
    if (!Array.isArray(bodies) || bodies.length === 0 || bodies.length > ask.length)
      throw new Error(`bad body reply for blocks from ${num(ask[0].header[8])}`);
    for (const body of bodies) {
      const b = blocks[i++];
      try {
        checkBlock(b.header, body);
      } catch (err) {
        throw new Error(`block ${num(b.header[8])}: ${err.message}`);
      }
      b.body = body;
    }
  }
}

let synced = false;

async function syncFrom(eth, best) {
  const target = await headOf(eth, best);
  const sealers = new Set();
  let txs = 0;
  while (chain.length - 1 < target) {
    const from = chain.length;
    const blocks = await fetchHeaders(eth, from, Math.min(opts.batch, target - from + 1));
    await fetchBodies(eth, blocks);
    for (const b of blocks) {
      sealers.add(hex(sealer(b.header))); // the example chain's rule: sealed by its coinbase
      for (const t of b.body[0]) parseTx(t); // senders: recovered by the "block" command
      txs += b.body[0].length;
      chain.push(b);
      index(b);
    }
    emit({ event: 'progress', current: chain.length - 1, target });
  }
  const head = chain[chain.length - 1];
  synced = true;
  emit({ event: 'synced', number: chain.length - 1, hash: hex(head.hash), sealer: [...sealers].join(','), txs });
}

/* -------------------------------------------------------------- selftest */

function selftest() {
  const load = (f) => JSON.parse(readFileSync(new URL(`../vectors/${f}`, import.meta.url)));
  const trie = load('trie.json'), txv = load('transactions.json');
  let nTrie = 0, nBlocks = 0, nTxs = 0;
  for (const c of trie.trie) {
    const kv = new Map(); // later operations overwrite; an empty value deletes
    for (const [k, v] of c.ops) kv.set(k, v);
    const pairs = [...kv].map(([k, v]) => [unhex(k), unhex(v)]);
    if (hex(trieRoot(pairs)) !== `0x${c.root}`) fail(`trie ${c.name}: root differs`);
    nTrie++;
  }
  for (const c of trie.blocks) {
    const [header, txs, ommers, withdrawals] = RLP.decode(unhex(c.block));
    if (hex(headerHash(header)) !== `0x${c.hash}`) fail(`block ${c.name}: hash differs`);
    checkBlock(header, withdrawals ? [txs, ommers, withdrawals] : [txs, ommers]);
    if (txs.length !== c.tx_count) fail(`block ${c.name}: transaction count differs`);
    txs.forEach((t) => decodeTx(t));
    nBlocks++;
  }
  for (const c of txv.legacy) {
    const d = decodeTx(RLP.decode(unhex(c.signed_tx)));
    if (hex(d.from) !== `0x${c.derived_sender}` || hex(d.hash) !== `0x${c.derived_hash}`)
      fail(`transaction ${c.name}: sender or hash differs`);
    nTxs++;
  }
  for (const c of txv.eip1559) {
    const d = decodeTx(unhex(c.derived_raw));
    if (hex(d.from) !== `0x${c.signer}` || hex(d.hash) !== `0x${c.hash}`) fail(`transaction ${c.name}: signer or hash differs`);
    nTxs++;
  }
  emit({ event: 'selftest', trie: nTrie, blocks: nBlocks, txs: nTxs });
  process.exit(0);
}

/* ----------------------------------------------------------------- peer */

if (opts.mode === 'selftest') selftest();

const sealKey = keccak(utf8('chain_peer sealer'));
if (opts.mode === 'serve')
  buildChain({ chainId: opts.chainId, blocks: opts.blocks, txs: opts.txs, sealKey,
    senderKey: keccak(utf8('chain_peer sender')) }).slice(1).forEach((b) => { chain.push(b); index(b); });

const common = chainCommon(opts.chainId, genesis.hash);
const rlpx = new RLPx(opts.key ? unhex(opts.key) : new Uint8Array(randomBytes(32)), {
  clientId: utf8(`libethp2p-chain-peer/${opts.mode}`),
  capabilities: [ETH.eth68],
  common,
  maxPeers: 4,
});

rlpx.events.on('peer:added', (peer) => {
  const id = hex(peer.getId());
  emit({ event: 'peer_added', id, client: peer.getHelloMessage().clientId });
  const eth = peer.getProtocols().find((p) => p instanceof ETH);
  if (!eth) return;
  eth.events.on('status', (st) => {
    emit({ event: 'status', id, best: hex(st.bestHash), td: String(num(st.td)), genesis: hex(st.genesisHash),
      forkHash: hex(st.forkId[0]), forkNext: Number(num(st.forkId[1])) });
    if (opts.mode === 'sync') syncFrom(eth, st.bestHash).catch((err) => fail(String(err?.message ?? err)));
  });
  eth.events.on('message', (code, payload) => {
    try {
      if (code === CODES.GET_HEADERS || code === CODES.GET_BODIES) serve(eth, code, payload);
      else if (code === CODES.HEADERS || code === CODES.BODIES) onReply(code, payload);
    } catch (err) { // a malformed message from the peer: say so, stay up
      emit({ event: 'error', message: `message ${code}: ${err?.message ?? err}` });
    }
  });
  const head = chain[chain.length - 1];
  eth.sendStatus({ td: uint(chain.length), bestHash: head.hash, genesisHash: genesis.hash });
});
rlpx.events.on('peer:removed', (peer, reason) => {
  emit({ event: 'peer_removed', id: hex(peer.getId()), reason: reason ?? null });
  if (opts.mode === 'sync' && !synced) fail('the peer left before the sync was done');
});
rlpx.events.on('peer:error', (peer, err) => emit({ event: 'error', message: String(err?.message ?? err) }));
rlpx.events.on('error', (err) => emit({ event: 'error', message: String(err?.message ?? err) }));

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === '') return;
  try {
    const cmd = JSON.parse(line);
    if (cmd.cmd === 'exit') process.exit(0);
    if (cmd.cmd !== 'block') throw new Error(`unknown command ${cmd.cmd}`);
    emit({ event: 'block', ...describe(Number(cmd.number)) });
  } catch (err) {
    emit({ event: 'error', message: String(err?.message ?? err) });
  }
}).on('close', () => process.exit(0));

rlpx.events.once('listening', () => {
  const port = rlpx._server.address().port;
  rlpx._listenPort = port; // our Hello announces the port we really listen on
  const id = hex(rlpx.id).slice(2);
  const head = chain[chain.length - 1];
  emit({ event: 'listening', port, id, enode: `enode://${id}@127.0.0.1:${port}`, genesis: hex(genesis.hash),
    head: { number: chain.length - 1, hash: hex(head.hash) }, sealer: hex(addressOf(sealKey)) });
  if (opts.dial) rlpx.connect(parseEnode(opts.dial)).catch((err) => fail(`dial: ${err?.message ?? err}`));
});
rlpx.listen(opts.port, '127.0.0.1');

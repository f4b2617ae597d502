#!/usr/bin/env node
// Reference eth/68 peer for libethp2p's eth interoperability tests: an
// @ethereumjs/devp2p node (its RLPx class for the connection, its ETH class for
// eth/68) holding a small chain it built itself (sync_chain.js: sealed London
// headers, signed transfers). It sends its Status as soon as a peer is added,
// serves GetBlockHeaders / GetBlockBodies from its chain, and on command asks
// the peer for headers and bodies, announces blocks and sends transactions,
// checking on its own everything it receives (links, numbers, roots, request
// ids). The ETH class leaves eth/66+ request ids to us: we wrap and strip
// [request-id, payload] here. A test talks to it through JSON lines.
//
// Options:
//   --chain-id N    network id and the example genesis of that chain (default 1337)
//   --blocks N      length of our chain (default 8)
//   --txs K         transactions per block (default 2)
//   --key HEX       node key (default random)
//   --port N        listen on 127.0.0.1:N (default 0, any free port)
//   --dial ENODE    dial this node once listening
//   --client-id S   client id in our Hello (default libethp2p-eth-peer)
//
// Events (one JSON object per line, always with "event"; hashes are 0x-hex):
//   listening    {port, id, enode, chain: {networkId, genesis, forkHash, forkNext},
//                 blocks: [{number, hash, txs: [hash]}]}   our chain, genesis first
//   peer_added   {id, client, shared}
//   status       {id, version, networkId, td, best, genesis, forkHash, forkNext}
//   served       {what: "headers"|"bodies", reqId, count, numbers}  we answered a request
//   headers      {reqId, numbers, hashes}     reply to get_headers, checked
//   bodies       {reqId, numbers, txs: [[hash]]}  reply to get_bodies, each body
//                                            checked against the header we got before
//   announce     {items: [{hash, number}]}   NewBlockHashes received
//   transactions {txs: [{hash, type}]}       Transactions received (form checked)
//   sent         {cmd, reqId?, txs?: [{hash, raw}]}  what a command put on the wire
//   peer_removed {id, reason, reason_name, by_remote}
//   peer_error   {id, message}               the devp2p library refused something
//   done         {cmd}                       a command was carried out
//   error        {message, [cmd]}            our own checks failed, or a bad command
//
// Commands (one JSON object per line, with "cmd"; to the most recent peer):
//   {"cmd":"get_headers","start":N|"0xHASH","count":C,"skip":S,"reverse":bool}
//   {"cmd":"get_bodies","hashes":["0x.."]}      hashes of headers received before
//   {"cmd":"announce","number":N}               NewBlockHashes for our block N
//   {"cmd":"txs","count":K}                     K fresh signed transfers
//   {"cmd":"disconnect","reason":N}
//   {"cmd":"dial","enode":URL}                  dial a node (needs no peer)
//   {"cmd":"exit"}                              (also on end of stdin)
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { DisconnectReasonNames, ETH, RLPx } from '@ethereumjs/devp2p';
import { Common, Mainnet } from '@ethereumjs/common';
import { RLP } from '@ethereumjs/rlp';
import { bytesToHex, equalsBytes, hexToBytes } from '@ethereumjs/util';
import { keccak_256 as keccak } from '@noble/hashes/sha3.js';
import { buildChain, checkBlock, headerHash, num, parseTx, signTransfer, txBytes, uint } from './sync_chain.js';

const CODES = { NEW_BLOCK_HASHES: 0x01, TX: 0x02, GET_HEADERS: 0x03, HEADERS: 0x04, GET_BODIES: 0x05, BODIES: 0x06 };
const SERVE_LIMIT = 1024;
const REQUEST_TIMEOUT_MS = 5000;
const FIRST_REQUEST_ID = 7000001n; // far from 0 and 1, so an id that was not echoed shows

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
const hex = (b) => bytesToHex(b);
const unhex = (s) => hexToBytes(s.startsWith('0x') ? s : `0x${s}`);
const utf8 = (s) => new TextEncoder().encode(s);

function fail(message) {
  emit({ event: 'error', message });
  process.exit(2);
}

function parseArgs(argv) {
  const o = { chainId: 1337, blocks: 8, txs: 2, key: null, port: 0, dial: null, clientId: 'libethp2p-eth-peer' };
  const names = { '--chain-id': 'chainId', '--blocks': 'blocks', '--txs': 'txs', '--key': 'key',
    '--port': 'port', '--dial': 'dial', '--client-id': 'clientId' };
  for (let i = 0; i < argv.length; i += 2) {
    const name = names[argv[i]];
    if (name === undefined || argv[i + 1] === undefined) fail(`bad option ${argv[i]}`);
    o[name] = argv[i + 1];
  }
  for (const k of ['chainId', 'blocks', 'txs', 'port']) {
    o[k] = Number(o[k]);
    if (!Number.isSafeInteger(o[k]) || o[k] < 0) fail(`bad --${k}`);
  }
  if (o.port > 65535 || o.blocks > 10000 || o.txs > 100) fail('--port, --blocks or --txs out of range');
  return o;
}

function parseEnode(url) {
  const m = /^enode:\/\/([0-9a-fA-F]{128})@([^:]+):(\d+)/.exec(url);
  if (!m) throw new Error(`bad enode URL ${url}`);
  return { id: unhex(m[1]), address: m[2], tcpPort: Number(m[3]) };
}

/* Every fork at block 0: the fork id is CRC32(genesis) with no next fork,
 * which libethp2p computes for a genesis without a fork list. */
function chainCommon(chainId, genesisHash) {
  const common = new Common({
    chain: { ...Mainnet, name: 'ethp2p-eth-interop', chainId,
      hardforks: [{ name: 'chainstart', block: 0 }, { name: 'london', block: 0 }] },
    hardfork: 'london',
  });
  common.setForkHashes(genesisHash);
  return common;
}

/* ------------------------------------------------------------ our chain */

const opts = parseArgs(process.argv.slice(2));
const senderKey = keccak(utf8('peer_eth sender'));
const chain = buildChain({ chainId: opts.chainId, blocks: opts.blocks, txs: opts.txs,
  sealKey: keccak(utf8('peer_eth sealer')), senderKey });
const byHash = new Map(chain.map((b) => [hex(b.hash), b]));
const genesis = chain[0];
let txNonce = 1000000; // transfers sent as Transactions, apart from the chain's

/* The peer's chain as far as we fetched it: number -> {header, hash}; its
 * genesis is ours (the Status exchange checked that). */
const theirs = new Map([[0, { header: genesis.header, hash: genesis.hash }]]);
const theirsByHash = new Map([[hex(genesis.hash), theirs.get(0)]]);

/* ------------------------------------------------------------- serving */

function headersFor([origin, amount, skip, reverse]) {
  const start = origin.length === 32 ? byHash.get(hex(origin)) : chain[Number(num(origin))];
  const out = [];
  if (!start) return out;
  const step = (num(skip) + 1n) * (num(reverse) ? -1n : 1n);
  const limit = Math.min(Number(num(amount)), SERVE_LIMIT);
  for (let n = num(start.header[8]); out.length < limit && n >= 0n && n < BigInt(chain.length); n += step)
    out.push(chain[Number(n)].header);
  return out;
}

function serve(eth, code, [reqId, query]) {
  if (code === CODES.GET_HEADERS) {
    const headers = headersFor(query);
    eth.sendMessage(CODES.HEADERS, [reqId, headers]);
    emit({ event: 'served', what: 'headers', reqId: String(num(reqId)), count: headers.length,
      numbers: headers.map((h) => Number(num(h[8]))) });
  } else {
    const blocks = query.slice(0, SERVE_LIMIT).map((h) => byHash.get(hex(h))).filter(Boolean);
    eth.sendMessage(CODES.BODIES, [reqId, blocks.map((b) => b.body)]);
    emit({ event: 'served', what: 'bodies', reqId: String(num(reqId)), count: blocks.length,
      numbers: blocks.map((b) => Number(num(b.header[8]))) });
  }
}

/* ----------------------------------------------------------- requesting */

let nextReqId = FIRST_REQUEST_ID;
const pending = new Map(); // request id (decimal) -> {code, check, timer}

function request(eth, code, replyCode, query, check) {
  const id = nextReqId++;
  const key = String(id);
  const timer = setTimeout(() => {
    pending.delete(key);
    emit({ event: 'error', message: `no reply to request ${key} (code ${code}) within ${REQUEST_TIMEOUT_MS} ms` });
  }, REQUEST_TIMEOUT_MS);
  pending.set(key, { code: replyCode, check, timer });
  eth.sendMessage(code, [uint(id), query]);
  return key;
}

function onReply(code, payload) {
  if (!Array.isArray(payload) || payload.length !== 2 || !(payload[0] instanceof Uint8Array))
    throw new Error(`reply ${code} is not [request-id, items]`);
  const key = String(num(payload[0]));
  const p = pending.get(key);
  if (!p || p.code !== code) throw new Error(`reply ${code} with request id ${key} we did not ask for`);
  pending.delete(key);
  clearTimeout(p.timer);
  if (!Array.isArray(payload[1])) throw new Error(`reply ${code} carries no list`);
  p.check(key, payload[1]);
}

/* Headers as asked: count, numbers (start, step), each the child of the one
 * before when consecutive, and of a block we already know below it. */
function checkHeaders(q, key, headers) {
  if (headers.length !== q.count) throw new Error(`asked for ${q.count} headers, got ${headers.length}`);
  const got = headers.map((header) => {
    if (!Array.isArray(header) || header.length < 15) throw new Error('a reply item is not a header');
    return { header, hash: headerHash(header), number: Number(num(header[8])) };
  });
  const first = typeof q.start === 'string' ? got[0]?.hash && hex(got[0].hash) === q.start : true;
  if (!first) throw new Error('the first header is not the one asked for by hash');
  const step = (q.skip + 1) * (q.reverse ? -1 : 1);
  got.forEach((h, i) => {
    if (typeof q.start === 'number' && h.number !== q.start + i * step)
      throw new Error(`header ${i} has number ${h.number}, wanted ${q.start + i * step}`);
    if (i > 0 && h.number !== got[i - 1].number + step) throw new Error(`header ${i} breaks the step`);
    const parent = step === 1 && i > 0 ? got[i - 1] : theirs.get(h.number - 1);
    if (parent && !equalsBytes(h.header[0], parent.hash))
      throw new Error(`header ${h.number} does not link to its parent`);
  });
  for (const h of got) {
    theirs.set(h.number, h);
    theirsByHash.set(hex(h.hash), h);
  }
  emit({ event: 'headers', reqId: key, numbers: got.map((h) => h.number), hashes: got.map((h) => hex(h.hash)) });
}

/* Bodies in the order asked (a prefix of it), each matching its header. */
function checkBodies(asked, key, bodies) {
  if (bodies.length === 0 || bodies.length > asked.length) throw new Error(`asked for ${asked.length} bodies, got ${bodies.length}`);
  const txs = bodies.map((body, i) => {
    const h = theirsByHash.get(asked[i]);
    try {
      checkBlock(h.header, body);
    } catch (err) {
      throw new Error(`body of block ${h.number}: ${err.message}`);
    }
    return body[0].map((t) => hex(parseTx(t).hash));
  });
  emit({ event: 'bodies', reqId: key, numbers: asked.slice(0, bodies.length).map((h) => theirsByHash.get(h).number), txs });
}

/* ------------------------------------------------------------ messages */

function onMessage(eth, code, payload) {
  if (code === CODES.GET_HEADERS || code === CODES.GET_BODIES) serve(eth, code, payload);
  else if (code === CODES.HEADERS || code === CODES.BODIES) onReply(code, payload);
  else if (code === CODES.NEW_BLOCK_HASHES)
    emit({ event: 'announce', items: payload.map(([h, n]) => ({ hash: hex(h), number: Number(num(n)) })) });
  else if (code === CODES.TX)
    emit({ event: 'transactions', txs: payload.map((t) => { const p = parseTx(t); return { hash: hex(p.hash), type: p.type }; }) });
}

const COMMANDS = {
  get_headers(eth, cmd) {
    const q = { start: cmd.start, count: Number(cmd.count ?? 1), skip: Number(cmd.skip ?? 0), reverse: !!cmd.reverse };
    const origin = typeof q.start === 'string' ? unhex(q.start) : uint(q.start);
    const reqId = request(eth, CODES.GET_HEADERS, CODES.HEADERS,
      [origin, uint(q.count), uint(q.skip), uint(q.reverse ? 1 : 0)], (key, items) => checkHeaders(q, key, items));
    emit({ event: 'sent', cmd: cmd.cmd, reqId });
  },
  get_bodies(eth, cmd) {
    const asked = cmd.hashes.map((h) => hex(unhex(h)));
    for (const h of asked) if (!theirsByHash.has(h)) throw new Error(`no header ${h} fetched before`);
    const reqId = request(eth, CODES.GET_BODIES, CODES.BODIES, asked.map(unhex), (key, items) => checkBodies(asked, key, items));
    emit({ event: 'sent', cmd: cmd.cmd, reqId });
  },
  announce(eth, cmd) {
    const b = chain[Number(cmd.number)];
    if (!b) throw new Error(`no block ${cmd.number}`);
    eth.sendMessage(CODES.NEW_BLOCK_HASHES, [[b.hash, uint(cmd.number)]]);
  },
  txs(eth, cmd) {
    const to = keccak(utf8('peer_eth recipient')).subarray(12);
    const list = [];
    for (let i = 0; i < Number(cmd.count ?? 1); i++, txNonce++)
      list.push(signTransfer({ type: txNonce % 2 ? 0 : 2, chainId: opts.chainId, nonce: txNonce, to, value: 7 + i, sk: senderKey }));
    eth.sendMessage(CODES.TX, list);
    emit({ event: 'sent', cmd: cmd.cmd, txs: list.map((t) => ({ hash: hex(keccak(txBytes(t))), raw: hex(RLP.encode(t)) })) });
  },
  disconnect(eth, cmd, peer) { peer.disconnect(cmd.reason ?? 0); },
};

/* ---------------------------------------------------------------- peer */

const common = chainCommon(opts.chainId, genesis.hash);
const rlpx = new RLPx(opts.key ? unhex(opts.key) : new Uint8Array(randomBytes(32)), {
  clientId: utf8(opts.clientId),
  capabilities: [ETH.eth68],
  common,
  maxPeers: 4,
});
let current = null; // {peer, eth} most recently added

rlpx.events.on('peer:added', (peer) => {
  const id = hex(peer.getId()).slice(2);
  const eth = peer.getProtocols().find((p) => p instanceof ETH);
  emit({ event: 'peer_added', id, client: peer.getHelloMessage().clientId,
    shared: peer.getProtocols().map((p) => `eth/${p.getVersion?.()}`) });
  if (!eth) return;
  current = { peer, eth };
  eth.events.on('status', (st) => emit({ event: 'status', id, version: eth.getVersion(),
    networkId: Number(num(st.chainId)), td: String(num(st.td)), best: hex(st.bestHash),
    genesis: hex(st.genesisHash), forkHash: hex(st.forkId[0]), forkNext: Number(num(st.forkId[1])) }));
  eth.events.on('message', (code, payload) => {
    try {
      onMessage(eth, code, payload);
    } catch (err) { // our check failed: say so and stay up
      emit({ event: 'error', message: `message ${code}: ${err?.message ?? err}` });
    }
  });
  const head = chain[chain.length - 1];
  try {
    eth.sendStatus({ td: uint(chain.length), bestHash: head.hash, genesisHash: genesis.hash });
  } catch (err) { // the peer's Status came first and does not match ours
    emit({ event: 'peer_error', id, message: String(err?.message ?? err) });
    peer.disconnect(0x10);
  }
});
rlpx.events.on('peer:removed', (peer, reason, disconnectWe) => {
  if (current?.peer === peer) current = null;
  emit({ event: 'peer_removed', id: hex(peer.getId()).slice(2), reason: reason ?? null,
    reason_name: reason === undefined ? null : (DisconnectReasonNames[reason] ?? 'UNKNOWN'),
    by_remote: disconnectWe !== true });
});
rlpx.events.on('peer:error', (peer, err) => emit({ event: 'peer_error', id: peer.getId() ? hex(peer.getId()).slice(2) : null,
  message: String(err?.message ?? err) }));
rlpx.events.on('error', (err) => emit({ event: 'peer_error', message: String(err?.message ?? err) }));

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === '') return;
  let cmd;
  try {
    cmd = JSON.parse(line);
    if (cmd.cmd === 'exit') process.exit(0);
    if (cmd.cmd === 'dial') {
      rlpx.connect(parseEnode(cmd.enode)).catch((err) => emit({ event: 'peer_error', message: `dial: ${err?.message ?? err}` }));
      emit({ event: 'done', cmd: cmd.cmd });
      return;
    }
    const fn = COMMANDS[cmd.cmd];
    if (!fn) throw new Error(`unknown command ${cmd.cmd}`);
    if (!current) throw new Error('no peer');
    fn(current.eth, cmd, current.peer);
    emit({ event: 'done', cmd: cmd.cmd });
  } catch (err) {
    emit({ event: 'error', cmd: cmd?.cmd ?? null, message: String(err?.message ?? err) });
  }
}).on('close', () => process.exit(0));

rlpx.events.once('listening', () => {
  const port = rlpx._server.address().port;
  rlpx._listenPort = port; // our Hello announces the port we really listen on
  const id = hex(rlpx.id).slice(2);
  const next = common.nextHardforkBlockOrTimestamp('london');
  emit({
    event: 'listening', port, id, enode: `enode://${id}@127.0.0.1:${port}`,
    chain: { networkId: opts.chainId, genesis: hex(genesis.hash), forkHash: common.forkHash('london'),
      forkNext: next === null ? 0 : Number(next) },
    blocks: chain.map((b, n) => ({ number: n, hash: hex(b.hash), txs: b.body[0].map((t) => hex(keccak(txBytes(t)))) })),
  });
  if (opts.dial) rlpx.connect(parseEnode(opts.dial)).catch((err) => emit({ event: 'peer_error', message: `dial: ${err?.message ?? err}` }));
});
rlpx.listen(opts.port, '127.0.0.1');

#!/usr/bin/env node
// The sync benchmark's reference: @ethereumjs/devp2p syncing a chain between
// two of its own peers (two processes, like our validator and full node).
//
//   node sync_ref.mjs serve CHAINFILE   serve the chain written by chain_export;
//                                       prints "enode: URL genesis: HEX" once listening
//   node sync_ref.mjs fetch ENODE N G   dial, exchange eth/68 Status, fetch headers
//                                       1..N in batches of 512 and their bodies in
//                                       requests of 128 (all of a batch in flight),
//                                       then print "synced N blocks in T s, B bytes"
//
// Everything on the wire is the library's (RLPx, Snappy, its ETH class); this
// script only answers and issues requests. The fetcher computes each header's
// hash (it needs them to ask for bodies) and counts bytes; it does not
// validate or store, so it does less than our full node does. TCP_NODELAY is
// set on both sockets. The package comes from tests/interop/node_modules
// (make npm-deps).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

const require = createRequire(new URL('../interop/package.json', import.meta.url));
const { ETH, RLPx } = require('@ethereumjs/devp2p');
const { Common, Mainnet } = require('@ethereumjs/common');
const { RLP } = require('@ethereumjs/rlp');
const { keccak256 } = require('ethereum-cryptography/keccak.js');
const { bytesToUnprefixedHex, hexToBytes, bytesToBigInt, intToBytes } = require('@ethereumjs/util');

const HEADERS_PER_REQUEST = 512;
const BODIES_PER_REQUEST = 128;
const CODES = { GET_HEADERS: 0x03, HEADERS: 0x04, GET_BODIES: 0x05, BODIES: 0x06 };

const hex = (b) => bytesToUnprefixedHex(b);
const num = (b) => (b.length === 0 ? 0 : Number(bytesToBigInt(b)));
function die(msg) {
  process.stderr.write(`sync_ref: ${msg}\n`);
  process.exit(1);
}

function readChain(path) {
  const buf = readFileSync(path);
  if (buf.subarray(0, 8).toString() !== 'EPCHAIN1') die('not a chain file');
  const count = Number(buf.readBigUInt64LE(8));
  const genesis = new Uint8Array(buf.subarray(16, 48));
  const headers = [null]; // decoded, by number (what sendMessage encodes)
  const bodies = [null];
  const byHash = new Map();
  let off = 48;
  const item = () => {
    const len = buf.readUInt32LE(off);
    const raw = new Uint8Array(buf.subarray(off + 4, off + 4 + len));
    off += 4 + len;
    return raw;
  };
  for (let n = 1; n <= count; n++) {
    const h = item();
    const b = item();
    headers.push(RLP.decode(h));
    bodies.push(RLP.decode(b));
    byHash.set(hex(keccak256(h)), n);
  }
  return { count, genesis, headers, bodies, byHash };
}

function makeRlpx(port) {
  const common = new Common({ chain: Mainnet, hardfork: 'chainstart' });
  const rlpx = new RLPx(new Uint8Array(randomBytes(32)), {
    clientId: new TextEncoder().encode('ethereumjs-devp2p-bench'),
    capabilities: [ETH.eth68],
    common,
    listenPort: port,
    maxPeers: 4,
  });
  rlpx.events.on('error', (err) => die(String(err?.message ?? err)));
  rlpx.events.on('peer:error', (peer, err) => die(String(err?.message ?? err)));
  return rlpx;
}

function ethOf(peer) {
  const eth = peer.getProtocols().find((p) => p instanceof ETH);
  if (!eth) die('no shared eth capability');
  return eth;
}

function serve(path) {
  const chain = readChain(path);
  const rlpx = makeRlpx(null);
  rlpx.events.on('peer:added', (peer) => {
    peer._socket.setNoDelay(true);
    const eth = ethOf(peer);
    eth.sendStatus({ td: intToBytes(chain.count), bestHash: new Uint8Array(32), genesisHash: chain.genesis });
    eth.events.on('message', (code, payload) => {
      const [reqId, req] = payload;
      if (code === CODES.GET_HEADERS) {
        const [origin, amount, skip, reverse] = req;
        if (num(skip) !== 0 || num(reverse) !== 0) die('only contiguous ascending requests');
        const from = num(origin);
        const to = Math.min(chain.count, from + num(amount) - 1);
        eth.sendMessage(CODES.HEADERS, [reqId, chain.headers.slice(from, to + 1)]);
      } else if (code === CODES.GET_BODIES) {
        const out = [];
        for (const h of req) {
          const n = chain.byHash.get(hex(h));
          if (n !== undefined) out.push(chain.bodies[n]);
        }
        eth.sendMessage(CODES.BODIES, [reqId, out]);
      }
    });
  });
  rlpx.events.once('listening', () => {
    const port = rlpx._server.address().port;
    rlpx._listenPort = port;
    process.stdout.write(`enode: enode://${hex(rlpx.id)}@127.0.0.1:${port} genesis: ${hex(chain.genesis)}\n`);
  });
  rlpx.listen(0, '127.0.0.1');
}

function fetch(url, total, genesis) {
  const m = /^enode:\/\/([0-9a-fA-F]{128})@([^:]+):(\d+)/.exec(url);
  if (!m) die(`bad enode ${url}`);
  const rlpx = makeRlpx(null);
  const pending = new Map(); // request id -> resolve
  let nextId = 1;
  let bytes = 0;
  rlpx.events.on('peer:added', (peer) => {
    peer._socket.setNoDelay(true);
    const eth = ethOf(peer);
    const request = (code, body) => new Promise((resolve) => {
      const id = nextId++;
      pending.set(id, resolve);
      eth.sendMessage(code, [intToBytes(id), body]);
    });
    eth.events.on('message', (code, payload) => {
      const [reqId, items] = payload;
      const resolve = pending.get(num(reqId));
      if (!resolve) return;
      pending.delete(num(reqId));
      resolve(items);
    });
    eth.events.once('status', async () => {
      const t0 = process.hrtime.bigint();
      for (let from = 1; from <= total; from += HEADERS_PER_REQUEST) {
        const amount = Math.min(HEADERS_PER_REQUEST, total - from + 1);
        const headers = await request(CODES.GET_HEADERS,
          [intToBytes(from), intToBytes(amount), intToBytes(0), intToBytes(0)]);
        if (headers.length !== amount) die(`asked ${amount} headers from ${from}, got ${headers.length}`);
        const hashes = headers.map((h) => {
          const raw = RLP.encode(h);
          bytes += raw.length;
          return keccak256(raw);
        });
        const asks = [];
        for (let i = 0; i < hashes.length; i += BODIES_PER_REQUEST)
          asks.push(request(CODES.GET_BODIES, hashes.slice(i, i + BODIES_PER_REQUEST)));
        const replies = await Promise.all(asks);
        let got = 0;
        for (const bodies of replies) {
          for (const b of bodies) bytes += RLP.encode(b).length;
          got += bodies.length;
        }
        if (got !== amount) die(`asked ${amount} bodies, got ${got}`);
      }
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      process.stdout.write(`synced ${total} blocks in ${secs.toFixed(3)} s, ${bytes} bytes\n`);
      process.exit(0);
    });
    eth.sendStatus({ td: intToBytes(0), bestHash: new Uint8Array(32), genesisHash: hexToBytes(`0x${genesis}`) });
  });
  rlpx.connect({ id: hexToBytes(`0x${m[1]}`), address: m[2], tcpPort: Number(m[3]) })
    .catch((err) => die(`dial: ${err?.message ?? err}`));
}

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'serve' && a) serve(a);
else if (mode === 'fetch' && a && b && c) fetch(a, Number(b), c);
else die('usage: sync_ref.mjs serve CHAINFILE | fetch ENODE N GENESIS');

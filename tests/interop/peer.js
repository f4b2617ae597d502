#!/usr/bin/env node
// Reference peer for libethp2p's interoperability tests.
//
// Everything on the wire is done by @ethereumjs/devp2p (its RLPx class for the
// handshake, framing, Hello, Ping/Pong and Disconnect, its ETH class for the
// eth capability); this script only drives it and reports what it sees. A test
// talks to it through JSON lines: events on stdout, commands on stdin.
//
// Options:
//   --key HEX        our secret key (default: a fresh random one)
//   --port N         listen on 127.0.0.1:N (0 = any free port; default 0)
//   --dial ENODE     dial this node once listening
//   --caps LIST      capabilities to offer, e.g. eth/68,eth/67 (default eth/68)
//   --client-id STR  the client id in our Hello
//   --genesis HEX    genesis hash used in our Status (default: mainnet's)
//   --hardfork NAME  mainnet hardfork our Status claims (default chainstart,
//                    whose fork id is CRC32(genesis) with next fork 1150000)
//
// Events (one JSON object per line, always with "event"):
//   listening    {port, id, enode, chain: {networkId, genesis, forkHash, forkNext}}
//   peer_added   {id, client, version, caps, port, shared}      after both Hellos
//   message      {id, cap, version, code, payload}  a capability message as the
//                library handed it to its ETH class (decompressed RLP, hex)
//   status       {id, version, networkId, td, best, genesis, forkHash, forkNext}
//                the remote Status, once the ETH class accepted both Status messages
//   ping / pong  {id}                               base-protocol Ping/Pong received
//   peer_removed {id, reason, reason_name, by_remote}  reason null when the socket
//                closed without a Disconnect
//   done         {cmd}                              a command was carried out
//   error        {message, [id], [cmd]}             anything that went wrong
//
// Commands (one JSON object per line, with "cmd"; "id" picks a peer, default the
// most recently added one):
//   {"cmd":"send","code":N,"payload":HEX}   eth message N (relative id); payload is
//                                           RLP, decoded here and re-encoded by the ETH class
//   {"cmd":"status","td":N,"best":HEX}      send our Status (the library fills
//                                           version, network id, genesis and fork id)
//   {"cmd":"ping"}                          send a Ping (the library expects a Pong)
//   {"cmd":"disconnect","reason":N}         send Disconnect(N)
//   {"cmd":"dial","enode":URL}              dial a node
//   {"cmd":"exit"}                          exit at once (also on end of stdin)
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { ETH, Peer, RLPx, SNAP, DisconnectReasonNames } from '@ethereumjs/devp2p';
import { Common, Mainnet } from '@ethereumjs/common';
import { RLP } from '@ethereumjs/rlp';
import { bytesToBigInt, bytesToUnprefixedHex, hexToBytes } from '@ethereumjs/util';

const MAINNET_GENESIS = 'd4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3';
const CAPS = {
  'eth/62': ETH.eth62, 'eth/63': ETH.eth63, 'eth/64': ETH.eth64, 'eth/65': ETH.eth65,
  'eth/66': ETH.eth66, 'eth/67': ETH.eth67, 'eth/68': ETH.eth68, 'snap/1': SNAP.snap,
};

function emit(obj) {
  // stdout is a pipe: Node writes pipes synchronously on POSIX, so a line is
  // out before the next event or an exit.
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function fail(message) {
  emit({ event: 'error', message });
  process.exit(2);
}

function parseArgs(argv) {
  const o = { key: null, port: 0, dial: null, caps: 'eth/68', clientId: 'libethp2p-interop-peer',
    genesis: MAINNET_GENESIS, hardfork: 'chainstart' };
  const names = { '--key': 'key', '--port': 'port', '--dial': 'dial', '--caps': 'caps',
    '--client-id': 'clientId', '--genesis': 'genesis', '--hardfork': 'hardfork' };
  for (let i = 0; i < argv.length; i += 2) {
    const name = names[argv[i]];
    if (name === undefined || argv[i + 1] === undefined) fail(`bad option ${argv[i]}`);
    o[name] = argv[i + 1];
  }
  o.port = Number(o.port);
  if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) fail('bad --port');
  return o;
}

const hex = (b) => bytesToUnprefixedHex(b);
const unhex = (s) => hexToBytes(s.startsWith('0x') ? s : `0x${s}`);
const num = (b) => (b.length === 0 ? 0 : Number(bytesToBigInt(b)));

function parseEnode(url) {
  const m = /^enode:\/\/([0-9a-fA-F]{128})@([^:]+):(\d+)/.exec(url);
  if (!m) throw new Error(`bad enode URL ${url}`);
  return { id: unhex(m[1]), address: m[2], tcpPort: Number(m[3]) };
}

const opts = parseArgs(process.argv.slice(2));
const caps = opts.caps.split(',').map((c) => {
  if (!CAPS[c]) fail(`unknown capability ${c}`);
  return CAPS[c];
});
const common = new Common({ chain: Mainnet, hardfork: opts.hardfork });
const genesis = unhex(opts.genesis);
if (genesis.length !== 32) fail('--genesis needs 32 bytes');
const secretKey = opts.key ? unhex(opts.key) : new Uint8Array(randomBytes(32));

// Observe (never replace) the library's own handlers: each wrapper reports
// and then runs the original, so what the test sees is the library's behaviour.
function observe(proto, method, report) {
  const orig = proto[method];
  proto[method] = function (...args) {
    report(this, ...args);
    return orig.apply(this, args);
  };
}
const peerIdOf = (peer) => (peer.getId() ? hex(peer.getId()) : null);
observe(Peer.prototype, '_handlePing', (peer) => emit({ event: 'ping', id: peerIdOf(peer) }));
observe(Peer.prototype, '_handlePong', (peer) => emit({ event: 'pong', id: peerIdOf(peer) }));
observe(ETH.prototype, '_handleMessage', (eth, code, data) => emit({
  event: 'message', id: peerIdOf(eth._peer), cap: 'eth', version: eth.getVersion(), code,
  payload: hex(data),
}));

const rlpx = new RLPx(secretKey, {
  clientId: new TextEncoder().encode(opts.clientId),
  capabilities: caps,
  common,
  listenPort: opts.port === 0 ? null : opts.port,
  maxPeers: 8,
});
const peers = new Map(); // id hex -> Peer, in the order they were added
let lastPeer = null;

function helloJson(peer) {
  const h = peer.getHelloMessage();
  return {
    id: hex(h.id), client: h.clientId, version: h.protocolVersion,
    caps: h.capabilities.map((c) => `${c.name}/${c.version}`), port: h.port,
    shared: peer.getProtocols().map((p) => `${p.constructor.name.toLowerCase()}/${p.getVersion?.() ?? p._version}`),
  };
}

function ethOf(peer) {
  const eth = peer.getProtocols().find((p) => p instanceof ETH);
  if (!eth) throw new Error('no shared eth capability');
  return eth;
}

rlpx.events.on('peer:added', (peer) => {
  const id = hex(peer.getId());
  peers.set(id, peer);
  lastPeer = id;
  emit({ event: 'peer_added', ...helloJson(peer) });
  for (const p of peer.getProtocols()) {
    if (!(p instanceof ETH)) continue;
    p.events.on('status', (st) => emit({
      event: 'status', id, version: p.getVersion(), networkId: num(st.chainId), td: hex(st.td),
      best: hex(st.bestHash), genesis: hex(st.genesisHash),
      forkHash: st.forkId ? hex(st.forkId[0]) : null, forkNext: st.forkId ? num(st.forkId[1]) : null,
    }));
  }
});
rlpx.events.on('peer:removed', (peer, reason, disconnectWe) => {
  const id = hex(peer.getId());
  peers.delete(id);
  if (lastPeer === id) lastPeer = [...peers.keys()].pop() ?? null;
  emit({
    event: 'peer_removed', id, reason: reason ?? null,
    reason_name: reason === undefined ? null : (DisconnectReasonNames[reason] ?? 'UNKNOWN'),
    by_remote: disconnectWe !== true,
  });
});
rlpx.events.on('peer:error', (peer, err) => emit({ event: 'error', id: peerIdOf(peer), message: String(err?.message ?? err) }));
rlpx.events.on('error', (err) => emit({ event: 'error', message: String(err?.message ?? err) }));

function dial(url) {
  rlpx.connect(parseEnode(url)).catch((err) => emit({ event: 'error', cmd: 'dial', message: String(err?.message ?? err) }));
}

function pickPeer(cmd) {
  const id = cmd.id ?? lastPeer;
  const peer = id ? peers.get(id) : undefined;
  if (!peer) throw new Error('no such peer');
  return peer;
}

const COMMANDS = {
  send(cmd) {
    ethOf(pickPeer(cmd)).sendMessage(cmd.code, RLP.decode(unhex(cmd.payload)));
  },
  status(cmd) {
    ethOf(pickPeer(cmd)).sendStatus({
      td: bigToBytes(BigInt(cmd.td ?? 0)),
      bestHash: cmd.best ? unhex(cmd.best) : genesis,
      genesisHash: genesis,
    });
  },
  ping(cmd) { pickPeer(cmd)._sendPing(); },
  disconnect(cmd) { pickPeer(cmd).disconnect(cmd.reason ?? 0); },
  dial(cmd) { dial(cmd.enode); },
  exit() { process.exit(0); },
};

function bigToBytes(v) {
  const out = [];
  for (; v > 0n; v >>= 8n) out.unshift(Number(v & 0xffn));
  return Uint8Array.from(out);
}

createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.trim() === '') return;
  let cmd;
  try {
    cmd = JSON.parse(line);
    const fn = COMMANDS[cmd.cmd];
    if (!fn) throw new Error(`unknown command ${cmd.cmd}`);
    fn(cmd);
    emit({ event: 'done', cmd: cmd.cmd });
  } catch (err) {
    emit({ event: 'error', cmd: cmd?.cmd ?? null, message: String(err?.message ?? err) });
  }
}).on('close', () => process.exit(0));

rlpx.events.once('listening', () => {
  const port = rlpx._server.address().port;
  rlpx._listenPort = port; // our Hello announces the port we really listen on
  const id = hex(rlpx.id);
  const nextFork = common.nextHardforkBlockOrTimestamp(opts.hardfork);
  emit({
    event: 'listening', port, id, enode: `enode://${id}@127.0.0.1:${port}`,
    chain: {
      networkId: Number(common.chainId()), genesis: hex(genesis),
      forkHash: common.forkHash(opts.hardfork).replace(/^0x/, ''),
      forkNext: nextFork === null ? 0 : Number(nextFork),
    },
  });
  if (opts.dial) dial(opts.dial);
});
rlpx.listen(opts.port, '127.0.0.1');

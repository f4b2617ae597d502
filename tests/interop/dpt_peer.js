#!/usr/bin/env node
// Discovery v4 reference node for libethp2p's interop tests: a DPT of
// @ethereumjs/devp2p on 127.0.0.1 (UDP), with a few more DPTs in this process
// that the main one knows (its "neighbours"). Everything on the wire is done
// by the DPT class; this script only starts it and reports what it sees.
//
// Options:
//   --key HEX     the main DPT's secret key (default: random)
//   --extra N     neighbour DPTs (default 3)
//   --refresh MS  the DPTs' refresh interval (a tenth of the peers is asked
//                 FindNode every MS/10; default 1000)
//
// Events (JSON lines on stdout, each with "event"):
//   listening  {port, id, enode, neighbours: [id, ...]}  once the main DPT holds
//                                                          every neighbour
//   peer_added {id, address, udpPort}  a node entered the main DPT's table (it
//                                      answered the DPT's Ping)
//   peers      {peers: [{id, address, udpPort}]}   answer to {"cmd":"peers"}
//   done       {cmd}
//   error      {message}
// Commands (JSON lines on stdin, with "cmd"):
//   {"cmd":"bootstrap","address":IP,"udpPort":N}  the main DPT pings that node
//                                                  and asks it FindNode(self)
//   {"cmd":"peers"}    list the main DPT's table
//   {"cmd":"exit"}     exit (also on end of stdin)
import { createInterface } from 'node:readline';
import { randomBytes } from 'node:crypto';
import { DPT } from '@ethereumjs/devp2p';
import { bytesToUnprefixedHex, hexToBytes } from '@ethereumjs/util';

function emit(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

const args = process.argv.slice(2);
function opt(name, dflt) {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
}
const keyHex = opt('--key', null);
const extra = parseInt(opt('--extra', '3'), 10);
const refresh = parseInt(opt('--refresh', '1000'), 10);

function makeDpt(key) {
  const dpt = new DPT(key, {
    endpoint: { address: '127.0.0.1', udpPort: null, tcpPort: null },
    refreshInterval: refresh,
    timeout: 3000,
  });
  dpt.events.on('error', (err) => {
    // timeouts of pings to nodes that left are routine
    if (!String(err && err.message).includes('Timeout')) emit({ event: 'error', message: String(err && err.message) });
  });
  return dpt;
}

function listening(dpt) {
  return new Promise((resolve) => {
    dpt.events.once('listening', () => resolve(dpt._server._socket.address().port));
    dpt.bind(0, '127.0.0.1');
  });
}

const mainKey = keyHex ? hexToBytes('0x' + keyHex) : randomBytes(32);
const main = makeDpt(mainKey);
const mainPort = await listening(main);
main._server._endpoint.udpPort = mainPort;
const mainId = bytesToUnprefixedHex(main.id);

const neighbours = [];
for (let i = 0; i < extra; i++) {
  const d = makeDpt(randomBytes(32));
  const port = await listening(d);
  d._server._endpoint.udpPort = port;
  neighbours.push({ dpt: d, port, id: bytesToUnprefixedHex(d.id) });
}
for (const n of neighbours) await main.addPeer({ address: '127.0.0.1', udpPort: n.port });

main.events.on('peer:added', (peer) => {
  emit({ event: 'peer_added', id: bytesToUnprefixedHex(peer.id), address: peer.address, udpPort: peer.udpPort });
});

emit({
  event: 'listening',
  port: mainPort,
  id: mainId,
  enode: `enode://${mainId}@127.0.0.1:${mainPort}`,
  neighbours: neighbours.map((n) => n.id),
});

function shutdown() {
  try { main.destroy(); } catch { /* already closed */ }
  for (const n of neighbours) { try { n.dpt.destroy(); } catch { /* already closed */ } }
  process.exit(0);
}

const rl = createInterface({ input: process.stdin });
rl.on('line', async (line) => {
  let cmd;
  try { cmd = JSON.parse(line); } catch { emit({ event: 'error', message: 'bad command line' }); return; }
  try {
    if (cmd.cmd === 'bootstrap') {
      await main.bootstrap({ address: cmd.address, udpPort: cmd.udpPort });
    } else if (cmd.cmd === 'peers') {
      emit({ event: 'peers', peers: main.getPeers().map((p) => ({ id: bytesToUnprefixedHex(p.id), address: p.address, udpPort: p.udpPort })) });
    } else if (cmd.cmd === 'exit') {
      shutdown();
      return;
    } else {
      emit({ event: 'error', message: `unknown command ${cmd.cmd}`, cmd: cmd.cmd });
      return;
    }
    emit({ event: 'done', cmd: cmd.cmd });
  } catch (err) {
    emit({ event: 'error', message: String(err && err.message), cmd: cmd.cmd });
  }
});
rl.on('close', shutdown);

// Chain helpers for chain_peer.js: the example chain's blocks (examples/README.md,
// "The chain") built and checked independently of libethp2p, so that a sync
// between the two sides proves they agree on every byte.
//
//   genesisHeader(chainId)        the genesis the example programs derive
//   buildChain(opts)              a sealed chain of London headers with signed
//                                 legacy / EIP-1559 transactions
//   checkBlock(header, body)      transactions root, ommers hash, withdrawals root
//   sealer(header)                the address that sealed a header (or throws)
//   parseTx(tx) / decodeTx(tx)    hash and type (and sender) of a body's transaction
//   orderedTrieRoot(items)        Merkle-Patricia root keyed by RLP(index)
//
// A header is an array of byte fields (as RLP.decode gives it); a body is
// [transactions, ommers] where a legacy transaction is its field array and a
// typed one its envelope bytes (type || RLP payload), as bodies carry them.
import { RLP } from '@ethereumjs/rlp';
import { bytesToBigInt, concatBytes, equalsBytes } from '@ethereumjs/util';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 as keccak } from '@noble/hashes/sha3.js';

export const GAS_LIMIT = 30000000n;
export const BASE_FEE = 1000000000n;
export const TX_GAS = 21000n;
const EXTRA_INDEX = 12;   // extraData among the header's fields
const SEAL_LEN = 65;      // r || s || recovery id

const utf8 = (s) => new TextEncoder().encode(s);
export const EMPTY_TRIE_ROOT = keccak(RLP.encode(new Uint8Array()));
export const EMPTY_OMMERS_HASH = keccak(RLP.encode([]));

/** Minimal big-endian bytes of a non-negative integer (0 is empty), as RLP wants. */
export function uint(v) {
  let n = BigInt(v);
  const out = [];
  for (; n > 0n; n >>= 8n) out.unshift(Number(n & 0xffn));
  return Uint8Array.from(out);
}

export const num = (b) => (b.length === 0 ? 0n : bytesToBigInt(b));
export const headerHash = (header) => keccak(RLP.encode(header));
export const addressOf = (sk) => keccak(secp256k1.getPublicKey(sk, false).subarray(1)).subarray(12);

/* ------------------------------------------------------------------ trie */

function nibbles(key) {
  const out = new Uint8Array(key.length * 2);
  key.forEach((b, i) => { out[2 * i] = b >> 4; out[2 * i + 1] = b & 15; });
  return out;
}

/** Hex-prefix encoding of a path (yellow paper appendix C). */
function hexPrefix(path, leaf) {
  const odd = path.length % 2;
  const out = new Uint8Array(1 + (path.length >> 1));
  out[0] = ((leaf ? 2 : 0) + odd) << 4;
  if (odd) out[0] |= path[0];
  for (let i = odd, k = 1; i < path.length; i += 2, k++) out[k] = (path[i] << 4) | path[i + 1];
  return out;
}

/** How a parent refers to a child: inline when its encoding is under 32 bytes. */
function ref(node) {
  const enc = RLP.encode(node);
  return enc.length < 32 ? node : keccak(enc);
}

/* @items are sorted by path and share their first @depth nibbles. */
function trieNode(items, depth) {
  if (items.length === 1) return [hexPrefix(items[0].path.subarray(depth), true), items[0].value];
  const first = items[0].path, last = items[items.length - 1].path;
  let p = 0; // sorted, so what first and last share, all share
  while (depth + p < first.length && depth + p < last.length && first[depth + p] === last[depth + p]) p++;
  if (p > 0) return [hexPrefix(first.subarray(depth, depth + p), false), ref(trieNode(items, depth + p))];
  const branch = new Array(17).fill(new Uint8Array());
  let i = 0;
  if (first.length === depth) branch[16] = items[i++].value;
  while (i < items.length) {
    const nib = items[i].path[depth];
    let j = i;
    while (j < items.length && items[j].path[depth] === nib) j++;
    branch[nib] = ref(trieNode(items.slice(i, j), depth + 1));
    i = j;
  }
  return branch;
}

function comparePaths(a, b) {
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Root of the trie of these [key, value] byte pairs (empty values are absent). */
export function trieRoot(pairs) {
  const items = pairs.filter(([, v]) => v.length > 0)
    .map(([k, v]) => ({ path: nibbles(k), value: v }))
    .sort((a, b) => comparePaths(a.path, b.path));
  if (items.length === 0) return EMPTY_TRIE_ROOT;
  return keccak(RLP.encode(trieNode(items, 0)));
}

/** Root of a list keyed by RLP(index); items are the bytes the root needs. */
export const orderedTrieRoot = (items) => trieRoot(items.map((v, i) => [RLP.encode(uint(i)), v]));

/* ---------------------------------------------------------- transactions */

/** A body's transaction as the roots and hashes need it: a legacy one's RLP
 * list, a typed one's envelope. */
export const txBytes = (tx) => (Array.isArray(tx) ? RLP.encode(tx) : tx);

const pad32 = (b) => concatBytes(new Uint8Array(32 - b.length), b);

function signHash(hash, sk) {
  const sig = secp256k1.sign(hash, sk, { prehash: false, format: 'recovered' });
  return { recid: sig[0], r: stripZeros(sig.subarray(1, 33)), s: stripZeros(sig.subarray(33)) };
}

function stripZeros(b) {
  let i = 0;
  while (i < b.length && b[i] === 0) i++;
  return b.subarray(i);
}

function recoverAddress(hash, recid, r, s) {
  if (r.length > 32 || s.length > 32 || recid > 1) throw new Error('bad signature');
  const sig = concatBytes(Uint8Array.of(recid), pad32(r), pad32(s));
  const pub = secp256k1.Signature.fromBytes(sig, 'recovered').recoverPublicKey(hash).toBytes(false);
  return keccak(pub.subarray(1)).subarray(12);
}

/** A signed transfer: legacy with EIP-155 or EIP-1559 (type 2), as a body holds it. */
export function signTransfer({ type, chainId, nonce, to, value, sk }) {
  const gasPrice = 2n * BASE_FEE;
  if (type === 0) {
    const fields = [uint(nonce), uint(gasPrice), uint(TX_GAS), to, uint(value), new Uint8Array()];
    const { recid, r, s } = signHash(keccak(RLP.encode([...fields, uint(chainId), uint(0), uint(0)])), sk);
    return [...fields, uint(BigInt(recid) + 35n + 2n * BigInt(chainId)), r, s];
  }
  const fields = [uint(chainId), uint(nonce), uint(BASE_FEE), uint(gasPrice), uint(TX_GAS), to,
    uint(value), new Uint8Array(), []];
  const { recid, r, s } = signHash(keccak(concatBytes(Uint8Array.of(2), RLP.encode(fields))), sk);
  return concatBytes(Uint8Array.of(2), RLP.encode([...fields, uint(recid), r, s]));
}

/* A transaction's parts: its fields, what its signature covers, and the
 * recovery id; throws unless it is a well-formed legacy, EIP-2930 or
 * EIP-1559 transaction. */
function txParts(tx) {
  if (Array.isArray(tx)) {
    if (tx.length !== 9 || tx.some((f) => !(f instanceof Uint8Array))) throw new Error('bad legacy transaction');
    const v = num(tx[6]);
    if (v < 35n && v !== 27n && v !== 28n) throw new Error('bad legacy transaction v');
    if (v < 35n) return { type: 0, chainId: null, hash: keccak(RLP.encode(tx)), recid: v - 27n,
      signed: RLP.encode(tx.slice(0, 6)), r: tx[7], s: tx[8] };
    const chainId = (v - 35n) / 2n; // EIP-155: the chain id is signed too
    return { type: 0, chainId, hash: keccak(RLP.encode(tx)), recid: (v - 35n) % 2n,
      signed: RLP.encode([...tx.slice(0, 6), uint(chainId), uint(0), uint(0)]), r: tx[7], s: tx[8] };
  }
  const type = tx[0];
  if (type !== 1 && type !== 2) throw new Error(`unsupported transaction type ${type}`);
  const f = RLP.decode(tx.subarray(1));
  if (!Array.isArray(f) || f.length !== (type === 1 ? 11 : 12)) throw new Error('bad typed transaction');
  return { type, chainId: num(f[0]), hash: keccak(tx), recid: num(f[f.length - 3]),
    signed: concatBytes(Uint8Array.of(type), RLP.encode(f.slice(0, -3))), r: f[f.length - 2], s: f[f.length - 1] };
}

/** Hash, type and chain id (null if none) of a body's transaction, checking
 * only its form (cheap: no signature recovery). */
export function parseTx(tx) {
  const { hash, type, chainId } = txParts(tx);
  return { hash, type, chainId };
}

/** parseTx() and the sender the signature recovers. */
export function decodeTx(tx) {
  const p = txParts(tx);
  const from = recoverAddress(keccak(p.signed), Number(p.recid), p.r, p.s);
  return { hash: p.hash, type: p.type, chainId: p.chainId, from };
}

/* --------------------------------------------------------------- headers */

function londonHeader(h) {
  return [h.parentHash, EMPTY_OMMERS_HASH, h.coinbase, EMPTY_TRIE_ROOT, h.txRoot, EMPTY_TRIE_ROOT,
    new Uint8Array(256), uint(1), uint(h.number), uint(GAS_LIMIT), uint(h.gasUsed), uint(h.timestamp),
    h.extra, new Uint8Array(32), new Uint8Array(8), uint(BASE_FEE)];
}

/** The genesis header the example programs derive from the chain id. */
export function genesisHeader(chainId) {
  return londonHeader({ parentHash: new Uint8Array(32), coinbase: new Uint8Array(20),
    txRoot: EMPTY_TRIE_ROOT, number: 0, gasUsed: 0, timestamp: 0, extra: utf8(`ethp2p/${chainId}`) });
}

/* keccak256 of the header's RLP with extraData emptied: what the seal signs. */
function sealHash(header) {
  if (header.length <= EXTRA_INDEX) throw new Error('header too short for a seal');
  const unsealed = header.slice();
  unsealed[EXTRA_INDEX] = new Uint8Array();
  return keccak(RLP.encode(unsealed));
}

/** The sealer of a header, checked to be its coinbase; throws otherwise. */
export function sealer(header) {
  const seal = header[EXTRA_INDEX];
  if (seal.length !== SEAL_LEN) throw new Error('no seal in extraData');
  const author = recoverAddress(sealHash(header), seal[64], stripZeros(seal.subarray(0, 32)),
    stripZeros(seal.subarray(32, 64)));
  if (!equalsBytes(author, header[2])) throw new Error('seal does not recover the coinbase');
  return author;
}

/**
 * A chain of @blocks blocks on the example genesis of @chainId, sealed with
 * @sealKey, each with @txs transfers from @senderKey (alternately EIP-1559
 * and legacy, nonces counting up). Returns [{header, body, hash}], genesis first.
 */
export function buildChain({ chainId, blocks, txs, sealKey, senderKey }) {
  const g = genesisHeader(chainId);
  const chain = [{ header: g, body: [[], []], hash: headerHash(g) }];
  const coinbase = addressOf(sealKey), to = addressOf(keccak(utf8('chain_peer recipient')));
  let nonce = 0;
  for (let n = 1; n <= blocks; n++) {
    const list = [];
    for (let k = 0; k < txs; k++, nonce++)
      list.push(signTransfer({ type: nonce % 2 ? 0 : 2, chainId, nonce, to, value: 1000 + nonce, sk: senderKey }));
    const header = londonHeader({ parentHash: chain[n - 1].hash, coinbase,
      txRoot: orderedTrieRoot(list.map(txBytes)), number: n, gasUsed: BigInt(txs) * TX_GAS,
      timestamp: 1700000000 + n, extra: new Uint8Array() });
    const seal = secp256k1.sign(sealHash(header), sealKey, { prehash: false, format: 'recovered' });
    header[EXTRA_INDEX] = concatBytes(seal.subarray(1), seal.subarray(0, 1)); // r || s || v
    chain.push({ header, body: [list, []], hash: headerHash(header) });
  }
  return chain;
}

/** Throws unless @body matches @header: transactions root, ommers hash, and
 * the withdrawals root when the header has one (field 16, Shanghai on). */
export function checkBlock(header, body) {
  if (!Array.isArray(header) || header.length < 15) throw new Error('not a header');
  if (!Array.isArray(body) || body.length < 2 || !Array.isArray(body[0]) || !Array.isArray(body[1]))
    throw new Error('not a body');
  if (!equalsBytes(orderedTrieRoot(body[0].map(txBytes)), header[4])) throw new Error('transactions root mismatch');
  if (!equalsBytes(keccak(RLP.encode(body[1])), header[1])) throw new Error('ommers hash mismatch');
  const hasWithdrawals = header.length > 16;
  if (hasWithdrawals !== (body.length > 2)) throw new Error('withdrawals present in only one of header and body');
  if (hasWithdrawals && !equalsBytes(orderedTrieRoot(body[2].map((w) => RLP.encode(w))), header[16]))
    throw new Error('withdrawals root mismatch');
}

// Import blocks made by libethp2p's example Clique code into @ethereumjs:
//   node import_block.js GENESIS.json BLOCKS.hex ADDRESS...
// BLOCKS.hex holds one whole block RLP (hex) per line, from block 1 on. Each
// block's Clique seal is checked against the genesis signers, then the block
// is executed by @ethereumjs/vm (runBlock validates the state root, receipts
// root, logs bloom and gas used). Prints JSON: the hashes, signers, and the
// final balances and nonces of ADDRESS...
import { readFileSync } from 'node:fs';
import { createBlockFromRLP, cliqueSigner } from '@ethereumjs/block';
import { createBlockchain } from '@ethereumjs/blockchain';
import { createCommonFromGethGenesis, parseGethGenesisState } from '@ethereumjs/common';
import { bytesToHex, hexToBytes, createAddressFromString } from '@ethereumjs/util';
import { createVM, runBlock } from '@ethereumjs/vm';

const json = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const common = createCommonFromGethGenesis(json, { chain: 'example' });
const genesisState = parseGethGenesisState(json);
const blockchain = await createBlockchain({ common, genesisState, validateConsensus: false });
const vm = await createVM({ common, blockchain });
await vm.stateManager.generateCanonicalGenesis(genesisState);
let parent = blockchain.genesisBlock;
const out = { hashes: [], signers: [], accounts: {} };
const lines = readFileSync(process.argv[3], 'utf8').split('\n').filter((l) => l.trim());
for (const line of lines) {
  const block = createBlockFromRLP(hexToBytes('0x' + line.trim()), { common, setHardfork: true });
  await block.validateData();
  block.header.validateGasLimit(parent.header);
  if (block.header.baseFeePerGas !== parent.header.calcNextBaseFee())
    throw new Error('base fee differs');
  await runBlock(vm, { block, root: parent.header.stateRoot });
  await blockchain.putBlock(block);
  out.hashes.push(bytesToHex(block.hash()));
  out.signers.push(cliqueSigner(block.header).toString());
  parent = block;
}
for (const a of process.argv.slice(4)) {
  const acc = await vm.stateManager.getAccount(createAddressFromString(a));
  out.accounts[a] = { balance: (acc ? acc.balance : 0n).toString(), nonce: Number(acc ? acc.nonce : 0n) };
}
console.log(JSON.stringify(out));

// Seal block 1 of a Clique genesis.json with @ethereumjs:
//   node seal_header.js GENESIS.json SIGNER_KEY_HEX -> header RLP hex
import { readFileSync } from 'node:fs';
import { createBlockHeader, createSealedCliqueBlockHeader } from '@ethereumjs/block';
import { createBlockchain } from '@ethereumjs/blockchain';
import { createCommonFromGethGenesis, parseGethGenesisState } from '@ethereumjs/common';
import { bytesToHex, hexToBytes } from '@ethereumjs/util';

const json = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const common = createCommonFromGethGenesis(json, { chain: 'example' });
const chain = await createBlockchain({ common, genesisState: parseGethGenesisState(json), validateConsensus: false });
const parent = chain.genesisBlock.header;
const period = BigInt(json.config.clique.period);
const data = {
  parentHash: parent.hash(),
  number: 1n,
  timestamp: parent.timestamp + period,
  gasLimit: parent.gasLimit,
  difficulty: 2n,
  stateRoot: parent.stateRoot,
  baseFeePerGas: parent.calcNextBaseFee(),
  extraData: new Uint8Array(97),
};
void createBlockHeader;
const h = createSealedCliqueBlockHeader(data, hexToBytes('0x' + process.argv[3]), { common, freeze: false });
console.log(bytesToHex(h.serialize()).slice(2));

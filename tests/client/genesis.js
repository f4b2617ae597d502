// Print the genesis hash and state root that @ethereumjs computes for a
// geth-format genesis.json: node genesis.js FILE -> {"hash":..,"stateRoot":..}
import { readFileSync } from 'node:fs';
import { createBlockchain } from '@ethereumjs/blockchain';
import { createCommonFromGethGenesis, parseGethGenesisState } from '@ethereumjs/common';
import { bytesToHex } from '@ethereumjs/util';

const json = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const common = createCommonFromGethGenesis(json, { chain: 'example' });
const genesisState = parseGethGenesisState(json);
const chain = await createBlockchain({ common, genesisState, validateConsensus: false });
const g = chain.genesisBlock;
console.log(JSON.stringify({ hash: bytesToHex(g.hash()), stateRoot: bytesToHex(g.header.stateRoot) }));

// Compiles contracts/TestUSDC.sol with solc-js (offline, pinned in package.json) into the artifact
// the tests deploy: contracts/TestUSDC.json. Run after changing the source:
//   node contracts/compile.mjs
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const solc = require('solc');
const here = new URL('./', import.meta.url);
const source = await readFile(new URL('TestUSDC.sol', here), 'utf8');

const input = {
  language: 'Solidity',
  sources: { 'TestUSDC.sol': { content: source } },
  settings: {
    evmVersion: 'cancun',
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
for (const e of output.errors ?? []) process.stderr.write(`${e.formattedMessage}\n`);
if (errors.length) process.exit(1);

const contract = output.contracts['TestUSDC.sol'].TestUSDC;
const artifact = {
  contractName: 'TestUSDC',
  sourceName: 'contracts/TestUSDC.sol',
  compiler: { name: 'solc', version: solc.version(), evmVersion: input.settings.evmVersion, optimizer: input.settings.optimizer },
  abi: contract.abi,
  bytecode: `0x${contract.evm.bytecode.object}`,
};
await writeFile(new URL('TestUSDC.json', here), `${JSON.stringify(artifact, null, 2)}\n`);
console.log(`wrote contracts/TestUSDC.json (${contract.evm.bytecode.object.length / 2} bytes of bytecode, solc ${solc.version()})`);

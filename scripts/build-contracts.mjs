// Compiles every contracts/*.sol with solc-js (the compiler as JavaScript, from npm: nothing is downloaded) into
// contracts/build/<Contract>.json: { contract, abi, bytecode, sourceHash, solc }. The ABI and bytecode are build
// outputs, never edited or committed; ledgers/evm/artifacts.ts runs this again whenever a source has changed.
// Usage: node scripts/build-contracts.mjs [--check]  (--check: exit 1 if an output is missing or stale)
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
export const contractsDir = join(root, 'contracts');
export const buildDir = join(contractsDir, 'build');

const sources = () =>
  readdirSync(contractsDir)
    .filter((f) => f.endsWith('.sol'))
    .sort()
    .map((f) => ({ file: f, text: readFileSync(join(contractsDir, f), 'utf8') }));

/** SHA-256 of every source file's name and text: an output built from other sources is stale. */
export function sourceHash() {
  const h = createHash('sha256');
  for (const s of sources()) h.update(`${s.file}\0${s.text}\0`);
  return h.digest('hex');
}

/** The names of the outputs that are missing or were built from other sources. */
export function staleOutputs() {
  const hash = sourceHash();
  const stale = [];
  for (const s of sources()) {
    for (const name of contractNames(s.text)) {
      const out = join(buildDir, `${name}.json`);
      if (!existsSync(out) || JSON.parse(readFileSync(out, 'utf8')).sourceHash !== hash) stale.push(name);
    }
  }
  return stale;
}

const contractNames = (text) => [...text.matchAll(/^\s*contract\s+([A-Za-z_][A-Za-z0-9_]*)/gm)].map((m) => m[1]);

/** Compiles all sources in one solc run and writes one JSON per contract. Throws with solc's errors. */
export function buildContracts() {
  const solc = createRequire(import.meta.url)('solc');
  const input = {
    language: 'Solidity',
    sources: Object.fromEntries(sources().map((s) => [s.file, { content: s.text }])),
    settings: {
      optimizer: { enabled: true, runs: 200 },
      evmVersion: 'cancun',
      outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
    },
  };
  const output = JSON.parse(solc.compile(JSON.stringify(input)));
  const errors = (output.errors ?? []).filter((e) => e.severity === 'error');
  if (errors.length > 0) throw new Error(`solc: ${errors.map((e) => e.formattedMessage).join('\n')}`);
  const hash = sourceHash();
  mkdirSync(buildDir, { recursive: true });
  const written = [];
  for (const [file, contracts] of Object.entries(output.contracts ?? {})) {
    for (const [name, c] of Object.entries(contracts)) {
      const artifact = {
        contract: name,
        source: `contracts/${file}`,
        solc: solc.version(),
        sourceHash: hash,
        abi: c.abi,
        bytecode: `0x${c.evm.bytecode.object}`,
      };
      writeFileSync(join(buildDir, `${name}.json`), `${JSON.stringify(artifact, null, 2)}\n`);
      written.push(name);
    }
  }
  return written;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  if (process.argv.includes('--check')) {
    const stale = staleOutputs();
    if (stale.length > 0) {
      console.error(`contracts: stale or missing: ${stale.join(', ')} (run node scripts/build-contracts.mjs)`);
      process.exit(1);
    }
  } else {
    const t = performance.now();
    const written = buildContracts();
    console.log(
      `contracts: ${written.join(', ')} written to contracts/build (${Math.round(performance.now() - t)} ms)`,
    );
  }
}

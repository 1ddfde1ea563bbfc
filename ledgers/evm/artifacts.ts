// The compiled contracts (contracts/build/<Contract>.json, written by scripts/build-contracts.mjs from
// contracts/*.sol with solc-js). Built on first use, and again whenever a source changed since the last build.
// Node and Deno (reads files); a browser or worker is given the ABI and address instead.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface ContractArtifact {
  contract: string;
  source: string;
  solc: string;
  sourceHash: string;
  abi: readonly Record<string, unknown>[];
  bytecode: `0x${string}`;
}

interface BuildScript {
  staleOutputs(): string[];
  buildContracts(): string[];
}

let checked: Promise<void> | undefined;

/** Builds the contracts once per process if any output is missing or stale. */
function ensureBuilt(): Promise<void> {
  checked ??= (async () => {
    const script = new URL('../../scripts/build-contracts.mjs', import.meta.url).href;
    const build = (await import(script)) as BuildScript;
    if (build.staleOutputs().length > 0) build.buildContracts();
  })();
  return checked;
}

export async function loadArtifact(name: string): Promise<ContractArtifact> {
  await ensureBuilt();
  const path = join(root, 'contracts', 'build', `${name}.json`);
  if (!existsSync(path)) throw new Error(`no contract ${name}: contracts/build/${name}.json was not built`);
  return JSON.parse(readFileSync(path, 'utf8')) as ContractArtifact;
}

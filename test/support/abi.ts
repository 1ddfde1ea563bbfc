// An ABI written out for viem's types (ledgers/evm/satp-asset.ts, satp-notary.ts) against the one solc built
// (contracts/build): the signatures the written one has that the compiled one lacks, so a test can demand none.
import { loadArtifact } from '../../ledgers/evm/artifacts.ts';

type Param = { type: string; indexed?: boolean; components?: readonly Param[] };
type Item = { type: string; name?: string; inputs?: readonly Param[]; outputs?: readonly Param[] };

const param = (p: Param): string =>
  (p.type.startsWith('tuple') ? `(${(p.components ?? []).map(param).join(',')})${p.type.slice(5)}` : p.type) +
  (p.indexed ? ' indexed' : '');
const signature = (i: Item) =>
  `${i.type} ${i.name}(${(i.inputs ?? []).map(param).join(',')})` +
  (i.outputs?.length ? ` returns (${i.outputs.map(param).join(',')})` : '');

/** The written ABI's item signatures, and those of them the compiled contract `name` does not have. */
export async function abiDrift(name: string, written: readonly unknown[]): Promise<{ items: number; drift: string[] }> {
  const built = new Set(((await loadArtifact(name)).abi as unknown as Item[]).map(signature));
  const spoken = (written as Item[]).map(signature);
  return { items: spoken.length, drift: spoken.filter((s) => !built.has(s)) };
}

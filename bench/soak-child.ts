// The process run.ts spawns for the soak (`node --expose-gc --import tsx bench/soak-child.ts <transfers>`): a fresh
// heap, measured with global.gc. Progress goes to stderr as it comes; the rows are one JSON line on stdout.
import { useNativeSha256 } from '../storage/sha256-node.ts';
import { useNativeBase64Url } from '../storage/base64url-node.ts';
import { soak } from './soak.ts';

useNativeSha256();
useNativeBase64Url();
const transfers = Number(process.argv[2] ?? 200_000);
try {
  process.stdout.write(`${JSON.stringify(await soak(transfers, (line) => process.stderr.write(`${line}\n`)))}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
}

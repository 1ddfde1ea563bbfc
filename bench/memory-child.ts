// The process run.ts spawns for part 5 (`node --expose-gc --import tsx bench/memory-child.ts <sessions>`):
// a fresh heap, measured with global.gc; prints the rows as one JSON line on stdout.
import { memory } from './memory.ts';

const sessions = Number(process.argv[2] ?? 10_000);
try {
  process.stdout.write(`${JSON.stringify(await memory(sessions))}\n`);
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
}

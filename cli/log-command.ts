// The satp-log command (cli/log.ts runs it): a gateway's logs in recovery-04 §4 Figure 5's form and back
// (kernel/draft-form.ts; docs/log-format.md). `export` reads a LevelDB log store (the --db of satp-gateway, stopped:
// LevelDB admits one process); `import` turns a file of draft-form entries back into entries as this project
// stores them, verifying each chain when given the gateways' keys.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { verifyChain } from '../kernel/chain.ts';
import { keyTable, type PublicJwk } from '../kernel/crypto/types.ts';
import { defaultVerifier } from '../kernel/crypto/verifier.ts';
import { type DraftFormEntry, fromDraftForm, toDraftForm } from '../kernel/draft-form.ts';
import { type LogEntry, logIdOf, parseLogId } from '../kernel/entry.ts';
import { parseStrictJson } from '../kernel/strict-json.ts';
import { checkEntryContent } from '../kernel/seal.ts';
import * as z from '../kernel/zod.ts';
import { gatewayTableSchema } from '../log-api/auth.ts';
import { LevelDriver } from '../storage/level.ts';

export const USAGE = `usage: satp-log export --store <leveldb-dir> [--log <sessionId>/<author>]... [--out <file>]
       satp-log import --in <file> [--keys <file>] [--out <file>]
  export  writes the logs of a gateway's log store (the --db of satp-gateway; stopped) in recovery-04 §4
          Figure 5's form, {"<sessionId>/<author>": [entry, …], …}: every log, or those --log names
  import  reads such a file (or one log as a JSON array), in Figure 5's form or Figure 6's camelCase form, and
          writes the entries as this project stores them, {"<sessionId>/<author>": [entry, …], …}
  --keys  {"gateways": {"<id>": {"publicJwk": …}}, …} (satp-audit's --keys file): also verify each chain
          (hashes, links, signatures; a chain a backup took over does not verify here: no successor authority)
  --out   write there instead of stdout
exits 0 on success, 1 when an entry cannot be read or rebuilt or a chain does not verify, 2 on a usage error`;

const keysSchema = z.looseObject({ gateways: gatewayTableSchema });

/** A failure of the input itself (exit 1), as opposed to a usage error (exit 2). */
class LogInputError extends Error {}

/** The command, argv in, an exit code out (stdout/stderr written through `out`/`err`). */
export async function logCommand(
  argv: readonly string[],
  out: (text: string) => void = console.log,
  err: (line: string) => void = console.error,
): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h') {
    out(USAGE);
    return 0;
  }
  if (sub !== 'export' && sub !== 'import') {
    err(`${sub === undefined ? 'a subcommand is required' : `unknown subcommand ${JSON.stringify(sub)}`}\n${USAGE}`);
    return 2;
  }
  let values: { store?: string; log?: string[]; out?: string; in?: string; keys?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: rest,
      strict: true,
      options: {
        store: { type: 'string' },
        log: { type: 'string', multiple: true },
        in: { type: 'string' },
        keys: { type: 'string' },
        out: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (e) {
    err(`${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    out(USAGE);
    return 0;
  }
  const usage = (why: string) => {
    err(`${why}\n${USAGE}`);
    return 2;
  };
  const write = (text: string) => (values.out ? writeFileSync(values.out, `${text}\n`) : out(text));
  try {
    if (sub === 'export') {
      if (!values.store) return usage('export: --store is required');
      if (values.in || values.keys) return usage('export takes --store, --log and --out');
      for (const id of values.log ?? [])
        if (!parseLogId(id)) return usage(`--log ${JSON.stringify(id)}: expected <sessionId>/<author>`);
      const logs = await exportStore(values.store, values.log);
      write(JSON.stringify(logs, null, 2));
      return 0;
    }
    if (!values.in) return usage('import: --in is required');
    if (values.store || values.log) return usage('import takes --in, --keys and --out');
    let keys: Record<string, PublicJwk> | undefined;
    if (values.keys) {
      const parsed = readJson(values.keys);
      const k = keysSchema.safeParse(parsed);
      if (!k.success)
        return usage(`${values.keys}: ${k.error.issues[0]?.path.join('.')}: ${k.error.issues[0]?.message}`);
      keys = Object.fromEntries(
        Object.entries(k.data.gateways).flatMap(([id, c]) => (c.publicJwk ? [[id, c.publicJwk as PublicJwk]] : [])),
      );
    }
    const logs = await importLogs(readJson(values.in), keys);
    write(entriesText(logs));
    return 0;
  } catch (e) {
    if (e instanceof LogInputError) {
      err(e.message);
      return 1;
    }
    if (e instanceof UsageError) return usage(e.message);
    throw e;
  }
}

class UsageError extends Error {}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${file}: ${(e as Error).message}`);
  }
  const parsed = parseStrictJson(text, { maxDepth: 40, maxString: 1 << 20, maxItems: 1 << 20, maxNodes: 1 << 24 });
  if (!parsed.ok) throw new LogInputError(`${file}: not acceptable JSON: ${parsed.problem} at offset ${parsed.at}`);
  return parsed.value;
}

/** Every log of the store (only `only` when given), each entry in Figure 5's form. */
export async function exportStore(dir: string, only?: readonly string[]): Promise<Record<string, DraftFormEntry[]>> {
  let driver: LevelDriver;
  try {
    driver = await LevelDriver.open(dir, { createIfMissing: false });
  } catch (e) {
    throw new UsageError(`--store ${dir}: cannot open it (${(e as Error).message})`);
  }
  try {
    const out: Record<string, DraftFormEntry[]> = {};
    const logs = (await driver.logs()).filter((id) => parseLogId(id) && (!only || only.includes(id))).sort();
    for (const id of only ?? []) if (!logs.includes(id)) throw new UsageError(`--log ${id}: the store has no such log`);
    for (const logId of logs) {
      const head = await driver.head(logId);
      const texts = head ? await driver.read(logId, 1, head.seq) : [];
      out[logId] = texts.map((text, i) => {
        const parsed = parseStrictJson(text);
        const check = checkEntryContent(parsed.ok ? parsed.value : undefined);
        if (!check.ok) throw new LogInputError(`log ${logId} seq ${i + 1}: ${check.reason}: ${check.detail}`);
        return toDraftForm(check.entry);
      });
    }
    return out;
  } finally {
    await driver.close();
  }
}

/**
 * The entries a file of draft-form entries stands for: {"<logId>": [draft, …]} or one log as an array. Each entry
 * must belong to the log it is listed under; with `keys`, each chain must verify from its first entry.
 */
export async function importLogs(
  value: unknown,
  keys?: Record<string, PublicJwk>,
): Promise<Record<string, LogEntry[]>> {
  const groups: [string | undefined, unknown][] = Array.isArray(value)
    ? [[undefined, value]]
    : value !== null && typeof value === 'object'
      ? Object.entries(value)
      : [];
  if (!groups.length) throw new LogInputError('the input is {"<sessionId>/<author>": [entry, …], …} or [entry, …]');
  const out: Record<string, LogEntry[]> = {};
  const verifier = keys ? defaultVerifier() : undefined;
  for (const [named, list] of groups) {
    if (!Array.isArray(list)) throw new LogInputError(`log ${named}: expected an array of entries`);
    const entries = list.map((d, i) => {
      const r = fromDraftForm(d);
      if (!r.ok) throw new LogInputError(`log ${named ?? '(array)'} entry ${i}: ${r.error}`);
      return r.entry;
    });
    const first = entries[0];
    const logId = named ?? (first ? logIdOf(first.sessionId, first.author) : undefined);
    if (!logId || !parseLogId(logId)) throw new LogInputError(`log ${named}: not a <sessionId>/<author> log id`);
    const stray = entries.findIndex((e) => logIdOf(e.sessionId, e.author) !== logId);
    if (stray >= 0) throw new LogInputError(`log ${logId} entry ${stray}: belongs to another log`);
    if (keys && verifier) {
      const v = await verifyChain(entries, { keys: keyTable(keys), verifier });
      if (!v.ok) throw new LogInputError(`log ${logId} entry ${v.index}: does not verify: ${v.reason}: ${v.detail}`);
    }
    out[logId] = entries;
  }
  return out;
}

/** The logs as JSON with one entry per line, each exactly the text a store keeps for it. */
function entriesText(logs: Record<string, LogEntry[]>): string {
  const parts = Object.entries(logs).map(([id, entries]) => {
    const lines = entries.map((e) => `    ${JSON.stringify(e)}`).join(',\n');
    return `  ${JSON.stringify(id)}: [${entries.length ? `\n${lines}\n  ` : ''}]`;
  });
  return parts.length ? `{\n${parts.join(',\n')}\n}` : '{}';
}

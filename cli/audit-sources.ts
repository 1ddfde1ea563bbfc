// Where satp-audit reads a gateway's chains from (docs/audit.md): a LevelDB directory (the --db of satp-gateway),
// a PostgreSQL log (postgres://…, the --pg of a primary-backup deployment; `?schema=` names the schema), a Log
// Storage API (http(s)://…, authenticated with the holder's token from the keys file), or a file that
// `satp-audit --export` wrote. Each source is read and closed in turn; nothing is written to any of them.
import { readFileSync, statSync } from 'node:fs';
import type { HeldChain } from '../audit/session.ts';
import { logIdOf, parseLogId } from '../kernel/entry.ts';
import { parseStrictJson } from '../kernel/strict-json.ts';
import * as z from '../kernel/zod.ts';
import { RemoteDriver } from '../log-api/client.ts';
import { LevelDriver } from '../storage/level.ts';
import { PostgresDriver } from '../storage/postgres.ts';
import type { LogStoreDriver } from '../storage/driver.ts';

/** The format tag of an export file; a file without it is refused. */
export const EXPORT_FORMAT = 'satp-recovery/chains@1';

/** A chain as read, with its session: what an export file holds, one per chain. */
export interface ReadChain extends HeldChain {
  sessionId: string;
}

/** A source that cannot be opened or read: the caller's input is wrong. */
export class SourceError extends Error {}

export interface SourceContext {
  /** Sessions asked for (a Log Storage API lists no logs: there they are required). */
  sessions?: readonly string[];
  /** Every gateway id the keys know: with sessions, the log ids a Log Storage API is asked for. */
  gateways: readonly string[];
  /** Bearer tokens by gateway id, for a Log Storage API. */
  tokens: Readonly<Record<string, string>>;
}

const exportSchema = z.strictObject({
  format: z.literal(EXPORT_FORMAT),
  chains: z.array(
    z.strictObject({
      holder: z.string(),
      author: z.string(),
      sessionId: z.string(),
      entries: z.array(z.unknown()),
    }),
  ),
});

/** Every chain `holder`'s store at `source` holds (of `sessions` only, when given). */
export async function readSource(holder: string, source: string, ctx: SourceContext): Promise<ReadChain[]> {
  const where = `--store ${holder}=${source}`;
  if (/^https?:\/\//.test(source)) return readRemote(holder, source, ctx, where);
  if (/^postgres(ql)?:\/\//.test(source)) {
    const url = new URL(source);
    const schema = url.searchParams.get('schema') ?? 'satp';
    url.searchParams.delete('schema');
    let driver: PostgresDriver;
    try {
      driver = await PostgresDriver.open(url.toString(), { schema });
    } catch (e) {
      throw new SourceError(`${where}: cannot open it (${(e as Error).message})`);
    }
    return readDriver(holder, driver, await driver.logs(), ctx);
  }
  let isFile = false;
  try {
    isFile = statSync(source).isFile();
  } catch {
    // not there: LevelDB says so below
  }
  if (isFile) return readExport(holder, source, ctx, where);
  let driver: LevelDriver;
  try {
    driver = await LevelDriver.open(source, { createIfMissing: false });
  } catch (e) {
    throw new SourceError(`${where}: cannot open it (${(e as Error).message})`);
  }
  return readDriver(holder, driver, await driver.logs(), ctx);
}

async function readDriver(
  holder: string,
  driver: LogStoreDriver,
  logIds: readonly string[],
  ctx: SourceContext,
): Promise<ReadChain[]> {
  const out: ReadChain[] = [];
  try {
    for (const logId of logIds) {
      const id = parseLogId(logId);
      if (!id || (ctx.sessions && !ctx.sessions.includes(id.sessionId))) continue;
      const head = await driver.head(logId);
      if (!head) continue;
      const texts = await driver.read(logId, 1, head.seq);
      const entries = texts.map((t) => {
        const p = parseStrictJson(t);
        return p.ok ? p.value : t;
      });
      out.push({ holder, author: id.author, sessionId: id.sessionId, entries });
    }
  } finally {
    await driver.close().catch(() => undefined);
  }
  return out;
}

async function readRemote(holder: string, url: string, ctx: SourceContext, where: string): Promise<ReadChain[]> {
  if (!ctx.sessions?.length)
    throw new SourceError(`${where}: a Log Storage API lists no logs; name the sessions (--session)`);
  const token = ctx.tokens[holder];
  if (!token) throw new SourceError(`${where}: the keys file has no token for ${holder}`);
  let driver: RemoteDriver;
  try {
    driver = await RemoteDriver.connect({ url, gatewayId: holder, token });
  } catch (e) {
    throw new SourceError(`${where}: cannot reach it (${(e as Error).message})`);
  }
  const logIds = ctx.sessions.flatMap((s) => ctx.gateways.map((g) => logIdOf(s, g)));
  return readDriver(holder, driver, logIds, ctx);
}

function readExport(holder: string, file: string, ctx: SourceContext, where: string): ReadChain[] {
  const parsed = parseStrictJson(readFileSync(file, 'utf8'));
  if (!parsed.ok) throw new SourceError(`${where}: not JSON: ${parsed.problem}`);
  const data = exportSchema.safeParse(parsed.value);
  if (!data.success)
    throw new SourceError(
      `${where}: not a satp-audit export (${data.error.issues[0]?.path.join('.')}: ${data.error.issues[0]?.message})`,
    );
  return data.data.chains.filter((c) => c.holder === holder && (!ctx.sessions || ctx.sessions.includes(c.sessionId)));
}

/** The export file's text for these chains: what `--store <holder>=<file>` reads back. */
export function exportText(chains: readonly ReadChain[]): string {
  return `${JSON.stringify({ format: EXPORT_FORMAT, chains }, null, 1)}\n`;
}

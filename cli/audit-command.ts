// The satp-audit command (cli/audit.ts runs it): audits sessions offline from the LevelDB log stores of the two
// gateways (stopped: LevelDB admits one process) and the public keys of the gateways and ledgers. What it does
// besides parsing flags is exported for other Node callers (the demo, examples/demo/audit.ts): auditStores, and
// the lines it prints.
import { parseArgs } from 'node:util';
import { readFileSync } from 'node:fs';
import { auditSession, type AuditKeys, type HeldChain, type SessionAudit } from '../audit/session.ts';
import { defaultVerifier } from '../kernel/crypto/verifier.ts';
import { ID_PATTERN, parseLogId } from '../kernel/entry.ts';
import { parseStrictJson } from '../kernel/strict-json.ts';
import * as z from '../kernel/zod.ts';
import { gatewayTableSchema } from '../log-api/auth.ts';
import { LevelDriver } from '../storage/level.ts';
import type { PublicJwk } from '../kernel/crypto/types.ts';

export const USAGE = `usage: satp-audit --store <gateway-id>=<leveldb-dir> --store <gateway-id>=<leveldb-dir>
                  --keys <file> [--session <id>]... [--json]
  --store    a gateway's log store (the --db of satp-gateway), named by the gateway whose store it is;
             give both gateways' stores to check one against the other
  --keys     {"gateways": {"<id>": {"publicJwk": …}}, "ledgers": {"<ledger-id>": {"publicJwk": …}}}
             (a satp-log-server --gateways file has the gateways' part)
  --session  audit only these sessions (default: every session in the stores)
  --json     print the audits as JSON instead of text
checks each session's chains (hashes, links, signatures), that each copy of a peer's chain is a prefix of it,
that every message received was logged as sent, that no message was acted on twice, that every ledger receipt
is signed by its ledger and follows the exec of its op, and that both chains end on the same side.
exits 0 when every check passes, 1 when one fails, 2 on a usage error`;

const keysSchema = z.strictObject({ gateways: gatewayTableSchema, ledgers: gatewayTableSchema });

/** The audit command, argv in, an exit code out (stdout/stderr written through `out`/`err`). */
export async function audit(
  argv: readonly string[],
  out: (line: string) => void = console.log,
  err: (line: string) => void = console.error,
): Promise<number> {
  let values: { store?: string[]; keys?: string; session?: string[]; json?: boolean; help?: boolean };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        store: { type: 'string', multiple: true },
        keys: { type: 'string' },
        session: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
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
  const stores: AuditedStore[] = [];
  for (const s of values.store ?? []) {
    const at = s.indexOf('=');
    const holder = s.slice(0, at);
    if (at < 1 || !ID_PATTERN.test(holder) || at === s.length - 1)
      return usage(`--store ${JSON.stringify(s)}: expected <gateway-id>=<dir>`);
    stores.push({ holder, dir: s.slice(at + 1) });
  }
  if (!stores.length) return usage('--store is required');
  if (!values.keys) return usage('--keys is required');
  let keys: AuditKeys;
  try {
    const parsed = parseStrictJson(readFileSync(values.keys, 'utf8'));
    if (!parsed.ok) return usage(`${values.keys}: not JSON: ${parsed.problem}`);
    const k = keysSchema.safeParse(parsed.value);
    if (!k.success) return usage(`${values.keys}: ${k.error.issues[0]?.path.join('.')}: ${k.error.issues[0]?.message}`);
    const jwks = (t: Record<string, { publicJwk?: unknown }>) =>
      Object.fromEntries(
        Object.entries(t).flatMap(([id, c]) => (c.publicJwk ? [[id, c.publicJwk as PublicJwk] as const] : [])),
      );
    keys = { gateways: jwks(k.data.gateways), ledgers: jwks(k.data.ledgers) };
  } catch (e) {
    return usage(`${values.keys}: ${(e as Error).message}`);
  }

  let audits: SessionAudit[];
  try {
    audits = await auditStores(stores, keys, values.session);
  } catch (e) {
    if (e instanceof AuditInputError) return usage(e.message);
    throw e;
  }
  if (values.json) out(JSON.stringify(audits, null, 2));
  else
    for (const a of audits) {
      out(sessionLine(a));
      for (const f of a.findings) if (!a.ok || !f.ok) out(`  ${f.ok ? 'ok  ' : 'FAIL'} ${f.check}: ${f.detail}`);
    }
  if (!values.json) out(totalLine(audits));
  return audits.some((a) => !a.ok) ? 1 : 0;
}

/** A store that cannot be opened, or a session asked for that no store holds: the caller's input is wrong. */
export class AuditInputError extends Error {}

/** A gateway's LevelDB log store, named by the gateway whose store it is. */
export interface AuditedStore {
  holder: string;
  dir: string;
}

/**
 * Every chain of every store, grouped by session (only `sessions` when given). Each store is opened, read and
 * closed in turn: LevelDB admits one process, so the gateways must have stopped. Throws AuditInputError for a
 * store that cannot be opened or a session no store holds.
 */
export async function readStores(
  stores: readonly AuditedStore[],
  sessions?: readonly string[],
): Promise<Map<string, HeldChain[]>> {
  const bySession = new Map<string, HeldChain[]>();
  for (const { holder, dir } of stores) {
    let driver: LevelDriver;
    try {
      driver = await LevelDriver.open(dir, { createIfMissing: false });
    } catch (e) {
      throw new AuditInputError(`--store ${holder}=${dir}: cannot open it (${(e as Error).message})`);
    }
    try {
      for (const logId of await driver.logs()) {
        const id = parseLogId(logId);
        if (!id || (sessions && !sessions.includes(id.sessionId))) continue;
        const head = await driver.head(logId);
        const texts = head ? await driver.read(logId, 1, head.seq) : [];
        const entries = texts.map((t) => {
          const p = parseStrictJson(t);
          return p.ok ? p.value : t;
        });
        const list = bySession.get(id.sessionId) ?? [];
        list.push({ holder, author: id.author, entries });
        bySession.set(id.sessionId, list);
      }
    } finally {
      await driver.close();
    }
  }
  for (const sid of sessions ?? [])
    if (!bySession.has(sid)) throw new AuditInputError(`--session ${sid}: no store holds a chain of it`);
  return bySession;
}

/** Audits every session the stores hold (only `sessions` when given), in session id order: what satp-audit does. */
export async function auditStores(
  stores: readonly AuditedStore[],
  keys: AuditKeys,
  sessions?: readonly string[],
): Promise<SessionAudit[]> {
  const bySession = await readStores(stores, sessions);
  const verifier = defaultVerifier();
  const audits: SessionAudit[] = [];
  for (const [sid, chains] of [...bySession].sort(([a], [b]) => a.localeCompare(b)))
    audits.push(await auditSession(sid, chains, keys, verifier));
  return audits;
}

/** `OK   <session>: <gateway> <outcome>, ...` or `FAIL ...`: one session's audit in one line. */
export function sessionLine(a: SessionAudit): string {
  const ends = a.gateways.map((g) => `${g} ${a.outcomes[g]}`).join(', ');
  return `${a.ok ? 'OK  ' : 'FAIL'} ${a.sessionId}: ${ends}`;
}

/** The total: how many sessions were audited, how many with a failed check. */
export function totalLine(audits: readonly SessionAudit[]): string {
  return `${audits.length} session(s) audited, ${audits.filter((a) => !a.ok).length} with a failed check`;
}

/**
 * A short verdict: one line per session (its failed checks named, each with its first failure), then the total
 * with `passed` or `FAILED`; passed when there was a session to audit and every check of every one passed. The
 * demo prints it (examples/demo/audit.ts).
 */
export function verdict(audits: readonly SessionAudit[]): { passed: boolean; lines: string[] } {
  const lines: string[] = [];
  for (const a of audits) {
    const failed = a.findings.filter((f) => !f.ok);
    const checks = [...new Set(failed.map((f) => f.check))];
    const why = checks.map((c) => `${c} (${failed.find((f) => f.check === c)!.detail})`).join('; ');
    lines.push(a.ok ? sessionLine(a) : `${sessionLine(a)}; failed: ${why}`);
  }
  const passed = audits.length > 0 && audits.every((a) => a.ok);
  lines.push(`audit verdict: ${passed ? 'passed' : 'FAILED'}, ${totalLine(audits)}`);
  return { passed, lines };
}

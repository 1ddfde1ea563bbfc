// The satp-audit command (cli/audit.ts runs it): audits sessions offline from the LevelDB log stores of the two
// gateways (stopped: LevelDB admits one process) and the public keys of the gateways and ledgers. What it does
// besides parsing flags is exported for other Node callers (the demo, examples/demo/audit.ts): auditStores, and
// the lines it prints.
import { parseArgs } from 'node:util';
import { readFileSync, writeFileSync } from 'node:fs';
import { auditSession, type AuditKeys, type HeldChain, type SessionAudit } from '../audit/session.ts';
import { defaultVerifier } from '../kernel/crypto/verifier.ts';
import { ID_PATTERN } from '../kernel/entry.ts';
import { parseStrictJson } from '../kernel/strict-json.ts';
import * as z from '../kernel/zod.ts';
import { gatewayTableSchema } from '../log-api/auth.ts';
import { exportText, type ReadChain, readSource, SourceError } from './audit-sources.ts';
import type { PublicJwk } from '../kernel/crypto/types.ts';

export const USAGE = `usage: satp-audit --store <gateway-id>=<source> --store <gateway-id>=<source>
                  --keys <file> [--session <id>]... [--json] [--export <file>]
  --store    a gateway's log store, named by the gateway whose store it is; give both gateways' stores to check
             one against the other. <source>: a LevelDB directory (the --db of satp-gateway), a postgres://
             URL (its --pg; ?schema=<name>, default satp), a Log Storage API http(s):// URL (needs --session
             and the holder's token in --keys), or a file --export wrote
  --keys     {"gateways": {"<id>": {"publicJwk": …, "token"?: …}}, "ledgers": {"<ledger-id>": {"publicJwk": …}}}
             (a satp-log-server --gateways file has the gateways' part)
  --session  audit only these sessions (default: every session in the stores)
  --json     print the audits as JSON instead of text
  --export   also write the chains read to this file (readable again as a <source>)
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
  let values: {
    store?: string[];
    keys?: string;
    session?: string[];
    json?: boolean;
    help?: boolean;
    export?: string;
  };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        store: { type: 'string', multiple: true },
        keys: { type: 'string' },
        session: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        export: { type: 'string' },
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
      return usage(`--store ${JSON.stringify(s)}: expected <gateway-id>=<source>`);
    stores.push({ holder, source: s.slice(at + 1) });
  }
  if (!stores.length) return usage('--store is required');
  if (!values.keys) return usage('--keys is required');
  let keys: AuditKeys;
  const tokens: Record<string, string> = {};
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
    for (const [id, c] of Object.entries(k.data.gateways)) if (c.token) tokens[id] = c.token;
  } catch (e) {
    return usage(`${values.keys}: ${(e as Error).message}`);
  }

  let audits: SessionAudit[];
  try {
    const bySession = await readStores(stores, values.session, { gateways: Object.keys(keys.gateways), tokens });
    if (values.export) writeFileSync(values.export, exportText([...bySession.values()].flat()));
    audits = await auditChains(bySession, keys);
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

/**
 * A gateway's log store, named by the gateway whose store it is: a LevelDB directory, a postgres:// URL
 * (`?schema=`), a Log Storage API's http(s):// URL, or a file `--export` wrote (cli/audit-sources.ts).
 */
export interface AuditedStore {
  holder: string;
  source: string;
}

/**
 * Every chain of every store, grouped by session (only `sessions` when given). Each store is opened, read and
 * closed in turn: LevelDB admits one process, so the gateways must have stopped. Throws AuditInputError for a
 * store that cannot be opened or a session no store holds. `gateways` and `tokens` serve a Log Storage API.
 */
export async function readStores(
  stores: readonly AuditedStore[],
  sessions?: readonly string[],
  access: { gateways?: readonly string[]; tokens?: Readonly<Record<string, string>> } = {},
): Promise<Map<string, ReadChain[]>> {
  const bySession = new Map<string, ReadChain[]>();
  for (const { holder, source } of stores) {
    let chains: ReadChain[];
    try {
      chains = await readSource(holder, source, {
        ...(sessions ? { sessions } : {}),
        gateways: access.gateways ?? [],
        tokens: access.tokens ?? {},
      });
    } catch (e) {
      if (e instanceof SourceError) throw new AuditInputError(e.message);
      throw e;
    }
    for (const c of chains) {
      const list = bySession.get(c.sessionId) ?? [];
      list.push(c);
      bySession.set(c.sessionId, list);
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
  tokens?: Readonly<Record<string, string>>,
): Promise<SessionAudit[]> {
  const bySession = await readStores(stores, sessions, {
    gateways: Object.keys(keys.gateways),
    ...(tokens ? { tokens } : {}),
  });
  return auditChains(bySession, keys);
}

/** Audits chains already read (readStores), in session id order. */
export async function auditChains(bySession: Map<string, readonly HeldChain[]>, keys: AuditKeys) {
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

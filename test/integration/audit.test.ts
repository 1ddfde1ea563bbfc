// The offline auditor (audit/session.ts, and the satp-audit command over LevelDB stores): real runs between two
// gateways pass it, crash and recovery included; a record that was tampered with, or that tells two stories,
// fails it with the check that caught it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { auditSession, type AuditKeys, type HeldChain } from '../../audit/session.ts';
import { audit, auditStores, verdict } from '../../cli/audit-command.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { EMPTY_HEAD, headOf, type LogEntry, logIdOf, parseLogId } from '../../kernel/entry.ts';
import { sealEntry } from '../../kernel/seal.ts';
import { hashJson } from '../../kernel/hash.ts';
import type { Json } from '../../kernel/json.ts';
import type { MemoryDriver } from '../../storage/memory.ts';
import { LevelDriver } from '../../storage/level.ts';
import { LogStore } from '../../storage/log-store.ts';
import { MemoryDriver as Memory } from '../../storage/memory.ts';
import { PostgresDriver } from '../../storage/postgres.ts';
import { createLogStorageApp } from '../../log-api/app.ts';
import { serveOnNode } from '../../http/node-serve.ts';
import { keyTable } from '../../kernel/crypto/types.ts';
import { startPostgres } from '../support/postgres-cluster.ts';
import {
  crashSide,
  DESTINATION,
  LEDGER_A,
  LEDGER_B,
  makePair,
  ORIGIN,
  outcomes,
  type Pair,
  typeOf,
  until,
} from '../support/satp-pair.ts';
import { outcomeOf } from '../../kernel/satp/state.ts';

const KEYS: AuditKeys = {
  gateways: { [ORIGIN.id]: ORIGIN.jwk, [DESTINATION.id]: DESTINATION.jwk },
  ledgers: { 'ledger-a': LEDGER_A.jwk, 'ledger-b': LEDGER_B.jwk },
};
const verifier = defaultVerifier();
const dir = mkdtempSync(join(tmpdir(), 'satp-audit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Every chain both stores of the pair hold, as entries: their own and their copies. */
function heldChains(pair: Pair): Map<string, HeldChain[]> {
  const bySession = new Map<string, HeldChain[]>();
  for (const side of [pair.origin, pair.destination]) {
    for (const [logId, texts] of (side.store.driver as MemoryDriver).logs) {
      const { sessionId, author } = parseLogId(logId)!;
      const list = bySession.get(sessionId) ?? [];
      list.push({ holder: side.config.id, author, entries: texts.map((t) => JSON.parse(t) as LogEntry) });
      bySession.set(sessionId, list);
    }
  }
  return bySession;
}

/** A run with a commit, a rollback, and a crash of the origin in the middle of a third transfer. */
async function run(): Promise<Pair> {
  const pair = await makePair({ assets: ['asset-1', 'asset-2', 'asset-3'] });
  const ended = (sid: string) => () =>
    !!outcomeOf(pair.origin.gw.session(sid)) && !!outcomeOf(pair.destination.gw.session(sid));
  await pair.origin.gw.startTransfer(pair.request('s-commit', { assetId: 'asset-1' }));
  await until(pair, ended('s-commit'), 30, 's-commit ends');
  expect(await outcomes(pair, 's-commit')).toEqual(['committed', 'committed']);
  pair.drop = (_f, _t, env) => typeOf(env) === 'commit-prepare-msg';
  await pair.origin.gw.startTransfer(pair.request('s-rollback', { assetId: 'asset-2', lockSeconds: 5 }));
  await until(pair, ended('s-rollback'), 60, 's-rollback ends');
  expect(await outcomes(pair, 's-rollback')).toEqual(['rolled-back', 'rolled-back']);
  pair.drop = (_f, _t, env) => typeOf(env) === 'commit-ready-msg';
  await pair.origin.gw.startTransfer(pair.request('s-crash', { assetId: 'asset-3' }));
  await until(pair, () => pair.destination.gw.session('s-crash')?.promised === true, 20, 'promised');
  await crashSide(pair, 'origin').restart();
  pair.drop = () => false;
  await until(pair, ended('s-crash'), 60, 's-crash ends');
  expect(await outcomes(pair, 's-crash')).toEqual(['committed', 'committed']);
  return pair;
}

/** The chain with entry `index` changed by `change`, every entry from there on sealed again by `who`. */
async function resealed(
  entries: readonly LogEntry[],
  index: number,
  change: (e: LogEntry) => LogEntry,
  who: typeof ORIGIN,
): Promise<LogEntry[]> {
  const out = entries.slice(0, index);
  for (let i = index; i < entries.length; i++) {
    const { entryHash: _h, messageSignature: _s, ...body } = i === index ? change(entries[i]!) : entries[i]!;
    const prev = out.length ? headOf(out.at(-1)) : EMPTY_HEAD;
    out.push(
      await sealEntry(
        { ...body, lastEntryHash: prev.hash, payloadHash: hashJson(body.payload as Json) } as never,
        who.signer,
      ),
    );
  }
  return out;
}

/**
 * Both gateways' stores of the pair written to LevelDB folders under `name`, through the driver as a gateway would
 * have; `change` may rewrite an entry's text on its way (a store tampered with after the fact).
 */
async function levelStores(
  pair: Pair,
  name: string,
  change: (holder: string, logId: string, seq: number, text: string) => string = (_h, _l, _s, t) => t,
): Promise<Record<string, string>> {
  const dirs: Record<string, string> = {};
  for (const side of [pair.origin, pair.destination]) {
    const d = join(dir, name, side.config.id);
    const level = await LevelDriver.open(d);
    for (const [logId, stored] of (side.store.driver as MemoryDriver).logs) {
      const texts = stored.map((t, i) => change(side.config.id, logId, i + 1, t));
      const last = JSON.parse(stored.at(-1)!) as LogEntry;
      const open = (last.payload as { kind?: string }).kind !== 'end';
      await level.append(logId, EMPTY_HEAD, texts, { ...headOf(last), open });
    }
    await level.close();
    dirs[side.config.id] = d;
  }
  return dirs;
}

const failed = (a: Awaited<ReturnType<typeof auditSession>>) => a.findings.filter((f) => !f.ok).map((f) => f.check);

describe('the offline auditor', () => {
  let pair: Pair;
  let chains: Map<string, HeldChain[]>;

  /** s-commit audited with `who`'s own chain changed at the entry `pick` finds and sealed again from there by `who`. */
  async function auditRewritten(
    who: typeof ORIGIN,
    pick: (e: LogEntry) => boolean,
    change: (e: LogEntry) => LogEntry,
  ): Promise<Awaited<ReturnType<typeof auditSession>>> {
    const held = chains.get('s-commit')!;
    const own = held.find((c) => c.holder === who.id && c.author === who.id)!;
    const entries = own.entries as LogEntry[];
    const rewritten = await resealed(entries, entries.findIndex(pick), change, who);
    return auditSession(
      's-commit',
      held.map((c) => (c === own ? { ...c, entries: rewritten } : c)),
      KEYS,
      verifier,
    );
  }

  it('passes every session of a real run: commit, rollback, and a crash with its recovery', async () => {
    pair = await run();
    chains = heldChains(pair);
    expect([...chains.keys()].sort()).toEqual(['s-commit', 's-crash', 's-rollback']);
    // The crashed session's stores hold copies of the peer's chain: the recovery brought them.
    expect(chains.get('s-crash')!.some((c) => c.holder !== c.author)).toBe(true);
    for (const [sid, held] of chains) {
      const a = await auditSession(sid, held, KEYS, verifier);
      expect(
        a.findings.filter((f) => !f.ok),
        sid,
      ).toEqual([]);
      expect(a.ok).toBe(true);
      expect(a.gateways).toEqual([ORIGIN.id, DESTINATION.id]);
      const checks = new Set(a.findings.map((f) => f.check));
      for (const c of ['chains verify', 'messages cross-linked', 'receipts verify', 'chains end', 'outcomes agree'])
        expect(checks, `${sid}: ${c}`).toContain(c);
      if (sid === 's-crash') expect(checks).toContain('copies are prefixes');
    }
  });

  it('a changed stored entry, or a copy that no longer matches its author, fails "chains verify"', async () => {
    const held = chains.get('s-crash')!;
    const copy = held.find((c) => c.holder !== c.author)!;
    const text = JSON.stringify(copy.entries[0]).replace('"seqNumber":1', '"seqNumber":1 ');
    const changed = held.map((c) =>
      c === copy ? { ...c, entries: [{ ...(JSON.parse(text) as object), step: 'x' }, ...c.entries.slice(1)] } : c,
    );
    expect(failed(await auditSession('s-crash', changed, KEYS, verifier))).toContain('chains verify');
  });

  it('an entry missing from a chain, or its tail cut off, fails "chains verify" or "chains end"', async () => {
    const held = chains.get('s-commit')!;
    const own = held.find((c) => c.holder === ORIGIN.id && c.author === ORIGIN.id)!;
    const without = (entries: readonly unknown[]) => held.map((c) => (c === own ? { ...c, entries } : c));
    const middle = Math.floor(own.entries.length / 2);
    const gap = await auditSession(
      's-commit',
      without([...own.entries.slice(0, middle), ...own.entries.slice(middle + 1)]),
      KEYS,
      verifier,
    );
    expect(failed(gap)).toContain('chains verify');
    const cut = await auditSession('s-commit', without(own.entries.slice(0, -3)), KEYS, verifier);
    expect(failed(cut)).toContain('chains end');
  });

  it('a ledger receipt an insider rewrote and sealed again with the gateway key fails "receipts verify"', async () => {
    const a = await auditRewritten(
      ORIGIN,
      (e) => (e.payload as { kind?: string }).kind === 'ledger-done',
      (e) => {
        const p = e.payload as { receipt: { txSeq: number } };
        return { ...e, payload: { ...p, receipt: { ...p.receipt, txSeq: p.receipt.txSeq + 1 } } } as LogEntry;
      },
    );
    expect(failed(a)).toEqual(['receipts verify']);
    expect(a.findings.find((f) => !f.ok)!.detail).toMatch(/proof does not verify/);
  });

  it('a destination chain rewritten to end rolled back while the origin committed fails "outcomes agree"', async () => {
    const a = await auditRewritten(
      DESTINATION,
      (e) => (e.payload as { kind?: string }).kind === 'end',
      (e) => ({ ...e, payload: { kind: 'end', outcome: 'rolled-back', reason: 'rewritten' } }) as LogEntry,
    );
    expect(failed(a)).toContain('outcomes agree');
  });

  it('a received message the peer never logged sending fails "messages cross-linked"', async () => {
    const a = await auditRewritten(
      DESTINATION,
      (e) => (e.payload as { kind?: string }).kind === 'receive',
      (e) => ({ ...e, payload: { ...(e.payload as object), hash: 'f'.repeat(64) } }) as LogEntry,
    );
    expect(failed(a)).toEqual(['messages cross-linked']);
  });

  it('satp-audit over two LevelDB stores: exit 0 for the run, 1 with a wrong ledger key, 2 for usage', async () => {
    const dirs = await levelStores(pair, 'run');
    const keysFile = join(dir, 'keys.json');
    writeFileSync(
      keysFile,
      JSON.stringify({
        gateways: { [ORIGIN.id]: { publicJwk: ORIGIN.jwk }, [DESTINATION.id]: { publicJwk: DESTINATION.jwk } },
        ledgers: { 'ledger-a': { publicJwk: LEDGER_A.jwk }, 'ledger-b': { publicJwk: LEDGER_B.jwk } },
      }),
    );
    const stores = Object.entries(dirs).flatMap(([id, d]) => ['--store', `${id}=${d}`]);
    const lines: string[] = [];
    expect(await audit([...stores, '--keys', keysFile], (l) => lines.push(l))).toBe(0);
    expect(lines.filter((l) => l.startsWith('OK '))).toHaveLength(3);
    expect(lines.at(-1)).toBe('3 session(s) audited, 0 with a failed check');
    const json: string[] = [];
    expect(await audit([...stores, '--keys', keysFile, '--json', '--session', 's-crash'], (l) => json.push(l))).toBe(0);
    expect(JSON.parse(json.join('\n')).map((a: { sessionId: string }) => a.sessionId)).toEqual(['s-crash']);

    // A ledger key that is not the ledger's: every receipt of that ledger fails, and the exit code says so.
    const wrongKeys = join(dir, 'wrong-keys.json');
    writeFileSync(
      wrongKeys,
      JSON.stringify({
        gateways: { [ORIGIN.id]: { publicJwk: ORIGIN.jwk }, [DESTINATION.id]: { publicJwk: DESTINATION.jwk } },
        ledgers: { 'ledger-a': { publicJwk: LEDGER_B.jwk }, 'ledger-b': { publicJwk: LEDGER_B.jwk } },
      }),
    );
    const bad: string[] = [];
    expect(await audit([...stores, '--keys', wrongKeys], (l) => bad.push(l))).toBe(1);
    expect(bad.some((l) => /FAIL receipts verify: gw-origin seq \d+: .*proof does not verify/.test(l))).toBe(true);

    const errors: string[] = [];
    expect(
      await audit(
        ['--keys', keysFile],
        () => {},
        (l) => errors.push(l),
      ),
    ).toBe(2);
    expect(
      await audit(
        [...stores],
        () => {},
        (l) => errors.push(l),
      ),
    ).toBe(2);
    expect(
      await audit(
        [...stores, '--keys', keysFile, '--session', 's-none'],
        () => {},
        (l) => errors.push(l),
      ),
    ).toBe(2);
    expect(
      await audit(
        ['--store', `x=${join(dir, 'missing')}`, '--keys', keysFile],
        () => {},
        (l) => errors.push(l),
      ),
    ).toBe(2);
    expect(errors.map((e) => e.split('\n')[0])).toEqual([
      '--store is required',
      '--keys is required',
      '--session s-none: no store holds a chain of it',
      expect.stringMatching(/^--store x=.*missing: cannot open it/),
    ]);
  });

  it('satp-audit reads PostgreSQL, a Log Storage API and its own export, and an edited export fails', async () => {
    const keysFile = join(dir, 'keys-sources.json');
    const tokens = { [ORIGIN.id]: 'origin-token-0123456789', [DESTINATION.id]: 'destination-token-0123456789' };
    writeFileSync(
      keysFile,
      JSON.stringify({
        gateways: {
          [ORIGIN.id]: { publicJwk: ORIGIN.jwk, token: tokens[ORIGIN.id] },
          [DESTINATION.id]: { publicJwk: DESTINATION.jwk, token: tokens[DESTINATION.id] },
        },
        ledgers: { 'ledger-a': { publicJwk: LEDGER_A.jwk }, 'ledger-b': { publicJwk: LEDGER_B.jwk } },
      }),
    );
    /** Copies a side's logs (its own chains and the copies of its peer's) into another driver. */
    const copy = async (side: typeof pair.origin, to: { append: LevelDriver['append'] }) => {
      for (const [logId, stored] of (side.store.driver as MemoryDriver).logs) {
        const last = JSON.parse(stored.at(-1)!) as LogEntry;
        const open = (last.payload as { kind?: string }).kind !== 'end';
        await to.append(logId, EMPTY_HEAD, stored, { ...headOf(last), open });
      }
    };
    // The origin's store in PostgreSQL, the destination's behind a Log Storage API.
    const cluster = await startPostgres();
    const served: { close(): Promise<void> }[] = [];
    try {
      const pgUrl = `${cluster.url}?schema=audited`;
      const pg = await PostgresDriver.open(cluster.url, { schema: 'audited' });
      await copy(pair.origin, pg);
      await pg.close();
      const memory = new Memory();
      await copy(pair.destination, memory);
      const gateways = {
        [ORIGIN.id]: { token: tokens[ORIGIN.id], publicJwk: ORIGIN.jwk },
        [DESTINATION.id]: { token: tokens[DESTINATION.id], publicJwk: DESTINATION.jwk },
      };
      const store = new LogStore(memory, {
        keys: keyTable({ [ORIGIN.id]: ORIGIN.jwk, [DESTINATION.id]: DESTINATION.jwk }),
        verifier: defaultVerifier(),
      });
      const server = await serveOnNode(createLogStorageApp({ store, gateways }).fetch, { port: 0 });
      served.push(server);

      const sources = ['--store', `${ORIGIN.id}=${pgUrl}`, '--store', `${DESTINATION.id}=${server.url}`];
      const exported = join(dir, 'chains.json');
      const lines: string[] = [];
      const args = [...sources, '--keys', keysFile, '--session', 's-commit', '--session', 's-crash'];
      expect(await audit([...args, '--export', exported], (l) => lines.push(l))).toBe(0);
      expect(lines.at(-1)).toBe('2 session(s) audited, 0 with a failed check');

      // The export reads back as both stores, and audits the same.
      const fromFile = ['--store', `${ORIGIN.id}=${exported}`, '--store', `${DESTINATION.id}=${exported}`];
      const again: string[] = [];
      expect(await audit([...fromFile, '--keys', keysFile], (l) => again.push(l))).toBe(0);
      expect(again).toEqual(lines);

      // One beneficiary renamed in the export: the chain no longer verifies.
      const text = readFileSync(exported, 'utf8');
      const edited = join(dir, 'chains-edited.json');
      writeFileSync(edited, text.replace(/"beneficiary": "([^"]+)"/, '"beneficiary": "$1x"'));
      expect(text).not.toBe(readFileSync(edited, 'utf8'));
      const bad: string[] = [];
      const editedArgs = ['--store', `${ORIGIN.id}=${edited}`, '--store', `${DESTINATION.id}=${edited}`];
      expect(await audit([...editedArgs, '--keys', keysFile], (l) => bad.push(l))).toBe(1);
      expect(bad.some((l) => /FAIL chains verify/.test(l))).toBe(true);

      // A Log Storage API lists no logs: the sessions must be named; a file that is no export is refused.
      const errors: string[] = [];
      const quiet = () => {};
      const apiOnly = ['--store', `${DESTINATION.id}=${server.url}`, '--keys', keysFile];
      expect(await audit(apiOnly, quiet, (l) => errors.push(l))).toBe(2);
      expect(
        await audit(['--store', `${ORIGIN.id}=${keysFile}`, '--keys', keysFile], quiet, (l) => errors.push(l)),
      ).toBe(2);
      expect(errors.map((e) => e.split('\n')[0])).toEqual([
        expect.stringMatching(/a Log Storage API lists no logs; name the sessions/),
        expect.stringMatching(/not a satp-audit export/),
      ]);
    } finally {
      await Promise.allSettled(served.map((s) => s.close()));
      await cluster.stop();
    }
  });

  it("the demo's verdict (auditStores, verdict): passed for the run, FAILED for one changed byte", async () => {
    const stores = (dirs: Record<string, string>) => Object.entries(dirs).map(([holder, d]) => ({ holder, source: d }));
    const good = verdict(await auditStores(stores(await levelStores(pair, 'verdict-good')), KEYS, ['s-commit']));
    expect(good).toEqual({
      passed: true,
      lines: [
        'OK   s-commit: gw-origin committed, gw-destination committed',
        'audit verdict: passed, 1 session(s) audited, 0 with a failed check',
      ],
    });
    // One byte of the origin's own third entry of s-commit changed in its store: its timestamp, one digit up.
    const own = logIdOf('s-commit', ORIGIN.id);
    const tampered = await levelStores(pair, 'verdict-tampered', (holder, logId, seq, text) =>
      holder === ORIGIN.id && logId === own && seq === 3
        ? text.replace(/"timestamp":(\d+)/, (_m, t) => `"timestamp":${Number(t) + 1}`)
        : text,
    );
    const bad = verdict(await auditStores(stores(tampered), KEYS, ['s-commit']));
    expect(bad.passed).toBe(false);
    expect(bad.lines[0]).toMatch(/^FAIL s-commit: .*; failed: chains verify \(gw-origin's chain: .* at entry 2: /);
    expect(bad.lines.at(-1)).toBe('audit verdict: FAILED, 1 session(s) audited, 1 with a failed check');
  });
});

// The satp-log command (cli/log-command.ts): a gateway's LevelDB store exported in recovery-04 Figure 5's form,
// and imported back into exactly the entries the store holds, verified with the gateways' keys; bad input is
// exit 1 with the entry named, a usage error exit 2.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logCommand } from '../../cli/log-command.ts';
import { DRAFT_EXTENSION_KEY } from '../../kernel/draft-form.ts';
import { EMPTY_HEAD, headOf, type LogEntry, logIdOf } from '../../kernel/entry.ts';
import { outcomeOf } from '../../kernel/satp/state.ts';
import { LevelDriver } from '../../storage/level.ts';
import type { MemoryDriver } from '../../storage/memory.ts';
import { DESTINATION, makePair, ORIGIN, outcomes, until } from '../support/satp-pair.ts';

const dir = mkdtempSync(join(tmpdir(), 'satp-log-'));
const db = join(dir, 'store');
/** The texts the store holds, by log id. */
let stored: Map<string, string[]>;

beforeAll(async () => {
  const pair = await makePair();
  await pair.origin.gw.startTransfer(pair.request('s-log'));
  const ended = () => !!outcomeOf(pair.origin.gw.session('s-log')) && !!outcomeOf(pair.destination.gw.session('s-log'));
  await until(pair, ended, 30, 's-log ends');
  expect(await outcomes(pair, 's-log')).toEqual(['committed', 'committed']);
  // One store with both gateways' chains, as a shared log server's (recovery-04 §3.3) holds them.
  stored = new Map([pair.origin, pair.destination].flatMap((side) => [...(side.store.driver as MemoryDriver).logs]));
  const level = await LevelDriver.open(db);
  for (const [logId, texts] of stored) {
    const last = JSON.parse(texts.at(-1)!) as LogEntry;
    await level.append(logId, EMPTY_HEAD, texts, { ...headOf(last), open: false });
  }
  await level.close();
  writeFileSync(
    join(dir, 'keys.json'),
    JSON.stringify({
      gateways: { [ORIGIN.id]: { publicJwk: ORIGIN.jwk }, [DESTINATION.id]: { publicJwk: DESTINATION.jwk } },
    }),
  );
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await logCommand(
    argv,
    (t) => (out += `${t}\n`),
    (l) => (err += `${l}\n`),
  );
  return { code, out, err };
}

describe('satp-log', () => {
  it('export writes every log of the store in Figure 5 form; import gives back the stored texts', async () => {
    expect(stored.size, "both gateways' chains").toBe(2);
    const exported = await run('export', '--store', db, '--out', join(dir, 'draft.json'));
    expect(exported).toMatchObject({ code: 0, err: '' });
    const drafts = JSON.parse(readFileSync(join(dir, 'draft.json'), 'utf8')) as Record<string, object[]>;
    expect(Object.keys(drafts).sort()).toEqual([...stored.keys()].sort());
    for (const [logId, texts] of stored) {
      expect(drafts[logId]).toHaveLength(texts.length);
      expect(drafts[logId]![0]).toMatchObject({ 'Session ID': 's-log', 'Sequence Number': 1 });
    }
    const imported = await run('import', '--in', join(dir, 'draft.json'), '--keys', join(dir, 'keys.json'));
    expect(imported.err).toBe('');
    expect(imported.code).toBe(0);
    const entries = JSON.parse(imported.out) as Record<string, LogEntry[]>;
    for (const [logId, texts] of stored) expect(entries[logId]!.map((e) => JSON.stringify(e))).toEqual(texts);
  });

  it('export --log picks one log; import of a bare array names the log from its entries', async () => {
    const logId = logIdOf('s-log', ORIGIN.id);
    const one = await run('export', '--store', db, '--log', logId);
    expect(one.code).toBe(0);
    const drafts = JSON.parse(one.out) as Record<string, object[]>;
    expect(Object.keys(drafts)).toEqual([logId]);
    writeFileSync(join(dir, 'one.json'), JSON.stringify(drafts[logId]));
    const back = await run('import', '--in', join(dir, 'one.json'));
    expect(back.code).toBe(0);
    expect(Object.keys(JSON.parse(back.out))).toEqual([logId]);
  });

  it('a changed draft entry is exit 1 naming the log and entry; a forged one fails to verify with --keys', async () => {
    const logId = logIdOf('s-log', ORIGIN.id);
    const drafts = JSON.parse((await run('export', '--store', db, '--log', logId)).out) as Record<
      string,
      Record<string, unknown>[]
    >;
    const changed = structuredClone(drafts);
    changed[logId]![2]!['SATP Phase'] = 'lock';
    writeFileSync(join(dir, 'changed.json'), JSON.stringify(changed));
    const bad = await run('import', '--in', join(dir, 'changed.json'));
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(new RegExp(`log ${logId} entry 2: Figure 5 form: bad-entry-hash`));
    // Without the entry hash the import recomputes it: only the signature catches the change.
    delete (changed[logId]![2]![DRAFT_EXTENSION_KEY] as Record<string, unknown>).entryHash;
    writeFileSync(join(dir, 'forged.json'), JSON.stringify(changed));
    expect((await run('import', '--in', join(dir, 'forged.json'))).code, 'no keys: not verified').toBe(0);
    const forged = await run('import', '--in', join(dir, 'forged.json'), '--keys', join(dir, 'keys.json'));
    expect(forged.code).toBe(1);
    expect(forged.err).toMatch(/does not verify/);
  });

  it('usage errors are exit 2', async () => {
    for (const argv of [
      [],
      ['delete'],
      ['export'],
      ['export', '--store', join(dir, 'missing')],
      ['export', '--store', db, '--log', 'no-slash'],
      ['export', '--store', db, '--log', 's-other/gw-origin'],
      ['import'],
      ['import', '--in', join(dir, 'missing.json')],
      ['import', '--in', join(dir, 'draft.json'), '--bogus'],
    ]) {
      const r = await run(...argv);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err).toMatch(/usage: satp-log/);
    }
    expect((await run('--help')).out).toMatch(/usage: satp-log export/);
  });
});

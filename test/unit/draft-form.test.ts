// recovery-04 §4 Figure 5 form of a log entry (kernel/draft-form.ts): real chains (a committed transfer with a crash
// and recovery, and a takeover) go to the draft form and back byte for byte and still verify; malformed input is
// refused with a reason and never throws; Figure 6's camelCase form is read where it maps.
import { describe, expect, it } from 'vitest';
import { verifyChain } from '../../kernel/chain.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { keyTable, type PublicJwk } from '../../kernel/crypto/types.ts';
import { generateWebCryptoSigner } from '../../kernel/crypto/webcrypto.ts';
import { DRAFT_EXTENSION_KEY, type DraftFormEntry, fromDraftForm, toDraftForm } from '../../kernel/draft-form.ts';
import { EMPTY_HEAD, headOf, type LogEntry, logIdOf, nextEntryBody } from '../../kernel/entry.ts';
import { sha256HexOfText } from '../../kernel/hash.ts';
import { sealEntry } from '../../kernel/seal.ts';
import { takeoverEntryBody } from '../../kernel/takeover.ts';
import { outcomeOf } from '../../kernel/satp/state.ts';
import { chainContext, G1, G2, step } from '../support/fixtures.ts';
import { crashSide, DESTINATION, keys, makePair, ORIGIN, outcomes, typeOf, until } from '../support/satp-pair.ts';

const verifier = defaultVerifier();

/** Each entry to the draft form, through JSON text (as a file or the wire carries it), and back. */
function roundTrip(entries: readonly LogEntry[]): LogEntry[] {
  return entries.map((e, i) => {
    const back = fromDraftForm(JSON.parse(JSON.stringify(toDraftForm(e))));
    if (!back.ok) throw new Error(`entry ${i}: ${back.error}`);
    expect(back.form).toBe('figure-5');
    return back.entry;
  });
}

/** The logs of a committed transfer whose origin crashed before sending its proposal and recovered (§5.4.1). */
async function recoveredTransfer(): Promise<LogEntry[][]> {
  const pair = await makePair();
  let sent = false;
  pair.drop = (_f, _t, env) => !sent && typeOf(env) === 'transfer-proposal-msg' && (sent = true);
  await pair.origin.gw.startTransfer(pair.request('s-draft'));
  const down = crashSide(pair, 'origin');
  await pair.clock.advance(5_250); // restarts off the whole second, so entries after it have milliseconds
  await down.restart();
  const ended = () =>
    !!outcomeOf(pair.origin.gw.session('s-draft')) && !!outcomeOf(pair.destination.gw.session('s-draft'));
  await until(pair, ended, 60);
  expect(await outcomes(pair, 's-draft')).toEqual(['committed', 'committed']);
  return Promise.all(
    [[pair.origin, ORIGIN.id] as const, [pair.destination, DESTINATION.id] as const].map(([side, id]) =>
      side.store.getLog(logIdOf('s-draft', id)),
    ),
  );
}

describe('the Figure 5 form of a log entry', () => {
  it('a committed transfer with a crash and recovery: every entry of both chains comes back exactly', async () => {
    const chains = await recoveredTransfer();
    const all = chains.flat();
    expect(all.some((e) => e.recoveryMessage !== undefined && e.recoveryPayload !== undefined)).toBe(true);
    expect(
      all.some((e) => e.timestamp % 1000 !== 0),
      'some timestamp has a sub-second part',
    ).toBe(true);
    for (const entries of chains) {
      expect((await verifyChain(entries, { keys, verifier })).ok).toBe(true);
      const back = roundTrip(entries);
      expect(back.map((e) => JSON.stringify(e))).toEqual(entries.map((e) => JSON.stringify(e)));
      const verified = await verifyChain(back, { keys, verifier });
      expect(verified.ok, JSON.stringify(verified)).toBe(true);
    }
  }, 60_000);

  it("uses Figure 5's keys, whole UNIX seconds, and a Payload Hash that is the hash of the Payload text", async () => {
    const [origin] = await recoveredTransfer();
    const recovery = origin!.find((e) => e.recoveryMessage !== undefined)!;
    const d = toDraftForm(recovery);
    expect(Object.keys(d)).toEqual([
      'Version',
      'Session ID',
      'Context ID',
      'Sequence Number',
      'SATP Phase',
      'Resource URL',
      'Developer URN',
      'Action/Response',
      'Credential Profile',
      'Credential Block',
      'Payload Profile',
      'Application Profile',
      'Payload',
      'Payload Hash',
      'timestamp',
      'origin_gateway_pubkey',
      'origin_gateway_system',
      'destination_gateway_pubkey',
      'destination_gateway_system',
      'logging_profile',
      'Message_signature',
      'Last_entry_hash',
      'Access_control_profile',
      'Operation',
      'recovery message',
      'recovery payload',
      DRAFT_EXTENSION_KEY,
    ]);
    expect(d.timestamp).toBe(Math.floor(recovery.timestamp / 1000));
    expect(d[DRAFT_EXTENSION_KEY]).toEqual({
      author: ORIGIN.id,
      step: recovery.step,
      entryHash: recovery.entryHash,
      subsecondMs: recovery.timestamp % 1000,
    });
    expect(sha256HexOfText(d.Payload)).toBe(d['Payload Hash']);
    expect(d['recovery message']).toBe(recovery.recoveryMessage);
    expect(JSON.parse(d['recovery payload']!)).toEqual(recovery.recoveryPayload);
    expect(d.Operation).toBe(recovery.operation);
    expect(d.Last_entry_hash).toBe(recovery.lastEntryHash);
    const plain = toDraftForm(origin![0]!);
    expect('recovery message' in plain, 'absent optional fields are left out').toBe(false);
  }, 60_000);

  it('a takeover entry: the chain handed to a backup key still verifies after the round trip', async () => {
    const backup = (await generateWebCryptoSigner()).signer;
    const ctx = chainContext('s-takeover', G1);
    const entries: LogEntry[] = [];
    for (let i = 0; i < 2; i++)
      entries.push(await sealEntry(nextEntryBody(ctx, headOf(entries.at(-1)), step(i)), G1.signer));
    const body = takeoverEntryBody(
      ctx,
      headOf(entries.at(-1)),
      { backup: 'gw-backup-1', certificate: 'CERT', publicKey: backup.publicJwk, epoch: 2 },
      'transfer-initiation',
      1_700_000_123_456,
    );
    entries.push(await sealEntry(body, backup));
    entries.push(await sealEntry(nextEntryBody(ctx, headOf(entries.at(-1)), step(3)), backup));
    const successor = async (gateway: string, certificate: string) =>
      gateway === G1.id && certificate === 'CERT'
        ? { ok: true as const, key: backup.publicJwk as PublicJwk, name: 'gw-backup-1' }
        : { ok: false as const, detail: 'not a successor' };
    const ctxV = { keys: keyTable({ [G1.id]: G1.jwk }), verifier, successor };
    expect((await verifyChain(entries, ctxV)).ok).toBe(true);
    const back = roundTrip(entries);
    expect(back.map((e) => JSON.stringify(e))).toEqual(entries.map((e) => JSON.stringify(e)));
    const verified = await verifyChain(back, ctxV);
    expect(verified.ok && verified.successions.length).toBe(1);
  });
});

describe('refusals: a reason, never a throw', () => {
  const sample = async (): Promise<{ entry: LogEntry; draft: DraftFormEntry }> => {
    const entry = await sealEntry(nextEntryBody(chainContext('s-bad', G1), EMPTY_HEAD, step(7)), G1.signer);
    return { entry, draft: toDraftForm(entry) };
  };
  const edit = (d: DraftFormEntry, f: (o: Record<string, unknown>) => void) => {
    const o = JSON.parse(JSON.stringify(d)) as Record<string, unknown>;
    f(o);
    return o;
  };
  const ext = (o: Record<string, unknown>) => o[DRAFT_EXTENSION_KEY] as Record<string, unknown>;
  const throwing = new Proxy(
    {},
    {
      ownKeys() {
        throw new Error('hostile');
      },
    },
  );

  const cases: [string, (d: DraftFormEntry) => unknown, RegExp][] = [
    ['not an object', () => 'entry', /is a JSON object/],
    ['an array', (d) => [d], /is a JSON object/],
    ['null', () => null, /is a JSON object/],
    ['a proxy that throws', () => throwing, /not a draft-form entry: Error: hostile/],
    ['an unknown key', (d) => edit(d, (o) => (o.Colour = 'blue')), /unknown key\(s\) "Colour"/],
    ['a missing key', (d) => edit(d, (o) => delete o.Last_entry_hash), /missing "Last_entry_hash"/],
    [
      'no extension (as in the draft, which has no author or step)',
      (d) => edit(d, (o) => delete o[DRAFT_EXTENSION_KEY]),
      /missing "x-satp-recovery" \(without "x-satp-recovery" the entry's author, step and milliseconds/,
    ],
    ['an extension that is not an object', (d) => edit(d, (o) => (o[DRAFT_EXTENSION_KEY] = 'x')), /must be an object/],
    ['an unknown extension member', (d) => edit(d, (o) => (ext(o).extra = 1)), /unknown "extra"/],
    ['subsecondMs out of range', (d) => edit(d, (o) => (ext(o).subsecondMs = 1000)), /from 0 to 999/],
    ['a timestamp in milliseconds', (d) => edit(d, (o) => (o.timestamp = 1.5)), /whole seconds/],
    ['a negative timestamp', (d) => edit(d, (o) => (o.timestamp = -1)), /whole seconds/],
    ['a Payload that is not text', (d) => edit(d, (o) => (o.Payload = { i: 7 })), /"Payload" must be the payload's/],
    ['a Payload that is not JSON', (d) => edit(d, (o) => (o.Payload = "{ 'key1': 'value1' }")), /"Payload" is not/],
    ['a changed Payload', (d) => edit(d, (o) => (o.Payload = '{"i":8}')), /bad-payload-hash/],
    ['a bad Payload Hash', (d) => edit(d, (o) => (o['Payload Hash'] = 'abc123def456')), /"Payload Hash"/],
    ['a wrong Operation', (d) => edit(d, (o) => (o.Operation = 'commit')), /"Operation"/],
    ['a bad key', (d) => edit(d, (o) => (o.origin_gateway_pubkey = 'abc123')), /"origin_gateway_pubkey"/],
    ['a bad signature', (d) => edit(d, (o) => (o.Message_signature = 'sig')), /"Message_signature"/],
    ['a changed field', (d) => edit(d, (o) => (o['SATP Phase'] = 'lock')), /bad-entry-hash/],
    ['a bad entry hash', (d) => edit(d, (o) => (ext(o).entryHash = 'f'.repeat(64))), /bad-entry-hash/],
    ['an author outside the id alphabet', (d) => edit(d, (o) => (ext(o).author = 'a b')), /x-satp-recovery\.author/],
  ];
  for (const [what, make, error] of cases)
    it(what, async () => {
      const { draft } = await sample();
      const r = fromDraftForm(make(draft));
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error).toMatch(error);
    });

  it('without the entry hash in the extension it is computed; a forged entry still fails its signature', async () => {
    const { entry, draft } = await sample();
    const r = fromDraftForm(edit(draft, (o) => delete ext(o).entryHash));
    expect(r.ok && JSON.stringify(r.entry)).toBe(JSON.stringify(entry));
    const forged = fromDraftForm(
      edit(draft, (o) => {
        delete ext(o).entryHash;
        o['SATP Phase'] = 'lock';
      }),
    );
    expect(forged.ok).toBe(true);
    const v = await verifyChain([forged.ok && forged.entry], { keys: keyTable({ [G1.id]: G1.jwk }), verifier });
    expect(!v.ok && v.reason).toBe('bad-signature');
  });
});

describe("Figure 6's camelCase form", () => {
  /** Our entry under Figure 6's names, with its timestamp as Figure 6 writes it (a string of UNIX seconds). */
  const asFigure6 = (e: LogEntry): Record<string, unknown> => {
    const { phase, originGatewaySystem, destinationGatewaySystem, timestamp, ...rest } = e;
    return {
      ...rest,
      phaseId: phase,
      originNetworkId: originGatewaySystem,
      destinationNetworkId: destinationGatewaySystem,
      originGatewayId: '5.47.165.186',
      timestamp: String(timestamp / 1000),
    };
  };

  it("the draft's own example is refused: it has no signature, hashes, keys or profiles", () => {
    const r = fromDraftForm({
      sessionId: '4eb424c8-aead-4e9e-a321-a160ac3909ac',
      contextId: '5eb424c8-aead-4e9e-a321-a160ac3909ac',
      seqNumber: 7,
      phaseId: 'lock',
      originGatewayId: '5.47.165.186',
      originNetworkId: 'Hyperledger-Fabric-JusticeChain',
      destinationGatewayId: '192.47.113.116',
      destinationNetworkId: 'Ethereum',
      timestamp: '1606157333',
      payload: { messageType: '2pc-log', message: 'LOCK_ASSET_ACK', votes: 'none' },
    });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.error).toMatch(
      /^Figure 6 form: missing "version", "step", "author".*"messageSignature"; Figure 6/,
    );
  });

  it('an entry of ours under its names maps back if its time is whole seconds; gateway addresses dropped', async () => {
    const entry = await sealEntry(nextEntryBody(chainContext('s-f6', G2), EMPTY_HEAD, step(0)), G2.signer);
    expect(entry.timestamp % 1000).toBe(0);
    const r = fromDraftForm(JSON.parse(JSON.stringify(asFigure6(entry))));
    expect(r.ok && r.form).toBe('figure-6');
    expect(r.ok && r.ignored).toEqual(['originGatewayId']);
    expect(r.ok && JSON.stringify(r.entry)).toBe(JSON.stringify(entry));
    expect((await verifyChain([r.ok && r.entry], { keys: keyTable({ [G2.id]: G2.jwk }), verifier })).ok).toBe(true);
  });

  it('with milliseconds the seconds lose, the hash no longer matches, and the error says why', async () => {
    const entry = await sealEntry(nextEntryBody(chainContext('s-f6', G2), EMPTY_HEAD, step(5)), G2.signer);
    const f6 = { ...asFigure6(entry), timestamp: String(Math.floor(entry.timestamp / 1000)) };
    const r = fromDraftForm(f6);
    expect(!r.ok && r.error).toMatch(/bad-entry-hash.*whole seconds.*milliseconds, they are lost/);
    expect(fromDraftForm({ ...asFigure6(entry), timestamp: entry.timestamp }).ok, 'a number is milliseconds').toBe(
      true,
    );
  });

  it('both a Figure 6 name and ours, or a key of neither, is refused', async () => {
    const entry = await sealEntry(nextEntryBody(chainContext('s-f6', G2), EMPTY_HEAD, step(0)), G2.signer);
    const both = fromDraftForm({ ...asFigure6(entry), phase: entry.phase });
    expect(!both.ok && both.error).toMatch(/both "phaseId" and "phase"/);
    const other = fromDraftForm({ ...asFigure6(entry), votes: 'none' });
    expect(!other.ok && other.error).toMatch(/unknown key "votes"/);
  });
});

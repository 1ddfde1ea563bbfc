// SATP core interoperability (issue 14): every example message of draft-ietf-satp-core parses, taken from the
// draft's text (test/fixtures/satp-core-examples.txt, copied verbatim); every message this gateway sends carries
// core's REQUIRED parameters and nothing beyond its parameter lists but the documented extensions
// (CORE_EXTENSIONS; docs/names.md); a proposal written as core's examples write it (gateway keys in hex, no
// assetLockExpirationTime, any JSON serialization) is accepted and answered.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { sameKeyAs } from '../../kernel/crypto/types.ts';
import { fromBase64Url, toBase64Url, toHex, utf8 } from '../../kernel/encoding.ts';
import { hashJson, sha256Hex } from '../../kernel/hash.ts';
import type { Json } from '../../kernel/json.ts';
import type { Envelope } from '../../kernel/satp/envelope.ts';
import { CORE_EXTENSIONS, MSG, parseMessage } from '../../kernel/satp/messages.ts';
import { DESTINATION, lastOnWire, makePair, messageOf, ORIGIN, outcomes, settle } from '../support/satp-pair.ts';

const fixture = (name: string) => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');

/**
 * The examples as the draft writes them, made JSON by the two repairs its text needs and nothing else: a comma
 * before a closing brace is dropped (every example ends with one), and a missing comma between two members on
 * consecutive lines is added (the error-msg example lacks one after prevMsgType).
 */
function examples(): { line: number; text: string; value: Record<string, unknown> }[] {
  const parts = fixture('satp-core-examples.txt').split(/^=== draft-ietf-satp-core line (\d+)\n/m);
  const out = [];
  for (let i = 1; i < parts.length; i += 2) {
    const text = parts[i + 1]!.trim();
    const repaired = text.replace(/,(\s*[}\]])/g, '$1').replace(/("[^"\n]*")(\s*\n\s*")/g, '$1,$2');
    out.push({ line: Number(parts[i]), text, value: JSON.parse(repaired) as Record<string, unknown> });
  }
  return out;
}

interface CoreParams {
  messages: Record<string, { params: Record<string, 'REQUIRED' | 'OPTIONAL'> }>;
  objects: Record<string, { params: Record<string, 'REQUIRED' | 'OPTIONAL'> }>;
}
const core = JSON.parse(fixture('satp-core-params.json')) as CoreParams;

describe("SATP core's example messages", () => {
  it('all twelve parse, as the draft writes them (hex keys, the examples own spellings, no version)', () => {
    const all = examples();
    expect(all.map((e) => String(e.value.messageType).split(':').pop())).toEqual([
      'transfer-proposal-msg',
      'proposal-receipt-msg',
      'transfer-commence-msg',
      'ack-commence-msg',
      'lock-assert-msg',
      'assertion-receipt-msg',
      'commit-prepare-msg',
      'commit-ready-msg',
      'commit-final-msg',
      'ack-commit-final-msg',
      'commit-transfer-complete-msg',
      'error-msg',
    ]);
    for (const e of all) {
      const r = parseMessage(e.value);
      expect(r, `the example at line ${e.line}`).toMatchObject({ ok: true });
    }
  });

  it("reads the examples' spellings as the parameter lists' names, and refuses both spellings at once", () => {
    const byType = new Map(examples().map((e) => [e.value.messageType, e.value]));
    const lock = parseMessage(byType.get(MSG.lockAssert));
    expect(lock.ok && lock.message).toMatchObject({ lockAssertionExpiration: '2024-12-23T23:59:59.999Z' });
    expect(lock.ok && 'lockAssetionExpiration' in lock.message).toBe(false);
    const ready = parseMessage(byType.get(MSG.commitReady));
    expect(ready.ok && ready.message).toMatchObject({ mintAssertionFormat: 'MINT_ASSERTION_CLAIM_FORMAT_1' });
    const both = parseMessage({ ...byType.get(MSG.lockAssert), lockAssertionExpiration: '2024-12-23T23:59:59.999Z' });
    expect(both).toMatchObject({ ok: false, problem: expect.stringMatching(/both lockAssetionExpiration and/) });
  });

  it('still refuses what core does not allow: a wrong version, a malformed hex key, a required field missing', () => {
    const [proposal] = examples();
    const v = proposal!.value;
    const claim = v.transferInitClaim as Record<string, unknown>;
    expect(parseMessage({ ...v, version: '2.0' }).ok).toBe(false);
    expect(parseMessage({ ...v, transferInitClaim: { ...claim, senderGatewaySignaturePublicKey: '05ab' } }).ok).toBe(
      false,
    );
    const { version: _, ...unversioned } = v;
    expect(parseMessage(unversioned)).toMatchObject({ ok: false, problem: expect.stringMatching(/^version/) });
    const { digitalAssetId: __, ...noAsset } = claim;
    expect(parseMessage({ ...v, transferInitClaim: noAsset }).ok).toBe(false);
  });
});

describe('keys in the hex form of core', () => {
  it('a compressed or uncompressed SEC 1 point is the JWK with the same point, and no other', () => {
    const x = toHex(fromBase64Url(ORIGIN.jwk.x));
    const y = toHex(fromBase64Url(ORIGIN.jwk.y));
    const odd = (Number.parseInt(y.slice(-1), 16) & 1) === 1;
    expect(sameKeyAs(`${odd ? '03' : '02'}${x}`, ORIGIN.jwk)).toBe(true);
    expect(sameKeyAs(`${odd ? '03' : '02'}${x}`.toUpperCase(), ORIGIN.jwk)).toBe(true);
    expect(sameKeyAs(`04${x}${y}`, ORIGIN.jwk)).toBe(true);
    expect(sameKeyAs(`${odd ? '02' : '03'}${x}`, ORIGIN.jwk), 'the other parity').toBe(false);
    expect(sameKeyAs(`04${x}${y}`, DESTINATION.jwk)).toBe(false);
    expect(sameKeyAs(ORIGIN.jwk, ORIGIN.jwk)).toBe(true);
  });
});

describe('what this gateway sends, against core', () => {
  it("carries every REQUIRED parameter of core's lists, and beyond them only the documented extensions", async () => {
    const pair = await makePair();
    await pair.origin.gw.startTransfer(pair.request('s-core'));
    expect(await outcomes(pair, 's-core')).toEqual(['committed', 'committed']);
    const sent = pair.wire.map((w) => messageOf(w.env) as unknown as Record<string, unknown>);
    const checked = new Set<string>();
    for (const m of sent) {
      const type = String(m.messageType).split(':').pop()!;
      const list = core.messages[type]?.params;
      if (!list) continue; // recovery messages, and types core defines no parameters for
      checked.add(type);
      for (const [name, need] of Object.entries(list))
        if (need === 'REQUIRED') expect(m, `${type} carries ${name}`).toHaveProperty(name);
      const extra = Object.keys(m).filter((k) => !(k in list));
      expect(extra, `${type}: fields beyond core's list`).toEqual(
        expect.arrayContaining(extra.filter((k) => CORE_EXTENSIONS[type]?.includes(k))),
      );
      expect(
        extra.filter((k) => !CORE_EXTENSIONS[type]?.includes(k)),
        `${type}: undocumented fields`,
      ).toEqual([]);
    }
    expect(checked.size, 'every core message of a committed transfer').toBe(11);
    const proposal = sent.find((m) => m.messageType === MSG.transferProposal)!;
    const claimParams = core.objects['Transfer Initialization Claim']!.params;
    const capParams = core.objects['Conveyance of Gateway and Network Capabilities']!.params;
    for (const [obj, params] of [
      [proposal.transferInitClaim, claimParams],
      [proposal.gatewayAndNetworkCapabilities, capParams],
    ] as const) {
      const o = obj as Record<string, unknown>;
      expect(Object.keys(o).filter((k) => !(k in params))).toEqual([]);
      for (const [name, need] of Object.entries(params)) if (need === 'REQUIRED') expect(o).toHaveProperty(name);
    }
  });
});

describe('a proposal written as core writes it', () => {
  it('hex keys, no assetLockExpirationTime, any serialization: accepted, the claim hashed as sent', async () => {
    // A proposal of ours, from a run, rewritten by hand as another implementation could send it, to a fresh pair.
    const source = await makePair();
    await source.origin.gw.startTransfer(source.request('s-source'));
    await settle();
    const ours = lastOnWire(source, 'transfer-proposal-msg') as unknown as Record<string, unknown>;
    const pair = await makePair();
    const hexOf = (jwk: typeof ORIGIN.jwk) => `04${toHex(fromBase64Url(jwk.x))}${toHex(fromBase64Url(jwk.y))}`;
    const { assetLockExpirationTime: _, ...claim } = ours.transferInitClaim as Record<string, unknown>;
    const foreign = {
      ...ours,
      sessionId: 's-foreign',
      transferInitClaim: {
        ...claim,
        senderGatewaySignaturePublicKey: hexOf(ORIGIN.jwk),
        receiverGatewaySignaturePublicKey: hexOf(DESTINATION.jwk),
        senderGatewayDeviceIdentityPublicKey: hexOf(ORIGIN.jwk),
      },
    };
    const text = JSON.stringify(foreign, null, 2);
    const header = toBase64Url(utf8(JSON.stringify({ typ: 'satp+json', kid: ORIGIN.id, alg: 'ES256' })));
    const payload = toBase64Url(utf8(text));
    const env: Envelope = {
      protected: header,
      payload,
      signature: toBase64Url(await ORIGIN.signer.sign(utf8(`${header}.${payload}`))),
    };
    const result = await pair.destination.gw.receive(ORIGIN.id, env);
    expect(result).toMatchObject({ accepted: true });
    await settle();
    const receipt = lastOnWire(pair, 'proposal-receipt-msg') as unknown as Record<string, unknown>;
    expect(receipt.hashTransferInitClaim).toBe(hashJson(foreign.transferInitClaim as Json));
    expect(receipt.hashPrevMessage, 'the receipt names the bytes signed').toBe(sha256Hex(utf8(text)));
  });
});

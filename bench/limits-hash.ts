// Part 1, CPU per entry: SHA-256 (noble, kernel/hash.ts's default, and node:crypto, which the bench installs) and
// RFC 8785 canonical JSON (kernel/json.ts) of a typical entry body.
import canonicalizeReference from 'canonicalize';
import { canonicalJson, type Json } from '../kernel/json.ts';
import { utf8 } from '../kernel/encoding.ts';
import { sha256 } from '@noble/hashes/sha2.js';
import { sha256Hex } from '../kernel/hash.ts';
import { nativeSha256 } from '../storage/sha256-node.ts';
import { identities } from './lib/identities.ts';
import { syncRateOf } from './lib/measure.ts';
import type { Results } from './lib/report.ts';
import { sampleBody } from './lib/sample-entry.ts';

export async function limitsHash(results: Results, ms: number): Promise<void> {
  const id = await identities();
  const body = sampleBody(id.origin, id.destination);
  const text = canonicalJson(body as unknown as Json);
  const bytes = utf8(text);
  results.rate(
    'limits',
    "SHA-256 of an entry, noble (the kernel's default)",
    syncRateOf(() => sha256(bytes), ms).perSecond,
    undefined,
    '',
    { note: `${bytes.length} B` },
  );
  results.rate(
    'limits',
    'SHA-256 of an entry, node:crypto (what the bench and the gateway processes use)',
    syncRateOf(() => nativeSha256(bytes), ms).perSecond,
    undefined,
    '',
    { note: `${bytes.length} B` },
  );
  results.rate(
    'limits',
    'SHA-256 of an entry as the kernel computes it (hex)',
    syncRateOf(() => sha256Hex(bytes), ms).perSecond,
    undefined,
    '',
  );
  // kernel/json.ts writes JCS itself; the reference package is the alternative it replaced (docs/decisions.md).
  const reference = syncRateOf(() => canonicalizeReference(body), ms).perSecond;
  results.rate(
    'limits',
    'canonical JSON of an entry body',
    syncRateOf(() => canonicalJson(body as unknown as Json), ms).perSecond,
    reference,
    'the `canonicalize` package',
    { ratioAs: '×' },
  );
}

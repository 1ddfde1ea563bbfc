// A typical log entry, built the way the gateway builds one: the origin's exec of its transfer-proposal (step 1.1).
import { type EntryBody, nextEntryBody } from '../../kernel/entry.ts';
import { startTransfer } from '../../kernel/satp/origin.ts';
import { gatewayConfig } from '../../kernel/satp/effects.ts';
import type { Signer } from '../../kernel/crypto/types.ts';
import { DESTINATION_ID, ORIGIN_ID } from './identities.ts';

/**
 * The body the reducer emits for the proposal's send (the largest entry of a transfer but one, and a fair
 * stand-in for the average: it carries a whole SATP message). `sessionId` varies the session so bodies differ.
 */
export function sampleBody(
  origin: Signer,
  destination: Signer,
  sessionId = 'bench-sample',
  timestamp = 1_700_000_000_000,
): EntryBody {
  const cfg = gatewayConfig({
    id: ORIGIN_ID,
    publicJwk: origin.publicJwk,
    networkId: 'ledger-a',
    // Ledger keys play no part in starting a transfer; the gateways' own keys stand in for them here.
    ledgerKey: origin.publicJwk,
    peers: {
      [DESTINATION_ID]: { publicJwk: destination.publicJwk, networkId: 'ledger-b', ledgerKey: destination.publicJwk },
    },
  });
  const request = {
    sessionId,
    contextId: `ctx-${sessionId}`,
    peer: DESTINATION_ID,
    assetId: 'asset-1',
    assetProfileId: 'bench-profile',
    originator: 'alice',
    beneficiary: 'bob',
    lockSeconds: 60,
  };
  const d = startTransfer(request, timestamp, cfg);
  if (!d.context || d.steps.length < 3) throw new Error('startTransfer did not produce the 1.1 entries');
  // Seq 3 of the chain: 1.1's request (init) and the send's intent (init) come first.
  return nextEntryBody(d.context, { seq: 2, hash: 'a'.repeat(64) }, d.steps[2]!);
}

// The entry steps a decision logs (recovery-04 §4): the phase and actionResponse an auditor reads, and the chain
// fields every entry of a gateway carries unless its configuration says otherwise.
import { describe, expect, it } from 'vitest';
import { gatewayConfig, MSG, type SatpMessage } from '../../kernel/satp/index.ts';
import { end, intent, receive, record, rollbackDecision, send } from '../../kernel/satp/steps.ts';
import { G1 } from '../support/fixtures.ts';

const NOW = 1_700_000_000_000;
const message = (messageType: string) => ({ messageType, sessionId: 's-1' }) as unknown as SatpMessage;

describe('entry steps', () => {
  it('name the phase of their step: SATP stages 1 to 3, the end as closure, anything else as rollback', () => {
    expect(intent('1.1', NOW, 'x').phase).toBe('transfer-initiation');
    expect(record('2.3', NOW, 'x').phase).toBe('lock-evidence');
    expect(record('3.5', NOW, 'x').phase).toBe('commitment');
    expect(end(NOW, 'committed', 'done').phase).toBe('closure');
    expect(rollbackDecision(NOW, 'deadline', true)).toMatchObject({
      step: 'rollback',
      phase: 'rollback',
      operation: 'init',
    });
    expect(record('deadline', NOW, 'x').phase).toBe('rollback');
  });

  it("say in actionResponse what was done, by the message's short type, and nothing for an intent", () => {
    const [before, exec] = send('2.1', NOW, 'gw-destination', message(MSG.lockAssert));
    expect(before).toMatchObject({ operation: 'init', actionResponse: '' });
    expect(exec).toMatchObject({ operation: 'exec', actionResponse: 'POST lock-assert-msg' });
    const ack = receive('2.2', NOW, 'gw-origin', message(MSG.assertionReceipt), 'a'.repeat(64));
    expect(ack).toMatchObject({ operation: 'ack', actionResponse: 'accepted assertion-receipt-msg' });
  });
});

describe('a gateway configuration', () => {
  it('fills the chain fields of recovery-04 §4 with its defaults (what an auditor reads), each overridable', () => {
    const base = { id: G1.id, publicJwk: G1.jwk, networkId: 'ledger-a', ledgerKey: G1.jwk, peers: {} };
    expect(gatewayConfig(base).chain).toEqual({
      resourceUrl: '',
      developerUrn: 'urn:satp-recovery',
      credentialProfile: 'X.509',
      credentialBlock: '',
      payloadProfile: 'satp-recovery/1',
      applicationProfile: 'satp-recovery',
      loggingProfile: 'private-centralized',
      accessControlProfile: 'author-only',
    });
    const chain = { ...gatewayConfig(base).chain, loggingProfile: 'public-blockchain' };
    expect(gatewayConfig({ ...base, chain }).chain.loggingProfile).toBe('public-blockchain');
  });
});

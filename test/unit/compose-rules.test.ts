// Composing decisions (kernel/satp/compose.ts): what the first part of a decision set up survives the rest.
import { describe, expect, it } from 'vitest';
import { andThen } from '../../kernel/satp/compose.ts';
import type { Decision } from '../../kernel/satp/effects.ts';
import type { SessionState } from '../../kernel/satp/state.ts';
import { chainContext } from '../support/fixtures.ts';

describe('andThen', () => {
  it("keeps the first decision's chain context, and both parts' steps and effects in order", () => {
    const s = { head: { seq: 0, hash: '0'.repeat(64) } } as unknown as SessionState;
    const context = chainContext('s-compose');
    const first = { steps: [], effects: [{ kind: 'report', report: { kind: 'note', detail: 'a' } }], context };
    const rest = { steps: [], effects: [{ kind: 'report', report: { kind: 'note', detail: 'b' } }] };
    const d = andThen(s, first as unknown as Decision, () => rest as unknown as Decision);
    expect(d.context).toBe(context);
    expect(d.effects).toEqual([...first.effects, ...rest.effects]);
    expect(andThen(s, rest as unknown as Decision, () => rest as unknown as Decision)).not.toHaveProperty('context');
  });
});

// recovery-04 §4/§7 accessControlProfile: the grammar of log-api/access.ts, and who it lets read and write.
// Pure.
import { describe, expect, it } from 'vitest';
import { AUTHOR_ONLY, mayRead, mayWrite, parseAccessProfile } from '../../log-api/access.ts';

const A = 'gw-author';

describe('accessControlProfile grammar', () => {
  it('author-only, the empty string and the draft\'s "GatewayOnly" all mean only the author', () => {
    for (const text of ['author-only', '', 'GatewayOnly']) {
      const p = parseAccessProfile(text)!;
      expect(p).toBe(AUTHOR_ONLY);
      expect(mayRead(p, A, A) && mayWrite(p, A, A)).toBe(true);
      expect(mayRead(p, A, 'gw-x') || mayWrite(p, A, 'gw-x')).toBe(false);
    }
  });

  it('gateways:<ids> lets the listed gateways read and nobody else write', () => {
    const p = parseAccessProfile('gateways:gw-b,gw-c')!;
    expect(['gw-b', 'gw-c', 'gw-d'].map((g) => mayRead(p, A, g))).toEqual([true, true, false]);
    expect(['gw-b', 'gw-c'].map((g) => mayWrite(p, A, g))).toEqual([false, false]);
  });

  it('public-read lets every gateway read; only the author writes', () => {
    const p = parseAccessProfile('public-read')!;
    expect(mayRead(p, A, 'gw-anyone')).toBe(true);
    expect(mayWrite(p, A, 'gw-anyone')).toBe(false);
  });

  it('backups:<ids> lets the backups read and write (recovery-04 §6), and clauses combine with ";"', () => {
    const p = parseAccessProfile('gateways:gw-peer;backups:gw-backup')!;
    expect([mayRead(p, A, 'gw-peer'), mayWrite(p, A, 'gw-peer')]).toEqual([true, false]);
    expect([mayRead(p, A, 'gw-backup'), mayWrite(p, A, 'gw-backup')]).toEqual([true, true]);
    expect(mayRead(p, A, 'gw-other')).toBe(false);
  });

  it('refuses what is outside the grammar, so access control never guesses', () => {
    for (const text of [
      'everyone',
      'gateways:',
      'gateways:gw-a,',
      'gateways:gw a',
      'gateways',
      'public-read:gw-a',
      'author-only;public-read',
      'public-read;public-read',
      'gateways:gw-a;gateways:gw-b',
      'backups:_bad',
      ' public-read',
      'public-read;',
    ]) {
      expect(parseAccessProfile(text), text).toBeUndefined();
    }
  });
});

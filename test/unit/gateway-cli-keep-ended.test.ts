// The gateway command line's --keep-ended (cli/gateway-cli.ts): how many ended sessions a gateway process keeps in
// memory, parsed to the number startGateway takes, and refused with the flag named when it is not a count.
import { describe, expect, it } from 'vitest';
import { parseGatewayArgs } from '../../cli/gateway-cli.ts';
import { gatewayArgsError } from '../support/gateway-cli-error.ts';
import { G1, G2 } from '../support/fixtures.ts';

const base = [
  ...['--id', 'gw-origin', '--db', '/nonexistent/db', '--keys', '/nonexistent/k.json'],
  ...['--ledger', 'http://127.0.0.1:1', '--ledger-key', JSON.stringify(G1.jwk)],
  '--peers',
  JSON.stringify({
    'gw-destination': { url: 'ws://127.0.0.1:2/satp/ws', publicJwk: G2.jwk, networkId: 'b', ledgerPublicJwk: G2.jwk },
  }),
];
const keepEnded = (args: string[]) => {
  const c = parseGatewayArgs(args);
  if (c === 'help') throw new Error('parsed as --help');
  return c.keepEnded;
};
const error = gatewayArgsError;

describe('satp-gateway --keep-ended', () => {
  it('parses to keepEnded, absent by default (the driver keeps 1024)', () => {
    expect(keepEnded([...base, '--keep-ended', '0'])).toBe(0);
    expect(keepEnded([...base, '--keep-ended', '50000'])).toBe(50_000);
    expect(keepEnded(base)).toBeUndefined();
  });

  it('refuses what is not a count, naming the flag', () => {
    for (const bad of ['-1', '1.5', 'many']) expect(error([...base, '--keep-ended', bad]), bad).toMatch(/--keep-ended/);
  });

  it('an empty or blank number flag is refused, not read as 0 (Number("") is 0)', () => {
    for (const bad of ['', ' ', '0x10', '1e3'])
      for (const flag of ['--keep-ended', '--connect-wait-ms', '--metrics-port'])
        expect(error([...base, flag, bad]), `${flag} ${JSON.stringify(bad)}`).toMatch(new RegExp(`bad ${flag}`));
  });
});

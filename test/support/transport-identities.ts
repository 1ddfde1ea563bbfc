// The gateways of the transport tests: deterministic keys (derived from the ids), shared by the Node-side
// harnesses and the Deno fixture process so both sides agree on who is trusted.
import { keyTable, type PublicJwk } from '../../kernel/crypto/types.ts';
import type { Identity } from '../../transports/conformance/suite.ts';
import { testGateway } from './fixtures.ts';

const identity = (id: string): Identity => {
  const g = testGateway(id);
  return { id: g.id, signer: g.signer };
};

export const TRANSPORT_IDS = {
  server: identity('gw-server'),
  a: identity('gw-client-a'),
  b: identity('gw-client-b'),
  c: identity('gw-client-c'),
  /** A well-formed key that nobody trusts. */
  stranger: identity('gw-stranger'),
};

/** What every gateway in these tests trusts: the server and its three clients, not the stranger. */
export const transportKeys = keyTable(
  (['server', 'a', 'b', 'c'] as const).map((k): [string, PublicJwk] => [
    TRANSPORT_IDS[k].id,
    TRANSPORT_IDS[k].signer.publicJwk,
  ]),
);

/** Errors a server under test reports; collected, not printed, because hostile-input cases cause them on purpose. */
export const quietErrors = (): { onError: (err: unknown) => void; errors: unknown[] } => {
  const errors: unknown[] = [];
  return { errors, onError: (err) => void errors.push(err) };
};

// Raw wire probes for the conformance suite: hand-made handshakes, frames and signed requests that a correct
// client would never send. `ws` is imported lazily (it runs on Node and in Deno's npm compat), only by ws cases.
import { fromUtf8, toBase64Url } from '../../kernel/encoding.ts';
import type { Signer } from '../../kernel/crypto/types.ts';
import { parseStrictJson } from '../../kernel/strict-json.ts';
import type { Json } from '../../kernel/json.ts';
import { signRequest } from '../../http/signed-request.ts';
import { MESSAGES_PATH } from '../http/client.ts';
import { challengeUrlOf, encodeProof, parseChallenge, proofSigningInput, WS_PROTOCOL } from '../ws/handshake.ts';

/** Text frames the strict parser refuses, each with a reason a naive JSON.parse would miss or mishandle. */
export const HOSTILE_JSON: readonly [string, string][] = [
  ['text that is not JSON', 'hello, not json'],
  ['duplicate keys', '{"nonce":"x","amount":1,"amount":2}'],
  ['a __proto__ key', '{"__proto__":{"polluted":true}}'],
  ['a number beyond 2^53', '{"amount":9007199254740993}'],
  ['nesting deeper than the limit', `${'['.repeat(100)}${']'.repeat(100)}`],
  // JSON.parse reads this; the parser then wrote it back with JSON.stringify, which overflowed the stack and threw.
  ['nesting 100,000 deep', `${'['.repeat(100_000)}${']'.repeat(100_000)}`],
  ['a lone surrogate', '{"s":"\\ud800"}'],
  ['trailing text after the value', '{} {}'],
];

export interface Identity {
  id: string;
  signer: Signer;
}

type WsModule = typeof import('ws');
type RawWs = InstanceType<WsModule['WebSocket']>;

/** Fetches a challenge for `clientId` and signs a proof claiming `claimedId`, with `signer`'s key. */
export async function craftProtocols(
  wsUrl: string,
  serverId: string,
  clientId: string,
  claimedId: string,
  signer: Signer,
  now = Date.now(),
  trust: { ca?: string } = {},
): Promise<string[]> {
  // Over TLS with a root of its own, the challenge comes through node:https (global fetch takes no roots).
  const get = trust.ca ? (await import('../../http/https-fetch.ts')).httpsFetch({ ca: trust.ca }) : fetch;
  const res = await get(challengeUrlOf(wsUrl, clientId));
  if (!res.ok) throw new Error(`challenge request answered ${res.status}`);
  const parsed = parseStrictJson(await res.text());
  const ch = parsed.ok ? parseChallenge(parsed.value) : undefined;
  if (!ch) throw new Error('malformed challenge');
  const body = { challenge: ch.challenge, clientId: claimedId, serverId, timestamp: now };
  return [WS_PROTOCOL, encodeProof({ ...body, signature: toBase64Url(await signer.sign(proofSigningInput(body))) })];
}

export type RawOutcome = { refused: number } | { socket: RawSocket };

/** One raw socket: frames in arrive on a queue; `closed` settles with the close code. */
export interface RawSocket {
  ws: RawWs;
  next(timeoutMs: number): Promise<Json>;
  closed: Promise<number>;
}

/** Opens a raw `ws` socket with the given subprotocols; a refused upgrade gives its HTTP status instead. */
export async function rawUpgrade(
  url: string,
  protocols: string[],
  options: { autoPong?: boolean; ca?: string } = {},
): Promise<RawOutcome> {
  const { WebSocket } = (await import('ws')) as WsModule;
  const ws = new WebSocket(url, protocols, {
    autoPong: options.autoPong ?? true,
    perMessageDeflate: false,
    ...(options.ca ? { ca: options.ca } : {}),
  });
  const inbox: Json[] = [];
  const waiters: ((m: Json) => void)[] = [];
  const closed = new Promise<number>((resolve) => ws.on('close', (code: number) => resolve(code)));
  ws.on('error', () => {}); // the close event carries what the suite checks
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    const parsed = isBinary ? undefined : parseStrictJson(data.toString('utf8'));
    const m: Json = parsed?.ok ? parsed.value : { unparsed: true };
    const w = waiters.shift();
    if (w) w(m);
    else inbox.push(m);
  });
  return new Promise<RawOutcome>((resolve) => {
    ws.on('unexpected-response', (req, res) => {
      resolve({ refused: res.statusCode ?? 0 });
      res.resume();
      req.destroy();
    });
    ws.on('open', () =>
      resolve({
        socket: {
          ws,
          closed,
          next: (timeoutMs) =>
            inbox.length > 0
              ? Promise.resolve(inbox.shift()!)
              : new Promise<Json>((res, rej) => {
                  const timer = setTimeout(() => rej(new Error(`no frame within ${timeoutMs} ms`)), timeoutMs);
                  waiters.push((m) => {
                    clearTimeout(timer);
                    res(m);
                  });
                }),
        },
      }),
    );
    void closed.then(() => resolve({ refused: 0 })); // closed with no HTTP answer at all: 0
  });
}

/** Sends raw bytes as one text frame (`ws` sends them unchecked, which is the point). */
export const sendTextBytes = (s: RawSocket, bytes: Uint8Array): void => s.ws.send(bytes, { binary: false });

/** A signed POST of raw bytes to a gateway app, as `as` (signed with `signer`, default its own key). */
export async function signedPost(
  baseUrl: string,
  to: string,
  as: Identity,
  body: Uint8Array,
  signer: Signer = as.signer,
): Promise<{ status: number; body: Json | undefined; contentType: string; replay: () => Promise<number> }> {
  const url = `${baseUrl.replace(/\/$/, '')}${MESSAGES_PATH}?to=${encodeURIComponent(to)}`;
  const init = {
    method: 'POST',
    body: body as Uint8Array<ArrayBuffer>,
    headers: {
      'content-type': 'application/json',
      authorization: await signRequest(signer, as.id, { method: 'POST', url, body }, Date.now()),
    },
  };
  const res = await fetch(url, init);
  const text = new Uint8Array(await res.arrayBuffer());
  let parsed: Json | undefined;
  try {
    const p = parseStrictJson(fromUtf8(text));
    parsed = p.ok ? p.value : undefined;
  } catch {
    parsed = undefined;
  }
  return {
    status: res.status,
    body: parsed,
    contentType: res.headers.get('content-type') ?? '',
    replay: async () => {
      const again = await fetch(url, init);
      await again.arrayBuffer();
      return again.status;
    },
  };
}

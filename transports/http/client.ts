// The HTTP transport: send is a signed POST to the peer's gateway app; inbound messages arrive through this
// gateway's own app (gateway-app.ts), which hands them to receive(). fetch-based, so it runs everywhere.
import { SatpError } from '../../kernel/errors.ts';
import type { Json } from '../../kernel/json.ts';
import type { KeyResolver, Signer, Verifier } from '../../kernel/crypto/types.ts';
import { defaultVerifier } from '../../kernel/crypto/verifier.ts';
import { Handlers, type InboundContext, inboundContext } from '../inbound.ts';
import { closedError, encodeMessage, unavailable } from '../outbound.ts';
import type { InboundOptions, MessageHandler, PeerHandler, Transport, TransportCapabilities } from '../types.ts';
import { signRequest } from '../../http/signed-request.ts';
import { isProblem, type ProblemDetails } from '../../http/problem.ts';
import { fromUtf8, utf8 } from '../../kernel/encoding.ts';
import { parseStrictJson } from '../../kernel/strict-json.ts';
import { requestSignatureOf, REPLY_SIGNATURE_HEADER, verifyReply } from './reply-signature.ts';

/** Where the gateway app takes messages; `to` names the receiver, so a signed request is good at one gateway only. */
export const MESSAGES_PATH = '/satp/messages';

export interface HttpTransportOptions extends InboundOptions {
  self: string;
  signer: Signer;
  /** Keys of the peers: requests from them are checked against these, and their replies too. */
  keys: KeyResolver;
  verifier?: Verifier;
  /** Base URL of each peer's gateway app (e.g. https://gw-b.example); a function may compute it. */
  peers: Record<string, string> | ((peer: string) => string | undefined);
  fetch?: typeof fetch;
  /** Bound on one send, reply included (default 10 s). */
  timeoutMs?: number;
}

/** Replies are a receipt or a problem: small. A longer one is not read to its end. */
const MAX_REPLY_BYTES = 64 * 1024;

const CAPABILITIES: TransportCapabilities = Object.freeze({ connections: false, refusals: 'reject' });

export class HttpTransport implements Transport {
  readonly self: string;
  readonly capabilities = CAPABILITIES;
  readonly signer: Signer;
  readonly keys: KeyResolver;
  readonly verifier: Verifier;
  readonly ctx: InboundContext;
  readonly #handlers: Handlers;
  readonly #o: HttpTransportOptions;
  readonly #inFlight = new Set<AbortController>();
  #closed = false;

  constructor(options: HttpTransportOptions) {
    this.self = options.self;
    this.signer = options.signer;
    this.keys = options.keys;
    this.verifier = options.verifier ?? defaultVerifier();
    this.ctx = inboundContext(options);
    this.#handlers = new Handlers(this.ctx.onError);
    this.#o = options;
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  async send(to: string, message: Json): Promise<void> {
    if (this.#closed) throw closedError(this.self);
    const body = utf8(encodeMessage(message, this.ctx.maxMessageBytes, this.ctx.jsonLimits));
    const base = this.#addressOf(to);
    if (!base) throw unavailable(to, 'no address is configured for it');
    const url = `${base.replace(/\/$/, '')}${MESSAGES_PATH}?to=${encodeURIComponent(to)}`;
    // Registered before the first await, so a close() at any point aborts this send.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.#o.timeoutMs ?? 10_000);
    this.#inFlight.add(abort);
    try {
      const authorization = await signRequest(this.signer, this.self, { method: 'POST', url, body }, this.ctx.clock());
      let res: Response;
      try {
        if (abort.signal.aborted) throw new DOMException('aborted before the request', 'AbortError');
        res = await (this.#o.fetch ?? fetch)(url, {
          method: 'POST',
          body: body as Uint8Array<ArrayBuffer>,
          headers: { 'content-type': 'application/json', authorization },
          signal: abort.signal,
        });
      } catch (cause) {
        throw unavailable(
          to,
          this.#closed ? 'the transport closed' : abort.signal.aborted ? 'timed out' : 'unreachable',
          cause,
        );
      }
      const replyBody = await readBounded(res, MAX_REPLY_BYTES);
      if (!replyBody) throw unavailable(to, `the reply was unreadable or over ${MAX_REPLY_BYTES} bytes`);
      const check = await verifyReply(
        res.headers.get(REPLY_SIGNATURE_HEADER),
        to,
        res.status,
        requestSignatureOf(authorization),
        replyBody,
        this.keys,
        this.verifier,
      );
      if (!check.ok)
        throw new SatpError('BAD_SIGNATURE', `reply from ${to} (${res.status}): ${check.detail}`, {
          detail: { peer: to, status: res.status },
        });
      if (res.ok) return;
      const problem = problemOf(replyBody);
      const retryable = res.status === 408 || res.status === 429 || res.status >= 500;
      const why = `${res.status}${problem?.detail ? `: ${problem.detail}` : ''}`;
      if (retryable)
        throw new SatpError('PEER_UNAVAILABLE', `peer ${to} is unavailable: ${why}`, {
          detail: { peer: to, status: res.status, problem },
        });
      throw new SatpError('PEER_REFUSED', `peer ${to} refused the message: ${why}`, {
        detail: { peer: to, status: res.status, problem },
      });
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(abort);
    }
  }

  /** @internal The gateway app's way in: a message whose sender it authenticated and which passed the choke point. */
  receive(from: string, message: Json): void {
    if (!this.#closed) this.#handlers.message(from, message);
  }

  onMessage(handler: MessageHandler): () => void {
    return this.#handlers.onMessage(handler);
  }

  /** HTTP has no connections: the handler is kept but never called (capabilities.connections is false). */
  onPeer(handler: PeerHandler): () => void {
    return this.#handlers.onPeer(handler);
  }

  /** The peers with a configured address (a function-valued directory lists none). */
  peers(): string[] {
    return typeof this.#o.peers === 'function' ? [] : Object.keys(this.#o.peers);
  }

  /** Aborts sends in flight (they reject PEER_UNAVAILABLE); the app answers 503 from now on. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const a of this.#inFlight) a.abort();
    this.#handlers.clear();
  }

  #addressOf(peer: string): string | undefined {
    const p = this.#o.peers;
    return typeof p === 'function' ? p(peer) : Object.hasOwn(p, peer) ? p[peer] : undefined;
  }
}

/** The body's bytes, or undefined past `max` or on a read error; stops reading at the bound. */
async function readBounded(res: Response, max: number): Promise<Uint8Array | undefined> {
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.length;
      if (size > max) {
        await reader.cancel();
        return undefined;
      }
      chunks.push(value);
    }
  } catch {
    return undefined;
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function problemOf(body: Uint8Array): ProblemDetails | undefined {
  try {
    const parsed = parseStrictJson(fromUtf8(body));
    return parsed.ok && isProblem(parsed.value) ? parsed.value : undefined;
  } catch {
    return undefined;
  }
}

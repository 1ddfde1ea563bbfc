// The inbound choke point every driver shares: size, UTF-8, strict JSON, then the plugged-in validator.
// It never throws on hostile input: it answers with what to deliver, what error-msg to send back, or a close code.
import { encodeInto, fromUtf8, utf8 } from '../kernel/encoding.ts';
import { sha256Hex } from '../kernel/hash.ts';
import type { Json, JsonLimits } from '../kernel/json.ts';
import { parseStrictJson } from '../kernel/strict-json.ts';
import { errorMessage, isErrorMessage, PROBLEM_TYPES, refusalMessage } from './error-msg.ts';
import {
  CLOSE,
  type InboundOptions,
  type InboundValidator,
  MAX_MESSAGE_BYTES,
  MESSAGE_JSON_LIMITS,
  type MessageHandler,
  type PeerHandler,
  type TransportErrorHandler,
} from './types.ts';

export interface InboundContext {
  validate?: InboundValidator;
  onError: TransportErrorHandler;
  maxMessageBytes: number;
  jsonLimits: JsonLimits;
  clock: () => number;
}

export const defaultOnError: TransportErrorHandler = (error, context) => {
  console.error(`transport: ${context.what}${context.peer ? ` (peer ${context.peer})` : ''}:`, error);
};

export function inboundContext(options: InboundOptions = {}): InboundContext {
  const maxMessageBytes = options.maxMessageBytes ?? MAX_MESSAGE_BYTES;
  if (!Number.isSafeInteger(maxMessageBytes) || maxMessageBytes < 1)
    throw new RangeError('maxMessageBytes must be a positive integer');
  return {
    validate: options.validate,
    onError: options.onError ?? defaultOnError,
    maxMessageBytes,
    jsonLimits: options.jsonLimits ?? MESSAGE_JSON_LIMITS,
    clock: options.clock ?? Date.now,
  };
}

/**
 * What to do with one inbound message. A refusal carries the HTTP status, the error-msg to answer
 * with (null when the refused message was itself an error-msg: never answer one with another), and
 * for WebSocket the close code when the connection must end (too big, not UTF-8).
 */
export type Admission =
  | { ok: true; message: Json }
  | { ok: false; status: number; reply: { [key: string]: Json } | null; close?: number; detail: string };

/** Where utf8Length has the text encoded, a window at a time; made on first use. */
let scratch: Uint8Array | undefined;
const WINDOW_BYTES = 64 * 1024;

/**
 * The UTF-8 byte length of `text`, as TextEncoder writes it (a lone surrogate as U+FFFD, 3 bytes). Counted by encoding
 * the text into one reused 64 KiB buffer, a window at a time: TextEncoder's native loop counts a recovery page's
 * envelope (900 KB, ASCII) in about a tenth of the time the regular expression that looked for its first non-ASCII
 * character took (BENCHMARKS.md). The encoder never splits a surrogate pair across two windows.
 */
export function utf8Length(text: string): number {
  scratch ??= new Uint8Array(WINDOW_BYTES);
  let n = 0;
  for (let at = 0; at < text.length; ) {
    const { read, written } = encodeInto(at === 0 ? text : text.slice(at), scratch);
    n += written;
    at += read;
  }
  return n;
}

const refuse = (
  ctx: InboundContext,
  status: number,
  type: string,
  detail: string,
  hash?: string,
  close?: number,
): Admission => ({
  ok: false,
  status,
  detail,
  close,
  reply: errorMessage({ status, type, detail, hashPrevMessage: hash, timestamp: ctx.clock() }),
});

/** Bytes as they came off the wire: a frame payload or an HTTP body. */
export async function admitBytes(from: string, bytes: Uint8Array, ctx: InboundContext): Promise<Admission> {
  if (bytes.length > ctx.maxMessageBytes) {
    return refuse(
      ctx,
      413,
      PROBLEM_TYPES.tooLarge,
      `message is larger than ${ctx.maxMessageBytes} bytes`,
      undefined,
      CLOSE.tooBig,
    );
  }
  let text: string;
  try {
    text = fromUtf8(bytes);
  } catch {
    return refuse(
      ctx,
      400,
      PROBLEM_TYPES.badEncoding,
      'message is not valid UTF-8',
      sha256Hex(bytes),
      CLOSE.invalidPayload,
    );
  }
  return admitChecked(from, text, bytes, ctx);
}

/**
 * Text the runtime already decoded (a WebSocket text frame, which the runtime checked is UTF-8). `utf8Bytes`: its
 * length in UTF-8 when the runtime knows it (it decoded the text from those bytes); else it is counted here.
 */
export async function admitText(
  from: string,
  text: string,
  ctx: InboundContext,
  utf8Bytes?: number,
): Promise<Admission> {
  // UTF-16 length ≤ UTF-8 length ≤ 3 × UTF-16 length, so the exact count is needed only near the bound.
  if (
    utf8Bytes !== undefined
      ? utf8Bytes > ctx.maxMessageBytes
      : text.length > ctx.maxMessageBytes ||
        (text.length * 3 > ctx.maxMessageBytes && utf8Length(text) > ctx.maxMessageBytes)
  ) {
    return refuse(
      ctx,
      413,
      PROBLEM_TYPES.tooLarge,
      `message is larger than ${ctx.maxMessageBytes} bytes`,
      undefined,
      CLOSE.tooBig,
    );
  }
  return admitChecked(from, text, undefined, ctx);
}

async function admitChecked(
  from: string,
  text: string,
  bytes: Uint8Array | undefined,
  ctx: InboundContext,
): Promise<Admission> {
  const hash = () => sha256Hex(bytes ?? utf8(text));
  const parsed = parseStrictJson(text, ctx.jsonLimits);
  if (!parsed.ok)
    return refuse(
      ctx,
      400,
      PROBLEM_TYPES.badlyFormed,
      `not acceptable JSON: ${parsed.problem} at ${parsed.at}`,
      hash(),
    );
  return admitParsed(from, parsed.value, hash, ctx);
}

/** A message that is already a JSON value (the memory network): only the validator remains. */
export async function admitParsed(
  from: string,
  message: Json,
  hash: () => string,
  ctx: InboundContext,
): Promise<Admission> {
  if (!ctx.validate) return { ok: true, message };
  let verdict: Awaited<ReturnType<NonNullable<typeof ctx.validate>>>;
  try {
    verdict = await ctx.validate(from, message);
  } catch (err) {
    // A validator that throws is a bug on our side, not the peer's; refuse the message, report the bug.
    ctx.onError(err, { peer: from, what: 'validator threw' });
    verdict = { ok: false as const, status: 422, detail: 'the message could not be validated' };
  }
  if (verdict.ok) return { ok: true, message };
  const status = verdict.status ?? 422;
  return {
    ok: false,
    status,
    detail: verdict.detail,
    reply: isErrorMessage(message) ? null : refusalMessage(verdict, message, hash(), ctx.clock()),
  };
}

/** The handler sets of one transport. A throwing handler is reported and never stops the others. */
export class Handlers {
  readonly #messages = new Set<MessageHandler>();
  readonly #peers = new Set<PeerHandler>();
  readonly #onError: TransportErrorHandler;

  constructor(onError: TransportErrorHandler) {
    this.#onError = onError;
  }

  onMessage(handler: MessageHandler): () => void {
    // Wrapped, so registering the same function twice gives two registrations and two removals.
    const h: MessageHandler = (from, message) => handler(from, message);
    this.#messages.add(h);
    return () => void this.#messages.delete(h);
  }

  onPeer(handler: PeerHandler): () => void {
    const h: PeerHandler = (peer, up) => handler(peer, up);
    this.#peers.add(h);
    return () => void this.#peers.delete(h);
  }

  message(from: string, message: Json): void {
    for (const h of [...this.#messages]) {
      try {
        h(from, message);
      } catch (err) {
        this.#onError(err, { peer: from, what: 'message handler threw' });
      }
    }
  }

  peer(peer: string, up: boolean): void {
    for (const h of [...this.#peers]) {
      try {
        h(peer, up);
      } catch (err) {
        this.#onError(err, { peer, what: 'peer handler threw' });
      }
    }
  }

  clear(): void {
    this.#messages.clear();
    this.#peers.clear();
  }
}

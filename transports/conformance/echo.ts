// The gateway under test in the conformance suite: an echo server with a few test commands, the same in every
// runtime (in-process, or in a Deno fixture process), so the suite observes it only through the wire.
import { isSatpError } from '../../kernel/errors.ts';
import type { Json } from '../../kernel/json.ts';
import { isErrorMessage } from '../error-msg.ts';
import type { InboundValidator, Transport } from '../types.ts';

export const ECHO_TYPE = 'urn:satp-recovery:test:echo';
export const COMMAND_TYPE = 'urn:satp-recovery:test:command';
export const COMMAND_RESULT_TYPE = 'urn:satp-recovery:test:command-result';
/** Messages up to this size are echoed whole; larger ones as {nonce, bytes}. */
export const ECHO_WHOLE_BYTES = 512 * 1024;
/** A message carrying this member is refused by conformanceValidator, as the codec would refuse a bad signature. */
export const REFUSE_MARK = 'refuseMe';

/** The validator the gateway under test runs: refuses marked messages with 422 and SATP's bad-signature type. */
export const conformanceValidator: InboundValidator = (_from, message) =>
  message !== null && typeof message === 'object' && !Array.isArray(message) && message[REFUSE_MARK] === true
    ? {
        ok: false,
        status: 422,
        type: 'urn:ietf:params:satp:core:error:err_0.1.3',
        detail: 'refused by the conformance validator',
      }
    : { ok: true };

/**
 * Commands the suite sends to see the server's side of things:
 * - `send-to {peer, message}`: the server sends `message` to `peer`; the result is "ok" or the SatpError code.
 * - `await-down {peer, timeoutMs}`: resolves "down" once the server has no connection to `peer`, else "timeout".
 */
type Command =
  | { id: string; command: 'send-to'; peer: string; message: Json }
  | { id: string; command: 'await-down'; peer: string; timeoutMs: number };

function asCommand(m: Json): Command | undefined {
  if (m === null || typeof m !== 'object' || Array.isArray(m) || m.messageType !== COMMAND_TYPE) return undefined;
  if (typeof m.id !== 'string' || typeof m.peer !== 'string') return undefined;
  if (m.command === 'send-to' && m.message !== undefined) return m as unknown as Command;
  if (m.command === 'await-down' && typeof m.timeoutMs === 'number' && m.timeoutMs <= 30_000)
    return m as unknown as Command;
  return undefined;
}

/** Makes `t` echo every message m from p back to p as {messageType: ECHO_TYPE, from: p, message: m}. */
export function serveEcho(t: Transport, onError: (err: unknown) => void = () => {}): () => void {
  const offMessage = t.onMessage((from, message) => {
    const command = asCommand(message);
    if (command) {
      void run(t, command).then((result) =>
        t.send(from, { messageType: COMMAND_RESULT_TYPE, id: command.id, result }).catch(onError),
      );
      return;
    }
    if (isErrorMessage(message)) return; // never answer an error-msg
    // A message near the size limit would not fit back inside an echo: echo its nonce and size instead.
    const bytes = new TextEncoder().encode(JSON.stringify(message)).length;
    const body =
      bytes <= ECHO_WHOLE_BYTES ? message : { nonce: (message as Record<string, Json>).nonce ?? null, bytes };
    t.send(from, { messageType: ECHO_TYPE, from, message: body }).catch(onError);
  });
  return offMessage;
}

async function run(t: Transport, c: Command): Promise<string> {
  if (c.command === 'send-to') {
    try {
      await t.send(c.peer, c.message);
      return 'ok';
    } catch (err) {
      return isSatpError(err) ? err.code : `error: ${String(err)}`;
    }
  }
  if (!t.peers().includes(c.peer)) return 'down';
  return new Promise<string>((resolve) => {
    const timer = setTimeout(() => finish('timeout'), c.timeoutMs);
    const off = t.onPeer((peer, up) => {
      if (peer === c.peer && !up) finish('down');
    });
    function finish(result: string) {
      clearTimeout(timer);
      off();
      resolve(result);
    }
  });
}

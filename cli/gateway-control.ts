// The gateway process's control surface: JSON commands, one per stdin line, each answered by one event line.
//
//   {"cmd":"transfer","sessionId":"s1","assetId":"asset-1","originator":"alice","beneficiary":"bob","lockSeconds":60}
//       → {"event":"reply","cmd":"transfer","sessionId":"s1","started":true,"accepted":true}
//   {"cmd":"abort","sessionId":"s1","reason":"operator"}    → {"event":"reply","cmd":"abort",...}
//   {"cmd":"status"}                        → {"event":"status","open":[...],"disputed":[...],"acting":[...]}
//   {"cmd":"peer-url","peer":"gw-b","url":"ws://…"}        → {"event":"reply","cmd":"peer-url","ok":true}
//   {"cmd":"shutdown"}                                     → closes everything, exits 0 (as stdin's end does)
// An optional "id" in a command is echoed in its answer. Bad commands get {"event":"reply","ok":false,...}.
// A process may act for several gateways (its own and those it took over, docs/high-availability.md): status
// covers them all; transfer and abort go to its own, and are refused while it only stands by for it.
import { logIdOf } from '../kernel/entry.ts';
import type { Gateway } from '../kernel/driver.ts';
import type { TransferRequest } from '../kernel/satp/payloads.ts';
import type { LogStore } from '../storage/log-store.ts';
import type { Emit } from './gateway-events.ts';
import { outcomeOf } from '../kernel/satp/state.ts';

export interface ControlContext {
  /** The gateway of this process's own id with its store, while it acts for it. */
  own(): { gateway: Gateway; store: LogStore } | undefined;
  /** Every gateway this process acts for now. */
  acting(): Gateway[];
  /** This process's own gateway id. */
  self: string;
  emit: Emit;
  /** Peer id → WebSocket URL, read by the dialer on every dial. */
  urls: Record<string, string>;
  peers: string[];
  shutdown(): Promise<never>;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v.length > 0 ? v : undefined);

export async function handleCommand(line: string, ctx: ControlContext): Promise<void> {
  let c: Record<string, unknown>;
  try {
    c = JSON.parse(line) as Record<string, unknown>;
    if (c === null || typeof c !== 'object' || Array.isArray(c)) throw new TypeError('not an object');
  } catch (err) {
    ctx.emit('reply', { ok: false, error: `not a JSON command: ${String(err)}` });
    return;
  }
  const id = typeof c.id === 'string' || typeof c.id === 'number' ? c.id : undefined;
  const reply = (fields: Record<string, unknown>) =>
    ctx.emit('reply', { cmd: String(c.cmd), id, ...(fields as Record<string, never>) });
  const own = ctx.own();
  try {
    switch (c.cmd) {
      case 'transfer': {
        if (!own) return reply({ ok: false, error: `standing by: this process does not act for ${ctx.self} now` });
        const sessionId = str(c.sessionId);
        const peer = str(c.peer) ?? (ctx.peers.length === 1 ? ctx.peers[0] : undefined);
        const [assetId, originator, beneficiary] = [str(c.assetId), str(c.originator), str(c.beneficiary)];
        if (!sessionId || !peer || !assetId || !originator || !beneficiary) {
          return reply({
            ok: false,
            error: 'transfer needs sessionId, assetId, originator, beneficiary (and peer when there are several)',
          });
        }
        const request: TransferRequest = {
          sessionId,
          contextId: str(c.contextId) ?? `ctx-${sessionId}`,
          peer,
          assetId,
          assetProfileId: str(c.assetProfileId) ?? 'satp-recovery-demo-asset',
          originator,
          beneficiary,
          lockSeconds: typeof c.lockSeconds === 'number' ? c.lockSeconds : 60,
        };
        const result = await own.gateway.startTransfer(request);
        // Started = the session's chain exists now, whether from this command or an earlier one
        // (a repeated command is ignored by the kernel: the session exists).
        const started = (await own.store.getLogLength(logIdOf(sessionId, own.gateway.id))) > 0;
        return reply({ ok: true, sessionId, started, ...result });
      }
      case 'abort': {
        const sessionId = str(c.sessionId);
        if (!sessionId) return reply({ ok: false, error: 'abort needs sessionId' });
        if (!own) return reply({ ok: false, error: `standing by: this process does not act for ${ctx.self} now` });
        return reply({
          ok: true,
          sessionId,
          ...(await own.gateway.abort(sessionId, str(c.reason) ?? 'operator abort')),
        });
      }
      case 'status': {
        const acting = ctx.acting();
        const sessions = acting.flatMap((g) => g.sessions());
        ctx.emit('status', {
          id,
          acting: acting.map((g) => g.id),
          open: sessions.filter((s) => !outcomeOf(s)).map((s) => s.sessionId),
          disputed: sessions.filter((s) => s.status.kind === 'disputed').map((s) => s.sessionId),
          ended: sessions.filter((s) => outcomeOf(s)).length,
        });
        return;
      }
      case 'peer-url': {
        const peer = str(c.peer);
        const url = str(c.url);
        if (!peer || !url || !ctx.peers.includes(peer) || !/^wss?:\/\//.test(url))
          return reply({ ok: false, error: 'peer-url needs a known peer and a ws:// URL' });
        ctx.urls[peer] = url;
        return reply({ ok: true, peer });
      }
      case 'shutdown':
        await ctx.shutdown();
        return;
      default:
        return reply({ ok: false, error: `unknown command ${JSON.stringify(c.cmd)}` });
    }
  } catch (err) {
    reply({ ok: false, error: String(err) });
  }
}

// Two gateway processes, origin and destination, wired to each other over WebSocket on loopback, each on its own
// LevelDB and key file, given the URLs of their ledger servers: started, SIGKILLed and restarted on the same
// db, keys and port (recovery-04 §5.1, self-healing: same identity, same address). The demo and the tests use it.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { PublicJwk } from '../kernel/crypto/types.ts';
import { type Exit, type GatewayEvent, GatewayChild, type Wrap } from './gateway-child.ts';
import { publicKeyOf } from '../gateway/keys.ts';

export type Role = 'origin' | 'destination';
export const GATEWAY_IDS: Record<Role, string> = { origin: 'gw-origin', destination: 'gw-destination' };
export const LEDGER_IDS: Record<Role, string> = { origin: 'ledger-a', destination: 'ledger-b' };

export interface Member {
  role: Role;
  id: string;
  db: string;
  keys: string;
  publicJwk: PublicJwk;
  /** The port it first bound (OS-chosen); every restart binds it again, so the peer's address stays right. */
  port: number;
  url: string;
  child?: GatewayChild;
  /** Booted: boot() replayed its unfinished sessions and commands are served. */
  up: boolean;
  lives: number;
  /** Every event of every life, in order (plus a `killed` record for each SIGKILL sent from here). */
  history: GatewayEvent[];
}

export interface PairOptions {
  /** Where the gateways' LevelDBs and key files live. */
  dir: string;
  runtime: 'node' | 'deno';
  /**
   * The ledgers, the origin's (ledger-a) and the destination's (ledger-b). A ledger server: its URL, and the key its
   * receipts verify under. An EVM chain: its evm+http:// URL (ledgers/evm/spec.ts) and the file holding the
   * gateway's account key; its receipts are checked on the chain.
   */
  ledgers: Record<Role, PairLedger>;
  /** Extra flags for every start (timings). */
  flags: string[];
  /** Node only: a pre-built bundle of cli/gateway.ts to run instead of the source under tsx. */
  bundle?: string;
  /** Runs a member's command under another program (e.g. strace), at every start; `m.lives` counts this one. */
  wrap?: (m: Member, command: [string, string[]]) => [string, string[]];
  onEvent?: (m: Member, e: GatewayEvent) => void;
}

export type PairLedger = { url: string; publicJwk: PublicJwk } | { url: string; evmKeyFile: string };

export class GatewayPair {
  readonly members: Record<Role, Member>;
  readonly #o: PairOptions;

  private constructor(o: PairOptions, members: Record<Role, Member>) {
    this.#o = o;
    this.members = members;
  }

  /** Creates both identities (key files) and starts both gateways; every process is killed if that fails. */
  static async start(o: PairOptions, first: Partial<Record<Role, string[]>> = {}): Promise<GatewayPair> {
    mkdirSync(o.dir, { recursive: true });
    const members = {} as Record<Role, Member>;
    for (const role of ['origin', 'destination'] as const) {
      const id = GATEWAY_IDS[role];
      const keys = join(o.dir, `${id}.key.json`);
      members[role] = {
        role,
        id,
        db: join(o.dir, id),
        keys,
        publicJwk: await publicKeyOf(keys),
        port: 0,
        url: '',
        up: false,
        lives: 0,
        history: [],
      };
    }
    const pair = new GatewayPair(o, members);
    try {
      // The destination first, with a placeholder for the origin's address; then the origin, which knows
      // the destination's; then the destination learns the origin's (the peer-url command).
      await pair.launch('destination', { extra: first.destination });
      await pair.launch('origin', { extra: first.origin });
      const told = await members.destination.child!.request({
        cmd: 'peer-url',
        peer: members.origin.id,
        url: members.origin.url,
      });
      if (told.ok !== true) throw new Error(`peer-url refused: ${JSON.stringify(told)}`);
      return pair;
    } catch (err) {
      await pair.destroy();
      throw err;
    }
  }

  peerOf(role: Role): Role {
    return role === 'origin' ? 'destination' : 'origin';
  }

  #args(role: Role, extra: string[]): string[] {
    const m = this.members[role];
    const peer = this.members[this.peerOf(role)];
    const peerLedger = this.#o.ledgers[peer.role];
    const peers = {
      [peer.id]: {
        url: peer.url || 'ws://127.0.0.1:9/satp/ws',
        publicJwk: peer.publicJwk,
        networkId: LEDGER_IDS[peer.role],
        ...('publicJwk' in peerLedger ? { ledgerPublicJwk: peerLedger.publicJwk } : { ledgerChain: peerLedger.url }),
      },
    };
    const own = this.#o.ledgers[role];
    const args = [
      '--id',
      m.id,
      '--port',
      String(m.port),
      '--db',
      m.db,
      '--keys',
      m.keys,
      '--ledger',
      own.url,
      ...('publicJwk' in own ? ['--ledger-key', JSON.stringify(own.publicJwk)] : ['--evm-key', own.evmKeyFile]),
      '--peers',
      JSON.stringify(peers),
      ...this.#o.flags,
      ...extra,
    ];
    // The destination asks the origin ledger past its deadline (was the burn made, or can it never be?).
    if (role === 'destination') args.push('--peer-ledger', `${peer.id}=${this.#o.ledgers.origin.url}`);
    return args;
  }

  /**
   * Starts (or restarts) a gateway on its db, keys and port; resolves once it has booted, or with
   * `boot: false` once it is listening (boot may still be replaying, and a kill may land in it).
   */
  async launch(role: Role, options: { boot?: boolean; extra?: string[] } = {}): Promise<GatewayChild> {
    const m = this.members[role];
    if (m.child?.alive) throw new Error(`${m.id} is still running`);
    m.lives++;
    const wrap = this.#o.wrap;
    const child = await GatewayChild.start(this.#o.runtime, this.#args(role, options.extra ?? []), {
      ...(this.#o.bundle && { bundle: this.#o.bundle }),
      ...(wrap && { wrap: ((command) => wrap(m, command)) satisfies Wrap }),
      onEvent: (e) => {
        m.history.push(e);
        if (e.event === 'booted') m.up = true;
        this.#o.onEvent?.(m, e);
      },
    });
    m.child = child;
    if (m.port === 0) m.port = Number(new URL(child.url).port);
    m.url = child.url;
    void child.exited.then(() => (m.up = false));
    if (options.boot !== false) await child.waitFor((e) => e.event === 'booted', 60_000, `${m.id} boot`);
    return child;
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(role: Role): Promise<Exit> {
    const m = this.members[role];
    m.up = false;
    const t = Date.now();
    const x = await m.child!.kill('SIGKILL');
    m.history.push({ event: 'killed', gw: m.id, t, signal: 'SIGKILL' });
    if (x.signal !== 'SIGKILL')
      throw new Error(`${m.id} exited (${x.code ?? x.signal}) before the kill: ${m.child!.stderr}`);
    return x;
  }

  /** Graceful stop of both gateways (stdin's end): each closes its transports and LevelDB, then exits 0. */
  stop(): Promise<(Exit & { graceful: boolean })[]> {
    return Promise.all(
      Object.values(this.members).map((m) =>
        m.child?.alive ? m.child.stop() : Promise.resolve({ code: 0, signal: null, graceful: true }),
      ),
    );
  }

  /** Every gateway process still running is killed; safe to call twice. */
  async destroy(): Promise<void> {
    await Promise.allSettled(
      Object.values(this.members).map((m) => (m.child?.alive ? m.child.kill('SIGKILL') : undefined)),
    );
  }
}

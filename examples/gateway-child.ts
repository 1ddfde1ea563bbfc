// Runs a gateway process (cli/gateway.ts on Node, gateway.deno.ts on Deno) as a child: reads its JSON event
// lines, writes commands to its stdin, waits for events with deadlines (never sleeps), kills it. Used by the
// demo and the real-process tests.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
const here = 'Deno' in globalThis ? 'deno' : 'node';

/** One event line of a gateway process (see gateway-events.ts). */
export interface GatewayEvent {
  event: string;
  gw: string;
  t: number;
  [field: string]: unknown;
}

export type Exit = { code: number | null; signal: string | null };

/**
 * Runs the gateway's command line under another program (e.g. `strace -o … -- <cmd> <args>`). The wrapper
 * must pass stdio through and exit as the gateway does (with its code, or killed by its signal).
 */
export type Wrap = (command: [string, string[]]) => [string, string[]];

/** Rejects `p` after `ms`: a deadline on an awaited event, never a sleep. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms)),
  );
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The command line that runs a gateway under `runtime`, from whichever runtime we are in. On Node, `bundle`
 * names cli/gateway.ts pre-built into one ES module (the same source, without tsx's per-file loader), and the pool
 * preload runs first, as in the satp-gateway bin.
 */
export function gatewayCommand(runtime: 'node' | 'deno', args: string[], bundle?: string): [string, string[]] {
  if (runtime === 'deno')
    return [
      here === 'deno' ? process.execPath : `${ROOT}node_modules/.bin/deno`,
      ['run', '-A', 'cli/gateway.deno.ts', ...args],
    ];
  const node = here === 'node' ? process.execPath : 'node';
  // libuv's pool sized to the cores first, as the satp-gateway bin does (cli/uv-pool.cjs).
  const pool = ['-r', `${ROOT}cli/uv-pool.cjs`];
  return [node, [...pool, ...(bundle ? [bundle] : ['--import', 'tsx', 'cli/gateway.ts']), ...args]];
}

interface Waiter {
  match: (e: GatewayEvent) => boolean;
  resolve: (e: GatewayEvent) => void;
}

export class GatewayChild {
  readonly child: ChildProcess;
  /** Every event of this process's life, in order. */
  readonly events: GatewayEvent[] = [];
  readonly exited: Promise<Exit>;
  url = '';
  /** The gateway's own pid, from its listening line (not the wrapper's, when there is one). */
  pid = 0;
  stderr = '';
  readonly #waiters = new Set<Waiter>();
  readonly #onEvent: ((e: GatewayEvent) => void) | undefined;

  private constructor(
    runtime: 'node' | 'deno',
    args: string[],
    onEvent?: (e: GatewayEvent) => void,
    bundle?: string,
    wrap?: Wrap,
  ) {
    const command = gatewayCommand(runtime, args, bundle);
    const [cmd, argv] = wrap ? wrap(command) : command;
    this.#onEvent = onEvent;
    this.child = spawn(cmd, argv, {
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, DENO_NO_UPDATE_CHECK: '1' },
    });
    this.child.stdin!.on('error', () => undefined); // writing to a killed child: EPIPE, expected
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr = (this.stderr + d).slice(-8000)));
    let buffered = '';
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buffered += d;
      for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line) this.#line(line);
      }
    });
  }

  /** Spawns a gateway and resolves once it is listening (its first line). */
  static async start(
    runtime: 'node' | 'deno',
    args: string[],
    options: { onEvent?: (e: GatewayEvent) => void; startupMs?: number; bundle?: string; wrap?: Wrap } = {},
  ): Promise<GatewayChild> {
    const g = new GatewayChild(runtime, args, options.onEvent, options.bundle, options.wrap);
    const spawnFailed = new Promise<never>((_, reject) => g.child.on('error', reject));
    try {
      const listening = await Promise.race([
        g.waitFor((e) => e.event === 'listening', options.startupMs ?? 60_000, 'gateway startup'),
        spawnFailed,
      ]);
      g.url = String(listening.url);
      g.pid = Number(listening.pid);
      return g;
    } catch (err) {
      g.child.kill('SIGKILL');
      throw new Error(`${String(err)}\nstderr: ${g.stderr}`);
    }
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The first event from index `from` on (past or future) that matches; rejects on timeout or exit. */
  waitFor(match: (e: GatewayEvent) => boolean, ms: number, what: string, from = 0): Promise<GatewayEvent> {
    const seen = this.events.slice(from).find(match);
    if (seen) return Promise.resolve(seen);
    let waiter!: Waiter;
    const found = new Promise<GatewayEvent>((resolve) => (waiter = { match, resolve }));
    this.#waiters.add(waiter);
    const died = this.exited.then((x) => {
      const stderr = this.stderr ? `; stderr: ${this.stderr.slice(-2000)}` : '';
      return Promise.reject(new Error(`${what}: the gateway exited (${x.code ?? x.signal})${stderr}`));
    });
    return within(Promise.race([found, died]), ms, what).finally(() => this.#waiters.delete(waiter));
  }

  /** Writes one command line; resolves with the answer event (a reply or status echoing `id`). */
  request(command: Record<string, unknown>, ms = 30_000): Promise<GatewayEvent> {
    const id = `c${Math.random().toString(36).slice(2)}`;
    const answer = this.waitFor(
      (e) => (e.event === 'reply' || e.event === 'status') && e.id === id,
      ms,
      `answer to ${String(command.cmd)}`,
      this.events.length,
    );
    this.child.stdin!.write(`${JSON.stringify({ ...command, id })}\n`);
    return answer;
  }

  /**
   * Sends `signal` (if still running) and resolves once the process exited. Under a wrapper, the signal goes
   * to the gateway itself, and the wrapper exits as the gateway did; before the gateway's pid is known, to
   * the wrapper.
   */
  async kill(signal: NodeJS.Signals = 'SIGKILL', ms = 15_000): Promise<Exit> {
    if (this.alive) {
      if (this.pid > 0 && this.pid !== this.child.pid) {
        try {
          process.kill(this.pid, signal);
        } catch {
          this.child.kill(signal); // already gone: the wrapper is exiting, or stuck
        }
      } else {
        this.child.kill(signal);
      }
    }
    return within(this.exited, ms, `gateway exit after ${signal}`);
  }

  /** Graceful stop: end stdin, which shuts the gateway down; SIGKILL if it does not exit in time. */
  async stop(ms = 15_000): Promise<Exit & { graceful: boolean }> {
    this.child.stdin!.end();
    try {
      return { ...(await within(this.exited, ms, 'gateway exit after stdin closed')), graceful: true };
    } catch {
      return { ...(await this.kill('SIGKILL')), graceful: false };
    }
  }

  #line(line: string): void {
    let e: GatewayEvent;
    try {
      e = JSON.parse(line) as GatewayEvent;
    } catch {
      this.stderr = `${this.stderr}\n(stdout, not JSON) ${line}`.slice(-8000);
      return;
    }
    this.events.push(e);
    this.#onEvent?.(e);
    for (const w of [...this.#waiters]) {
      if (w.match(e)) {
        this.#waiters.delete(w);
        w.resolve(e);
      }
    }
  }
}

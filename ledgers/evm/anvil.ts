// Starts anvil (Foundry's local EVM node, shipped as a binary by the npm package @foundry-rs/anvil) as a child
// process on 127.0.0.1, on a port the OS chooses unless one is given, and reads its address from its banner.
// For tests, the demo and the bench; Node and Deno (node:child_process). Nothing is downloaded.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const STARTUP_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;
const RPC_TIMEOUT_MS = 10_000;

/** The first of anvil's well-known development keys (mnemonic "test test … junk"): funded on every anvil. */
export const ANVIL_KEYS = [
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  '0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a',
  '0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6',
  '0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a',
  '0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba',
  '0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e',
  '0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356',
  '0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97',
  '0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6',
] as const;

export interface AnvilOptions {
  /** Default 0: the OS chooses. A restart passes the previous port, so clients keep their URL. */
  port?: number;
  chainId?: number;
  /** Seconds between blocks. Without it every transaction is mined at once (instant mining). */
  blockTime?: number;
  /** With blockTime: mine every transaction at once too, and an (empty) block every blockTime seconds. */
  mixedMining?: boolean;
  /** Load the chain from this file if it exists, and write it there when anvil stops (SIGTERM/SIGINT). */
  stateFile?: string;
  /** Also write the state file every this many seconds, so a SIGKILL loses at most that much. */
  stateIntervalSeconds?: number;
  /** The chain's first block timestamp (seconds); tests that judge lock expiry by chain time set it. */
  timestamp?: number;
}

export interface Anvil {
  url: string;
  port: number;
  chainId: number;
  child: ChildProcess;
  options: AnvilOptions;
  /**
   * Sends `signal` (default SIGTERM, which writes the state file) and resolves once anvil has exited. With a state
   * file and SIGTERM or SIGINT, mining is stopped first (quiesce), so the file holds every block anvil mined.
   */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * The anvil binary of this platform's package (@foundry-rs/anvil-<os>-<arch>). Not node_modules/.bin/anvil: that is
 * a Node wrapper which runs the binary as its own child, so a SIGKILL of the wrapper would leave anvil running.
 */
export function anvilBinary(): string {
  const scope = join(root, 'node_modules', '@foundry-rs');
  const found = existsSync(scope)
    ? readdirSync(scope)
        .filter((d) => d.startsWith('anvil-'))
        .map((d) => join(scope, d, 'bin', 'anvil'))
        .find((bin) => existsSync(bin))
    : undefined;
  if (!found) throw new Error(`anvil is not installed: no ${scope}/anvil-<platform>/bin/anvil (npm ci installs it)`);
  return found;
}

/** One JSON-RPC call to anvil (its test methods: evm_mine, anvil_dropAllTransactions, …), bounded in time. */
export async function anvilRpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    signal: AbortSignal.timeout(RPC_TIMEOUT_MS),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message?: string } };
  if (body.error) throw new Error(`anvil ${method}: ${body.error.message ?? 'error'}`);
  return body.result;
}

/**
 * Stops anvil mining before it is asked to write its state file. anvil's dump on SIGTERM reads the chain's state
 * and its blocks one after the other, not as one snapshot: a block mined between the two reads leaves a file whose
 * contract storage holds an op's record while its block (and the event in it) is missing, so after --load-state the
 * record names a block the chain never had (test/integration/anvil-stop.test.ts). No interval blocks and no automine
 * from here on; evm_mine then waits for a block being mined to finish (anvil mines one block at a time) and mines
 * what is pending into one more. Transactions that arrive later stay pending and are not in the file: a node that
 * stops loses its mempool, not its blocks. Throws if anvil does not answer.
 */
export async function quiesceAnvil(url: string): Promise<void> {
  await anvilRpc(url, 'evm_setIntervalMining', [0]);
  await anvilRpc(url, 'evm_setAutomine', [false]);
  await anvilRpc(url, 'evm_mine');
}

function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)),
  );
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const chainId = options.chainId ?? 31337;
  const args = ['--host', '127.0.0.1', '--port', String(options.port ?? 0), '--chain-id', String(chainId)];
  if (options.blockTime !== undefined) args.push('--block-time', String(options.blockTime));
  if (options.mixedMining) args.push('--mixed-mining');
  if (options.timestamp !== undefined) args.push('--timestamp', String(options.timestamp));
  if (options.stateFile) {
    if (existsSync(options.stateFile)) args.push('--load-state', options.stateFile);
    args.push('--dump-state', options.stateFile);
    if (options.stateIntervalSeconds) args.push('--state-interval', String(options.stateIntervalSeconds));
  }
  const child = spawn(anvilBinary(), args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const port = new Promise<number>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      if (out.length < 64_000) out += d;
      const m = /Listening on 127\.0\.0\.1:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('error', reject);
    void exited.then(() => reject(new Error(`anvil exited before listening: ${err || out.slice(-2000)}`)));
  });
  // anvil keeps writing to stdout (one line per request); keep reading so its pipe never fills.
  try {
    const p = await within(port, STARTUP_TIMEOUT_MS, 'anvil startup');
    return {
      url: `http://127.0.0.1:${p}`,
      port: p,
      chainId,
      child,
      options: { ...options, port: p },
      stop: async (signal = 'SIGTERM') => {
        const running = () => child.exitCode === null && child.signalCode === null;
        // A state file written while anvil mines can lose a mined block (quiesceAnvil). If anvil does not answer,
        // it is stopped all the same: the caller asked for it to stop.
        if (options.stateFile && (signal === 'SIGTERM' || signal === 'SIGINT') && running())
          await quiesceAnvil(`http://127.0.0.1:${p}`).catch(() => undefined);
        if (running()) child.kill(signal);
        await within(exited, EXIT_TIMEOUT_MS, `anvil exit after ${signal}`);
      },
    };
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
}

/** Starts anvil again with the options it had (same port, same state file). */
export const restartAnvil = (a: Anvil): Promise<Anvil> => startAnvil(a.options);

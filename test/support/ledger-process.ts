// Starts cli/ledger-server.ts as a real child process in the runtime under test (node running it bundled, or
// deno run -A), reads its URL from the first stdout line, and kills it.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { bundleScript } from './gateway-bundle.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const deno = 'Deno' in globalThis;
const STARTUP_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 10_000;

export interface LedgerProcess {
  url: string;
  child: ChildProcess;
  /** Sends `signal` and resolves once the process has exited. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: string | null }>;
}

/** Rejects `p` after `ms`: a deadline on an awaited event, never a sleep. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)),
  );
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export async function startLedgerProcess(args: string[]): Promise<LedgerProcess> {
  // The child must run in the runtime under test, so a Deno run cannot silently fall back to Node.
  if (deno !== /deno(\.exe)?$/.test(process.execPath))
    throw new Error(`process.execPath ${process.execPath} is not the runtime under test`);
  const script = 'cli/ledger-server.ts';
  // Node runs the source bundled (test/support/gateway-bundle.ts), each process its own bundle, removed once it
  // has exited: the bundling takes tens of milliseconds, tsx about a second of CPU more to start it.
  const bundle = deno ? undefined : await bundleScript(script);
  const argv = bundle ? [bundle.path, ...args] : ['run', '-A', script, ...args];
  const child = spawn(process.execPath, argv, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  if (bundle) child.on('close', bundle.remove).on('error', bundle.remove);
  let out = '';
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const url = new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl).trim());
    });
    child.on('error', reject);
    void exited.then((e) => reject(new Error(`ledger server exited before listening (${e.code ?? e.signal}): ${err}`)));
  });
  try {
    const first = await within(url, STARTUP_TIMEOUT_MS, 'ledger server startup');
    if (!/^http:\/\/127\.0\.0\.1:\d+$/.test(first))
      throw new Error(`first stdout line is not a loopback URL: ${first}`);
    return {
      url: first,
      child,
      kill: async (signal) => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return within(exited, EXIT_TIMEOUT_MS, `ledger server exit after ${signal}`);
      },
    };
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
}

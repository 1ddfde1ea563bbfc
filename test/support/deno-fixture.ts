// Spawns test/support/gateway-fixture.deno.ts in a Deno process (from a Node or a Deno test run), reads its
// URL from the first stdout line, talks to it over stdin, and on stop checks that it exits on its own.
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const STARTUP_MS = 60_000;
const EXIT_MS = 10_000;

/** Rejects after `ms`: a deadline on an awaited event, never a sleep. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} took over ${ms} ms`)), ms)),
  );
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

export interface DenoFixture {
  url: string;
  /** Sends one command line and resolves with the fixture's answer line. */
  control(line: string): Promise<string>;
  /** Ends stdin; resolves how the process ended. `selfExit` is false if it had to be killed. */
  stop(): Promise<{ selfExit: boolean; code: number | null }>;
}

export async function startDenoFixture(mode: 'ws-native' | 'ws-compat' | 'http'): Promise<DenoFixture> {
  const child: ChildProcess = spawn(
    `${root}node_modules/.bin/deno`,
    ['run', '-A', 'test/support/gateway-fixture.deno.ts', mode],
    {
      cwd: root,
      stdio: ['pipe', 'pipe', 'pipe'],
    },
  );
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err = (err + d).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines: string[] = [];
  const waiters: ((line: string) => void)[] = [];
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    for (let nl = out.indexOf('\n'); nl >= 0; nl = out.indexOf('\n')) {
      const line = out.slice(0, nl).trim();
      out = out.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(line);
      else lines.push(line);
    }
  });
  const nextLine = (ms: number, what: string) =>
    within(
      Promise.race([
        new Promise<string>((resolve) => (lines.length ? resolve(lines.shift()!) : waiters.push(resolve))),
        exited.then((code) => Promise.reject(new Error(`deno fixture ${mode} exited (${code}): ${err}`))),
      ]),
      ms,
      what,
    );
  try {
    const first = JSON.parse(await nextLine(STARTUP_MS, `deno fixture ${mode} startup`)) as { url: string };
    return {
      url: first.url,
      control: (line) => {
        child.stdin!.write(`${line}\n`);
        return nextLine(EXIT_MS, `deno fixture answer to "${line}"`);
      },
      stop: async () => {
        child.stdin!.end();
        try {
          return { selfExit: true, code: await within(exited, EXIT_MS, `deno fixture ${mode} exit`) };
        } catch {
          child.kill('SIGKILL');
          return { selfExit: false, code: await exited };
        }
      },
    };
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
}

// A throwaway PostgreSQL cluster for tests: initdb into a fresh temp dir, start it on 127.0.0.1 at a free port with
// its socket in that dir (never /var/run), and stop() kills it and removes the dir. Needs the binaries of the Debian
// package `postgresql` (initdb, pg_ctl); without them startPostgres() throws, so the tests fail instead of skipping.
//
// Root: PostgreSQL refuses to run as root ("root execution of the PostgreSQL server is not permitted"). When
// process.getuid() is 0 (CI containers, this machine), initdb and pg_ctl run as the `postgres` user the Debian package
// creates (else `nobody`) through `runuser -u <user> --`, and the temp dir is handed to that user first. Any other
// user runs them directly and owns the dir already.
import { spawnSync } from 'node:child_process';
import { accessSync, chownSync, constants, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import process from 'node:process';
import postgres from 'postgres';

export interface PostgresCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres (trust authentication, test use only). */
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** Readiness: at most this many connection attempts, spread over at most this long. */
const READY_ATTEMPTS = 300;
const READY_WITHIN_MS = 30_000;

const executable = (path: string): boolean => {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The directory holding both initdb and pg_ctl: PATH first, then the newest /usr/lib/postgresql/<version>/bin. */
export function findPostgresBin(): string {
  const has = (dir: string) => executable(join(dir, 'initdb')) && executable(join(dir, 'pg_ctl'));
  for (const dir of (process.env.PATH ?? '').split(delimiter)) if (dir && has(dir)) return dir;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => /^\d+(\.\d+)?$/.test(v))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  for (const v of versions) if (has(join(root, v, 'bin'))) return join(root, v, 'bin');
  throw new Error(
    'PostgreSQL is not installed: initdb and pg_ctl are neither on PATH nor in /usr/lib/postgresql/*/bin. ' +
      'Install the Debian package `postgresql` (apt-get install -y postgresql; npm test does it when run as root).',
  );
}

/** The unprivileged user to run the server as when we are root, or undefined when we are not root. */
function serverUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    const uid = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' });
    if (uid.status === 0 && gid.status === 0) return { name, uid: Number(uid.stdout), gid: Number(gid.stdout) };
  }
  throw new Error('running as root, and neither a `postgres` nor a `nobody` user exists to run PostgreSQL as');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port ? resolve(port) : reject(new Error('no free port'))));
    });
  });
}

export async function startPostgres(): Promise<PostgresCluster> {
  const bin = findPostgresBin();
  const user = serverUser();
  const dir = mkdtempSync(join(tmpdir(), 'satp-pg-'));
  if (user) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const run = (tool: string, args: string[]) => {
    const [cmd, argv] = user ? ['runuser', ['-u', user.name, '--', join(bin, tool), ...args]] : [join(bin, tool), args];
    // cwd: the dir, which the server's user can enter (it may not be able to enter ours).
    const r = spawnSync(cmd, argv, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    if (r.status !== 0) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
      throw new Error(`${tool} ${args.join(' ')} failed (${r.status}): ${r.stderr}${r.stdout}${log}`);
    }
  };
  try {
    // --no-sync only skips initdb's own fsyncs of the template files; the server keeps fsync on.
    run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
    const port = await freePort();
    const serverOptions = [
      '-c listen_addresses=127.0.0.1',
      `-c port=${port}`,
      `-c unix_socket_directories=${dir}`,
      '-c max_connections=200',
    ].join(' ');
    // -W: pg_ctl returns at once; readiness is checked below with a real connection.
    run('pg_ctl', ['start', '-W', '-D', data, '-l', logFile, '-o', serverOptions]);
    const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
    const stop = async () => {
      try {
        run('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };
    try {
      await waitReady(url, logFile);
    } catch (err) {
      await stop().catch(() => undefined);
      throw err;
    }
    return { url, port, stop };
  } catch (err) {
    // A failed initdb or start leaves no server; the dir goes (stop() already removed it if it ran).
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Polls `select 1` until the server answers: bounded by READY_ATTEMPTS attempts and READY_WITHIN_MS. */
async function waitReady(url: string, logFile: string): Promise<void> {
  const deadline = Date.now() + READY_WITHIN_MS;
  let last: unknown;
  for (let attempt = 0; attempt < READY_ATTEMPTS && Date.now() < deadline; attempt++) {
    const sql = postgres(url, { max: 1, connect_timeout: 5, onnotice: () => undefined });
    try {
      await sql`select 1`;
      return;
    } catch (err) {
      last = err;
      // The server is still starting (connection refused, or "the database system is starting up"): try again after
      // a short pause, so the attempts spread over the bounded time instead of spinning.
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      await sql.end({ timeout: 1 }).catch(() => undefined);
    }
  }
  const log = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
  throw new Error(`PostgreSQL did not accept connections within ${READY_WITHIN_MS} ms: ${String(last)}\n${log}`);
}

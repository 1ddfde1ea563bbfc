// Two organizations of active gateway processes over PostgreSQL (docs/high-availability.md, several active
// gateways per side): side a runs gw-a1..gw-aN over one schema, side b gw-b1..gw-bN over another. Each process
// holds its own gateway's lease and stands by for every other gateway of its side (--standby-for), with a backup
// certificate that the other's certificate lists, all under one owner's CA. Used by the multi-active process test
// and by the bench (bench/ha-scale.ts).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayChild } from '../../examples/gateway-child.ts';
import { publicKeyOf } from '../../gateway/keys.ts';
import type { PublicJwk } from '../../kernel/crypto/types.ts';
import { PostgresDriver } from '../../storage/postgres.ts';
import { checkInvariants, type GatewaySide, type InvariantReport, type TransferSpec } from './gateway-invariants.ts';
import { type OwnerPki, ownerPki } from './owner-pki.ts';

export type Side = 'a' | 'b';
export const sideOf = (id: string): Side => (id.startsWith('gw-a') ? 'a' : 'b');
export const otherSide = (s: Side): Side => (s === 'a' ? 'b' : 'a');

export interface HaOrgsOptions {
  runtime: 'node' | 'deno';
  /** The pre-built gateway (Node), as test/support/gateway-bundle.ts makes it. */
  bundle?: string;
  /** Where keys, certificates and the trust file go. */
  dir: string;
  pg: string;
  /** Gateway processes per side. */
  perSide: number;
  /** The PostgreSQL schema of each side's log. */
  schemas: Record<Side, string>;
  /** Each side's ledger: its URL, its network id and the key it signs receipts with. */
  ledgers: Record<Side, { url: string; id: string; publicJwk: PublicJwk }>;
  ttlMs: number;
  /** More flags for every process (timings). */
  flags: string[];
}

export interface HaOrgs {
  ids: Record<Side, string[]>;
  jwk: Record<string, PublicJwk>;
  pki: OwnerPki;
  /** The live (or last) process of each gateway id, by its own id. */
  procs: Record<string, GatewayChild>;
  /** Where each gateway is served now: its own process, or the one that took it over. */
  where: Record<string, string>;
  /** Starts the process whose own gateway is `id`, with the other side's addresses as they are now. */
  launch(id: string): Promise<GatewayChild>;
  /** Starts every process (side b first), each acting for its own gateway, and tells each side the other's. */
  start(): Promise<void>;
  /** The gateways a live process acts for (booted in it). */
  actsFor(child: GatewayChild): string[];
  /** Waits until `gw` booted in `child` (from event index `from`), notes its address and tells the other side. */
  serving(child: GatewayChild, gw: string, from: number, what: string): Promise<void>;
  /** A side's shared store, for test/support/gateway-invariants.ts. */
  store(side: Side): GatewaySide;
  /**
   * Waits, by asking every live process, until none holds an open session (a destination ends a moment after its
   * origin), at most `withinMs`; then stops them all, so the stores can be read.
   */
  settleAndStop(withinMs: number): Promise<void>;
  /** The invariants over both sides' logs and both ledgers, for these transfers (once the processes stopped). */
  check(transfers: TransferSpec[]): Promise<InvariantReport>;
  /** Kills every process still alive (cleanup). */
  killAll(): Promise<void>;
}

const backupName = (holder: string, of: string) => `${holder}-for-${of}`;

export async function haOrgs(o: HaOrgsOptions): Promise<HaOrgs> {
  const file = (name: string) => join(o.dir, name);
  const ids: Record<Side, string[]> = {
    a: Array.from({ length: o.perSide }, (_, i) => `gw-a${i + 1}`),
    b: Array.from({ length: o.perSide }, (_, i) => `gw-b${i + 1}`),
  };
  const all = [...ids.a, ...ids.b];
  const jwk: Record<string, PublicJwk> = {};
  for (const id of all) jwk[id] = await publicKeyOf(file(`${id}.key.json`));
  const partners = (id: string) => ids[sideOf(id)].filter((x) => x !== id);
  const pki = await ownerPki(
    Object.fromEntries(
      all.map((id) => [
        id,
        { publicJwk: jwk[id]!, backups: Object.fromEntries(partners(id).map((p) => [backupName(p, id), jwk[p]!])) },
      ]),
    ),
  );
  for (const [name, cert] of Object.entries(pki.certs)) writeFileSync(file(`${name}.pem`), cert.toString('pem'));
  writeFileSync(
    file('trust.json'),
    JSON.stringify({
      roots: [pki.root.certificate.toString('pem')],
      intermediates: [pki.ca.certificate.toString('pem')],
      primaries: Object.fromEntries(all.map((id) => [id, pki.certs[id]!.toString('pem')])),
    }),
  );

  const where: Record<string, string> = Object.fromEntries(all.map((id) => [id, 'ws://127.0.0.1:9/satp/ws']));
  const procs: Record<string, GatewayChild> = {};
  const launch = async (id: string) => {
    const side = sideOf(id);
    const far = otherSide(side);
    const peers = Object.fromEntries(
      ids[far].map((p) => [
        p,
        { url: where[p], publicJwk: jwk[p], networkId: o.ledgers[far].id, ledgerPublicJwk: o.ledgers[far].publicJwk },
      ]),
    );
    const standby = Object.fromEntries(
      partners(id).map((p) => [p, { primaryKey: jwk[p], cert: file(`${backupName(id, p)}.pem`) }]),
    );
    const child = await GatewayChild.start(
      o.runtime,
      [
        ...['--id', id, '--port', '0', '--pg', o.pg, '--pg-schema', o.schemas[side]],
        ...['--ledger', o.ledgers[side].url, '--ledger-key', JSON.stringify(o.ledgers[side].publicJwk)],
        ...['--peers', JSON.stringify(peers)],
        ...ids[far].flatMap((p) => ['--peer-ledger', `${p}=${o.ledgers[far].url}`]),
        ...['--trust', file('trust.json'), '--lease-ttl-ms', String(o.ttlMs), '--holder', id],
        ...['--keys', file(`${id}.key.json`), '--cert', file(`${id}.pem`)],
        ...(o.perSide > 1 ? ['--standby-for', JSON.stringify(standby)] : []),
        ...o.flags,
      ],
      { ...(o.bundle && { bundle: o.bundle }) },
    );
    procs[id] = child;
    return child;
  };
  const actsFor = (c: GatewayChild) =>
    c.alive ? c.events.filter((e) => e.event === 'booted').map((e) => String(e.gw)) : [];
  const serving = async (child: GatewayChild, gw: string, from: number, what: string) => {
    await child.waitFor((e) => e.event === 'booted' && e.gw === gw, 60_000, what, from);
    const listening = child.events.filter((e) => e.event === 'listening' && e.gw === gw).at(-1);
    where[gw] = String(listening?.url);
    for (const p of ids[otherSide(sideOf(gw))]) {
      const peer = procs[p];
      if (!peer?.alive) continue;
      const told = await peer.request({ cmd: 'peer-url', peer: gw, url: where[gw] });
      if (told.ok !== true) throw new Error(`${p} refused ${gw}'s new address: ${JSON.stringify(told)}`);
    }
  };
  const store = (side: Side): GatewaySide => ({
    id: ids[side][0]!,
    db: '',
    driver: () => PostgresDriver.open(o.pg, { schema: o.schemas[side] }),
    publicJwk: jwk[ids[side][0]!]!,
    also: Object.fromEntries(ids[side].slice(1).map((id) => [id, jwk[id]!])),
  });
  return {
    ids,
    jwk,
    pki,
    procs,
    where,
    launch,
    actsFor,
    serving,
    async start() {
      for (const side of ['b', 'a'] as const) {
        for (const id of ids[side]) await launch(id);
        for (const id of ids[side]) await serving(procs[id]!, id, 0, `${id} acts`);
      }
    },
    store,
    async settleAndStop(withinMs) {
      const live = () => Object.entries(procs).filter(([, c]) => c.alive);
      const by = Date.now() + withinMs;
      for (;;) {
        const open: string[] = [];
        for (const [id, c] of live())
          open.push(...((await c.request({ cmd: 'status' })).open as string[]).map((x) => `${id}:${x}`));
        if (open.length === 0) break;
        if (Date.now() > by) throw new Error(`still open after ${withinMs} ms: ${JSON.stringify(open)}`);
        // a poll of state, bounded by the deadline above
        await new Promise((r) => setTimeout(r, 100));
      }
      for (const [, c] of live()) await c.stop();
    },
    check(transfers) {
      return checkInvariants({
        origin: store('a'),
        destination: store('b'),
        ledgerA: o.ledgers.a.url,
        ledgerB: o.ledgers.b.url,
        transfers,
        successor: pki.authority,
      });
    },
    async killAll() {
      await Promise.allSettled(Object.values(procs).map((c) => (c.alive ? c.kill('SIGKILL') : undefined)));
    },
  };
}

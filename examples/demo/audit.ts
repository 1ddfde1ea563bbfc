// The end of `npm start`: the offline auditor (docs/audit.md) over both gateways' LevelDBs, once the gateway
// processes have exited (LevelDB admits one process at a time). The same library code as `satp-audit`
// (cli/audit-command.ts), given the keys the demo already holds instead of a keys file.
import { auditStores, verdict } from '../../cli/audit-command.ts';
import type { Member, Role } from '../gateway-pair.ts';
import type { DemoLedger } from './ledgers.ts';

/** Audits the demo's sessions and prints the verdict; true when it passed. */
export async function printAudit(
  sessions: readonly string[],
  members: Record<Role, Member>,
  ledgers: Record<Role, DemoLedger>,
  out: (line: string) => void = console.log,
): Promise<boolean> {
  const gws = [members.origin, members.destination];
  const audits = await auditStores(
    gws.map((m) => ({ holder: m.id, source: m.db })),
    {
      gateways: Object.fromEntries(gws.map((m) => [m.id, m.publicJwk])),
      ledgers: Object.fromEntries(
        [ledgers.origin, ledgers.destination].flatMap((l) => (l.publicJwk ? [[l.id, l.publicJwk]] : [])),
      ),
      chains: Object.fromEntries(
        [ledgers.origin, ledgers.destination].flatMap((l) => (l.checker ? [[l.id, l.checker]] : [])),
      ),
    },
    sessions,
  );
  const { passed, lines } = verdict(audits);
  out(`\nAudit of both gateways' logs (satp-audit, docs/audit.md)`);
  for (const line of lines) out(`  ${line}`);
  return passed;
}

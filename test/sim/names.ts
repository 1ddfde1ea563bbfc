// The two gateways of the simulated world and the ledgers they stand in front of.
export type NodeName = 'A' | 'B';
export const NODES: NodeName[] = ['A', 'B'];
export const GW: Record<NodeName, string> = { A: 'gw-a', B: 'gw-b' };
export const LEDGER = { A: 'ledger-a', B: 'ledger-b' } as const satisfies Record<NodeName, string>;
export const other = (n: NodeName): NodeName => (n === 'A' ? 'B' : 'A');
export const nodeOf = (gatewayId: string): NodeName => (gatewayId === GW.A ? 'A' : 'B');
/**
 * A third gateway both know and trust, but the peer of none of their sessions: the misbehaving peer signs as it too.
 */
export const THIRD = 'gw-c';

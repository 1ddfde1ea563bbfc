// SATP transfers as pure reducers: both gateway roles, write-ahead logging, rollback lists.
export * from './messages.ts';
export * from './error-codes.ts';
export * from './payloads.ts';
export * from './state.ts';
export { deadlineOf } from './decide.ts';
export * from './effects.ts';
export { reduce, type Reduction } from './reduce.ts';
export * from './ops.ts';
export * from './claims.ts';
export { type LedgerCheckers, receiptsIn, withCheckedProofs } from './proofs.ts';
export * from './envelope.ts';
export * from './recovery-messages.ts';

// SATP transfers as pure reducers: both gateway roles, write-ahead logging, rollback lists.
export * from './messages.ts';
export * from './error-codes.ts';
export * from './payloads.ts';
export * from './state.ts';
export * from './effects.ts';
export { reduce, type Reduction } from './reduce.ts';
export { burnOpId } from './origin.ts';
export { assignOpId } from './destination.ts';
export { opId } from './steps.ts';
export * from './envelope.ts';
export * from './recovery-messages.ts';

// The kernel's public surface: pure, runtime-agnostic. Drivers live behind their own subpaths.
export * from './errors.ts';
export * from './encoding.ts';
export * from './json.ts';
export * from './hash.ts';
export * from './entry.ts';
export * from './seal.ts';
export * from './chain.ts';
export * from './log-diff.ts';
export * from './crypto/types.ts';
export { defaultVerifier } from './crypto/verifier.ts';
export * from './strict-json.ts';
export * from './ledger.ts';
export * from './ledger-receipt.ts';
export * from './satp/index.ts';
export * from './ports.ts';
export * from './keyed-lock.ts';
export { Gateway, type GatewayOptions, type ReceiveResult } from './driver.ts';
export * from './takeover.ts';

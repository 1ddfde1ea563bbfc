// The one storage conformance suite (as abstract-level and automerge-repo export theirs): every
// LogStore driver, the in-memory one first, runs these cases through LogStore with its own StoreHarness.
import { describe } from 'vitest';
import { badInputCases } from './conformance/bad-input.ts';
import { capabilityCases } from './conformance/capabilities.ts';
import { concurrencyCases } from './conformance/concurrency.ts';
import { conflictCases } from './conformance/conflicts.ts';
import type { StoreHarness } from './conformance/harness.ts';
import { logDiffCases } from './conformance/log-diff.ts';
import { openLogCases } from './conformance/open-logs.ts';
import { primitiveCases } from './conformance/primitives.ts';
import { tamperCases } from './conformance/tamper.ts';

export type { StoreHarness } from './conformance/harness.ts';
export { AUTHOR, OUTSIDER, PEER, trustedKeys } from './conformance/fixtures.ts';

/**
 * Registers the conformance cases (vitest describe/it) for the driver `harness` makes. Call it at the top
 * level of a test file, once per driver.
 */
export function logStoreConformance(harness: StoreHarness): void {
  describe(`LogStore conformance: ${harness.name}`, () => {
    primitiveCases(harness);
    conflictCases(harness);
    badInputCases(harness);
    tamperCases(harness);
    logDiffCases(harness);
    openLogCases(harness);
    concurrencyCases(harness);
    capabilityCases(harness);
  });
}

// Runs the one storage conformance suite (storage/conformance.ts) against every LogStore driver.
import { logStoreConformance } from '../../storage/conformance.ts';
import { indexedDbHarness, levelHarness, memoryHarness } from '../support/store-harnesses.ts';

logStoreConformance(memoryHarness);
logStoreConformance(levelHarness);
logStoreConformance(indexedDbHarness);

// The transport conformance suite over HTTP: the Hono gateway app served in this process and in a Deno process.
import { transportConformance } from '../../transports/conformance/suite.ts';
import { httpHarness } from '../support/transport-harnesses.ts';

transportConformance(httpHarness('in-process'));
transportConformance(httpHarness('deno'));

// The transport conformance suite against the in-memory network. Not run here, because memory has no
// bytes, handshake or sockets: the ws/http wire cases (handshake, frame limits, hostile JSON text);
// the send-side refusals of non-JSON values stand in for them.
import { transportConformance } from '../../transports/conformance/suite.ts';
import { memoryHarness } from '../support/transport-harnesses.ts';

transportConformance(memoryHarness());

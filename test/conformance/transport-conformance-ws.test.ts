// The transport conformance suite over WebSocket, with the server in this process (Node, or Deno's Node
// compat under SATP_RUNTIME=deno) and in a Deno process, both natively and through Deno's Node compat.
// Clients use ws's WebSocket on Node 20 and the standard WebSocket under Deno; over TLS (wss, a test CA), ws's in
// both, since only it can be given roots of its own.
import { transportConformance } from '../../transports/conformance/suite.ts';
import { wsHarness } from '../support/transport-harnesses.ts';

transportConformance(wsHarness('in-process'));
transportConformance(wsHarness('deno-native'));
transportConformance(wsHarness('deno-compat'));
transportConformance(wsHarness('in-process-tls'));

// The HTTP transport: the gateway app (server side) and the fetch client; runtime-agnostic, no `ws`, no Node APIs.
export { createGatewayApp, type GatewayAppOptions } from './gateway-app.ts';
export { HttpTransport, type HttpTransportOptions, MESSAGES_PATH } from './client.ts';
export { REPLY_SIGNATURE_HEADER, signReply, verifyReply } from './reply-signature.ts';

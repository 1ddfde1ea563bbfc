// A Deno process for test/integration/deno-serve-bounded.test.ts: a listener from cli/deno-serve.ts whose handler
// never answers /hang. Prints {"port"} when listening; once a /hang request is in, closes the listener and prints
// {"closed": true}, then exits.
import { serveBounded } from '../../cli/deno-serve.ts';

declare const Deno: { exit(code: number): never };

let hung: () => void = () => {};
const inFlight = new Promise<void>((resolve) => (hung = resolve));
const server = serveBounded({ hostname: '127.0.0.1', port: 0 }, (req) => {
  if (new URL(req.url).pathname !== '/hang') return new Response('ok');
  hung();
  return new Promise<Response>(() => {});
});
console.log(JSON.stringify({ port: server.port }));
await inFlight;
await server.close();
console.log(JSON.stringify({ closed: true }));
Deno.exit(0);

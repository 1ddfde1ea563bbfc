// `npm run demo:browser [-- --port <n>]`: serves the browser demo on 127.0.0.1 (port 0, the default, lets the OS
// choose) and prints its URL. Ctrl-C stops it. docs/demo.md describes what the page does.
import { parseArgs } from 'node:util';
import { startDemoServer } from './server.ts';

const { values } = parseArgs({ options: { port: { type: 'string', default: '0' }, help: { type: 'boolean' } } });
const port = Number(values.port);
if (values.help || !Number.isInteger(port) || port < 0 || port > 65_535) {
  console.log('usage: npm run demo:browser -- [--port <0-65535>]');
  process.exit(values.help ? 0 : 2);
}
const server = await startDemoServer({ port });
console.log(`satp-recovery browser demo: ${server.url}/`);
console.log('  open it in a browser; modes: ?mode=direct, ?mode=relay, ?mode=node (docs/demo.md)');
const stop = () => void server.close().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);

// `node --import ./test/support/import-trace.mjs …`: appends the URL of every module the process resolves to the
// file SATP_IMPORT_TRACE names, one per line, so a test can say which packages a process loaded.
import { register } from 'node:module';

const hooks = `
import { appendFileSync } from 'node:fs';
const file = process.env.SATP_IMPORT_TRACE;
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (file) appendFileSync(file, resolved.url + '\\n');
  return resolved;
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

// Sizes libuv's thread pool to the machine's cores, kept between 2 and libuv's default of 4, unless
// UV_THREADPOOL_SIZE is set already. A Node gateway's signatures, verifications and LevelDB writes all run in that
// pool, and on a machine with fewer cores than pool threads the extra threads only add wake-ups and preemption of
// the main thread (docs/decisions.md, "libuv's pool sized to the cores"). libuv reads the variable once, when the
// pool first starts, and loading an ES module already starts it: so this is CommonJS, loaded before any ES module,
// by the satp-gateway bin (satp-gateway.cjs) or with `node -r ./cli/uv-pool.cjs`. A preset value is kept, and a
// runtime other than Node has no such pool: there it does nothing.
'use strict';
const os = require('node:os');

const cores = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
if (process.env.UV_THREADPOOL_SIZE === undefined && process.release?.name === 'node' && !('Deno' in globalThis)) {
  process.env.UV_THREADPOOL_SIZE = String(Math.min(4, Math.max(2, cores)));
}

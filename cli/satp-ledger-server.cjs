#!/usr/bin/env node
// The satp-ledger-server bin: sizes libuv's pool first (uv-pool.cjs; it must run before any ES module loads), then runs
// the simulated ledger server (ledger-server.js, built from cli/ledger-server.ts).
'use strict';
require('./uv-pool.cjs');
import('./ledger-server.js').catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

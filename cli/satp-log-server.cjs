#!/usr/bin/env node
// The satp-log-server bin: sizes libuv's pool first (uv-pool.cjs; it must run before any ES module loads), then runs
// the Log Storage API server (log-server.js, built from cli/log-server.ts).
'use strict';
require('./uv-pool.cjs');
import('./log-server.js').catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

#!/usr/bin/env node
// The satp-gateway bin: sizes libuv's pool first (uv-pool.cjs; it must run before any ES module loads), then runs
// the gateway (gateway.js, built from cli/gateway.ts).
'use strict';
require('./uv-pool.cjs');
import('./gateway.js').catch((err) => {
  console.error(err);
  process.exitCode = 1;
});

#!/usr/bin/env node
// A gateway's logs in recovery-04 §4 Figure 5's form and back (docs/log-format.md):
//   npx satp-log export --store .data/gw-a > gw-a.draft.json
//   npx satp-log import --in gw-a.draft.json --keys keys.json
import process from 'node:process';
import { logCommand } from './log-command.ts';

process.exitCode = await logCommand(process.argv.slice(2));

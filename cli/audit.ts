#!/usr/bin/env node
// Audits sessions offline from two gateways' LevelDB log stores (docs/audit.md):
//   npx satp-audit --store gw-a=.data/gw-a --store gw-b=.data/gw-b --keys keys.json
import process from 'node:process';
import { audit } from './audit-command.ts';

process.exitCode = await audit(process.argv.slice(2));

#!/usr/bin/env node
// Creates a gateway's (or a ledger server's) long-term P-256 signing key as a private JWK file, and prints what
// the peers need: the public JWK, as the entry of a --peers table or a log server's gateways file.
//   npx satp-keygen --out .data/gw-a.key.json [--id gw-a]
// A key file that already exists is kept, never overwritten: the key is the gateway's identity, and its old
// log entries and receipts verify only under it (recovery-04 §5.1). The file is written 0600, fsynced, renamed.
import process from 'node:process';
import { keygen } from './keygen-command.ts';

process.exitCode = await keygen(process.argv.slice(2));

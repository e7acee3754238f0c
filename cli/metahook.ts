#!/usr/bin/env -S npx tsx
// CLI entry: `npm run metahook -- <command>` (operators and auditors). Everything else is in run.ts.
import './quiet-sdk';
import { runCli } from './run';
import { processIo } from './io';

process.exitCode = await runCli(process.argv.slice(2), processIo());

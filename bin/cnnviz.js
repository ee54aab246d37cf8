#!/usr/bin/env node
import { startEarly } from '../dist/start.js';

startEarly(process.argv);
const { main } = await import('../dist/cli.js');
process.exitCode = await main(process.argv);

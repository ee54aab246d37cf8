#!/usr/bin/env node
import { startEarly } from '../dist/start.js';

startEarly(process.argv);
const { main, exitWhenWritten } = await import('../dist/cli.js');
await exitWhenWritten(await main(process.argv));

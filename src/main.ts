#!/usr/bin/env node
import { availableParallelism } from 'node:os';

// argon2 runs on libuv's threadpool; size it to the cores before anything touches the pool.
process.env.UV_THREADPOOL_SIZE ??= String(Math.max(4, availableParallelism()));

const { runCli } = await import('./cli/index.js');
process.exitCode = await runCli(process.argv);

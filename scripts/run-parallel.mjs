#!/usr/bin/env node
// Runs the given npm scripts at the same time (`node scripts/run-parallel.mjs typecheck lint`) and exits non-zero
// if any of them failed. Each script's output is printed whole when it ends, so outputs do not interleave. `npm
// test` runs the type check and the lint side by side this way: each is single-threaded, and the machine has two
// cores.
import { spawn } from 'node:child_process';

const scripts = process.argv.slice(2);
if (scripts.length === 0) {
  process.stderr.write('usage: node scripts/run-parallel.mjs <npm script>...\n');
  process.exit(2);
}

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const results = await Promise.all(
  scripts.map(
    (script) =>
      new Promise((resolve) => {
        const child = spawn(npm, ['run', script], { stdio: ['ignore', 'pipe', 'pipe'] });
        const chunks = [];
        child.stdout.on('data', (chunk) => chunks.push(chunk));
        child.stderr.on('data', (chunk) => chunks.push(chunk));
        child.on('error', (error) => chunks.push(Buffer.from(`${String(error)}\n`)));
        child.on('close', (code, signal) => {
          const status = code === 0 ? 'passed' : `failed (${signal ?? `exit ${String(code)}`})`;
          process.stdout.write(`\n> npm run ${script}: ${status}\n${Buffer.concat(chunks).toString('utf8')}`);
          resolve(code === 0);
        });
      }),
  ),
);
process.exit(results.every(Boolean) ? 0 : 1);

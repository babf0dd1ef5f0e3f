#!/usr/bin/env node
// The `bursar` command. TypeScript sources run through tsx's loader, so a checkout needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');

// The sandbox PSP is its own program (sandbox/, docs/sandbox.md): the product never imports it. `start` runs it
// for the roles below, and its code is loaded only when one of them is asked for.
const sandbox = {
  roles: ['all', 'sandbox'],
  create: async (ctx) => (await import('../sandbox/launch.ts')).sandboxService(ctx),
};

process.exitCode = await main(process.argv.slice(2), { extraServices: [sandbox] });

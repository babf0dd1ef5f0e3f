/**
 * Where a process's CPU went, from a V8 CPU profile (`node --cpu-prof`; `bench/payins/run.ts --cpu-prof DIR`
 * writes one per Bursar process): self time by package or source file, by function, and the inclusive time of
 * the functions that matter most. Samples before `--after-ms` (from the profile's start) are left out, to skip
 * the process's start-up.
 *
 *   npx tsx bench/payins/cpu-profile.ts FILE.cpuprofile [--after-ms 60000] [--top 40]
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** The package (`node_modules/<name>`), the project file, or the kind of frame a function belongs to. */
function moduleOf(url: string, functionName: string): string {
  if (url === '') return `(${functionName || 'native'})`;
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? url);
  }
  if (url.startsWith('node:')) return url;
  const src = url.search(/\/(src|sandbox|bench|bin)\//);
  return src >= 0 ? url.slice(src + 1) : url;
}

function add(map: Map<string, number>, key: string, value: number): void {
  map.set(key, (map.get(key) ?? 0) + value);
}

function top(map: Map<string, number>, total: number, count: number): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(
      ([key, us]) =>
        `${(us / 1000).toFixed(0).padStart(8)} ms ${((us / total) * 100).toFixed(1).padStart(5)} %  ${key}`,
    );
}

export function summarize(profile: Profile, afterMs: number, count: number): string {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfByModule = new Map<string, number>();
  const selfByFunction = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let t = profile.startTime;
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    t += delta;
    if (t - profile.startTime < afterMs * 1000) continue;
    const node = byId.get(profile.samples[i] ?? -1);
    if (node === undefined) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idle += delta;
      continue;
    }
    total += delta;
    add(selfByModule, moduleOf(url, functionName), delta);
    add(
      selfByFunction,
      `${functionName || '(anonymous)'} ${moduleOf(url, functionName)}:${lineNumber + 1}`,
      delta,
    );
    // Inclusive: every distinct frame on the stack, once.
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const frame = byId.get(id)?.callFrame;
      if (frame === undefined || frame.url === '') continue;
      const key = `${frame.functionName || '(anonymous)'} ${moduleOf(frame.url, frame.functionName)}:${frame.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      add(inclusive, key, delta);
    }
  }
  return [
    `busy ${(total / 1000).toFixed(0)} ms, idle ${(idle / 1000).toFixed(0)} ms (after ${afterMs} ms)`,
    '',
    'self time by module:',
    ...top(selfByModule, total, count),
    '',
    'self time by function:',
    ...top(selfByFunction, total, count),
    '',
    'inclusive time by function:',
    ...top(inclusive, total, count * 2),
  ].join('\n');
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const file = process.argv[2];
  if (file === undefined) {
    process.stderr.write('usage: cpu-profile.ts FILE.cpuprofile [--after-ms N] [--top N]\n');
    process.exit(2);
  }
  const arg = (name: string, fallback: number) => {
    const index = process.argv.indexOf(name);
    return index >= 0 ? Number(process.argv[index + 1]) : fallback;
  };
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  process.stdout.write(`${summarize(profile, arg('--after-ms', 0), arg('--top', 40))}\n`);
}

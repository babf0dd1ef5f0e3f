/**
 * Where a Node process's CPU went, from the `.cpuprofile` files `node --cpu-prof` writes when it exits: self time
 * by function (`name file:line`) and by package or source directory, top first. The PSP-event bench's `--cpu-prof`
 * runs the API and the worker this way and prints both.
 */
import fs from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

function where(url: string): string {
  const file = url.replace(/^file:\/\//, '');
  const modules = file.lastIndexOf('node_modules/');
  if (modules >= 0) {
    const rest = file.slice(modules + 'node_modules/'.length).split('/');
    return rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1] ?? ''}` : (rest[0] ?? file);
  }
  if (file === '') return '(native)';
  if (file.startsWith('node:')) return file;
  const src = file.indexOf('/src/');
  if (src >= 0) return path.dirname(file.slice(src + 1));
  return path.basename(file);
}

/** The top self-time lines of every profile in `dir` (one process each), as text. */
export function summarizeCpuProfiles(dir: string, top = 25): string {
  const lines: string[] = [];
  for (const name of fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const profile = JSON.parse(fs.readFileSync(path.join(dir, name), 'utf8')) as CpuProfile;
    const byNode = new Map<number, ProfileNode>(profile.nodes.map((node) => [node.id, node]));
    const selfUs = new Map<number, number>();
    (profile.samples ?? []).forEach((id, index) => {
      selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas?.[index] ?? 0));
    });
    const byFunction = new Map<string, number>();
    const byPlace = new Map<string, number>();
    let total = 0;
    let idle = 0;
    for (const [id, us] of selfUs) {
      const frame = byNode.get(id)?.callFrame;
      if (frame === undefined) continue;
      if (frame.functionName === '(idle)') {
        idle += us;
        continue;
      }
      total += us;
      const fn = `${frame.functionName || '(anonymous)'} ${where(frame.url)}:${frame.lineNumber + 1}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
      byPlace.set(where(frame.url), (byPlace.get(where(frame.url)) ?? 0) + us);
    }
    const ms = (us: number) => (us / 1000).toFixed(0).padStart(7);
    const pct = (us: number) => `${((us / Math.max(1, total)) * 100).toFixed(1).padStart(5)} %`;
    lines.push(`cpu profile ${name}: ${ms(total)} ms busy, ${ms(idle)} ms idle`);
    lines.push('  by package / directory:');
    for (const [place, us] of [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, 15))
      lines.push(`  ${ms(us)} ms ${pct(us)}  ${place}`);
    lines.push('  by function (self):');
    for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
      lines.push(`  ${ms(us)} ms ${pct(us)}  ${fn}`);
  }
  return lines.join('\n');
}

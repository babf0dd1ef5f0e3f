// Loaded with `node --import` (NODE_OPTIONS refuses --cpu-prof): samples this process's CPU from its start and
// writes a .cpuprofile into BENCH_CPU_PROF_DIR when it exits (the in-process inspector answers synchronously, so
// this works in an 'exit' handler). Used by the PSP-event bench's --cpu-prof.
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 500 });
  session.post('Profiler.start');
  let written = false;
  process.on('exit', () => {
    if (written) return;
    written = true;
    session.post('Profiler.stop', (error, result) => {
      if (error || !result) return;
      fs.writeFileSync(
        path.join(dir, `${process.pid}-${Date.now()}.cpuprofile`),
        JSON.stringify(result.profile),
      );
    });
  });
}

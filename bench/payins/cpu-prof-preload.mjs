// Preloaded by `bench/payins/run.ts --cpu-prof DIR` (NODE_OPTIONS=--import …; node refuses --cpu-prof there): samples
// the process's CPU from its start and writes the V8 profile to $BENCH_CPU_PROF_DIR/CPU.<pid>.cpuprofile when it exits.
import fs from 'node:fs';
import inspector from 'node:inspector';
import path from 'node:path';

const dir = process.env.BENCH_CPU_PROF_DIR;
if (dir) {
  const session = new inspector.Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.on('exit', () => {
    // An in-process session answers synchronously, so the profile is written before the process is gone.
    session.post('Profiler.stop', (error, result) => {
      if (!error)
        fs.writeFileSync(path.join(dir, `CPU.${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}

/**
 * Preloaded by the benchmarks into a process they measure (`node --import ./bench/gc-observer.mjs`)
 * when BENCH_GC_FILE is set: on SIGUSR2 (and at exit) writes to that file the main thread's
 * garbage-collection pauses so far (perf_hooks 'gc' entries: scavenges, mark-compact finalisation,
 * incremental marking steps) beside the event loop's active time (eventLoopUtilization) and the
 * process's CPU time, so that the difference of two readings gives the GC share over a window:
 * GC pauses ÷ active time, both wall-clock, so that a machine too busy to run the process inflates
 * both alike (pauses ÷ CPU time read 40-50 % at load 10 where the CPU profile said ~12 %).
 * Background GC threads (concurrent marking, sweeping) are left out: the main thread's share.
 * Costs one observer callback per GC (a write every 250 ms instead cost ~1.5 % of a busy worker's
 * CPU in its profile, so the benchmark asks for each reading).
 */
import { writeFileSync } from 'node:fs';
import { performance, PerformanceObserver } from 'node:perf_hooks';

const file = process.env.BENCH_GC_FILE;
if (file) {
  let gcMs = 0;
  let count = 0;
  let seq = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMs += entry.duration;
      count += 1;
    }
  }).observe({ entryTypes: ['gc'] });
  const write = () => {
    const cpu = process.cpuUsage();
    try {
      const activeMs = performance.eventLoopUtilization().active;
      writeFileSync(file, JSON.stringify({ gcMs, count, activeMs, cpuMs: (cpu.user + cpu.system) / 1000, seq: (seq += 1) }));
    } catch {
      // the benchmark may have removed its directory already
    }
  };
  process.on('SIGUSR2', write);
  process.on('exit', write);
  write();
}

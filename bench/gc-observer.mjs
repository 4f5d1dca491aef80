/**
 * Preloaded by the benchmarks into a process they measure (`node --import ./bench/gc-observer.mjs`)
 * when BENCH_GC_FILE is set: on SIGUSR2 (and at exit) writes to that file the main thread's
 * garbage-collection pauses so far (perf_hooks 'gc' entries: scavenges, mark-compact finalisation,
 * incremental marking steps) beside the process's CPU time from process.cpuUsage(), so that the
 * difference of two readings gives the GC share of the CPU over a window. Background GC threads
 * (concurrent marking, sweeping) are in the CPU time but not in the pauses: the share is a floor.
 * Costs one observer callback per GC (a write every 250 ms instead cost ~1.5 % of a busy worker's
 * CPU in its profile, so the benchmark asks for each reading).
 */
import { writeFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';

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
      writeFileSync(file, JSON.stringify({ gcMs, count, cpuMs: (cpu.user + cpu.system) / 1000, seq: (seq += 1) }));
    } catch {
      // the benchmark may have removed its directory already
    }
  };
  process.on('SIGUSR2', write);
  process.on('exit', write);
  write();
}

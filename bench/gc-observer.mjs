/**
 * Preloaded by the benchmarks into a process they measure (`node --import ./bench/gc-observer.mjs`)
 * when BENCH_GC_FILE is set: every 250 ms (and at exit) writes to that file the main thread's
 * garbage-collection pauses so far (perf_hooks 'gc' entries: scavenges, mark-compact finalisation,
 * incremental marking steps) beside the process's CPU time from process.cpuUsage(), so that the
 * difference of two readings gives the GC share of the CPU over a window. Background GC threads
 * (concurrent marking, sweeping) are in the CPU time but not in the pauses: the share is a floor.
 * Costs one observer callback per GC and one small write per 250 ms.
 */
import { writeFileSync } from 'node:fs';
import { PerformanceObserver } from 'node:perf_hooks';

const file = process.env.BENCH_GC_FILE;
if (file) {
  let gcMs = 0;
  let count = 0;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMs += entry.duration;
      count += 1;
    }
  }).observe({ entryTypes: ['gc'] });
  const write = () => {
    const cpu = process.cpuUsage();
    try {
      writeFileSync(file, JSON.stringify({ gcMs, count, cpuMs: (cpu.user + cpu.system) / 1000, at: Date.now() }));
    } catch {
      // the benchmark may have removed its directory already
    }
  };
  setInterval(write, 250).unref();
  process.on('exit', write);
  write();
}

/**
 * Preloaded into the ModelForge the benchmark measures for memory (`node --expose-gc -r
 * dist/bench/gc-preload.js dist/src/main.js`), so src/ needs no hook: when BENCH_GC_RSS_FILE is
 * set, SIGUSR2 runs a full garbage collection and then writes `<sequence> <rss bytes>` to that
 * file. The benchmark signals, then waits for the next sequence number (see readRssAfterGc).
 */
import * as fs from 'node:fs';

const file = process.env.BENCH_GC_RSS_FILE;
const gc = (globalThis as { gc?: () => void }).gc;

if (file) {
  if (!gc)
    throw new Error('gc-preload: BENCH_GC_RSS_FILE is set but global.gc is missing (start node with --expose-gc)');
  let sequence = 0;
  process.on('SIGUSR2', () => {
    gc();
    // A second pass after finalizers and weak callbacks queued by the first one have run.
    setImmediate(() => {
      gc();
      sequence++;
      fs.writeFileSync(`${file}.tmp`, `${sequence} ${process.memoryUsage().rss}\n`);
      fs.renameSync(`${file}.tmp`, file);
    });
  });
}

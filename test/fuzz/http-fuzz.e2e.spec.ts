import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testEngines } from '../support/postgres';
import { findingsText, summaryLine } from './fuzz-report';
import { runHttpFuzz } from './http-fuzzer';

/** Fixed, so CI sends the same requests every run; `npm run fuzz -- --seed S` explores others. */
const SEED = Number(process.env.FUZZ_SEED ?? 20260801);
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 2000);

for (const engine of testEngines()) {
  describe(`HTTP fuzzing on ${engine}`, () => {
    it(`answers ${REQUESTS} generated requests to every documented operation without a 5xx or a malformed error`, async () => {
      const report = await runHttpFuzz({ engine, seed: SEED, requests: REQUESTS });
      const summary = summaryLine(report);
      assert.equal(report.requests, REQUESTS, summary);
      // Every operation of /docs-json was exercised, not just the first few.
      assert.ok(report.documented.length >= 20, `only ${report.documented.length} operations in /docs-json`);
      for (const operation of report.documented) {
        const count = report.byOperation[operation] ?? 0;
        assert.ok(count >= 20, `${operation} got only ${count} requests: ${summary}`);
      }
      assert.deepEqual(report.afterRun, [], `after the run: ${report.afterRun.join('; ')}\n${summary}`);
      assert.equal(report.findings, 0, `${summary}\n${findingsText(report)}`);
    });
  });
}

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ShutdownState } from '../../src/health/shutdown-state';
import { testEngines } from '../support/postgres';
import { authed, startTestApp, TestApp } from '../support/test-app';

for (const engine of testEngines()) {
  describe(`health on ${engine}`, () => {
    let t: TestApp;
    const http = () => authed(t);

    before(async () => {
      t = await startTestApp(engine);
    });
    after(async () => {
      await t?.close();
    });

    it('live answers 200 without checking anything', async () => {
      const res = await http().get('/health/live').expect(200);
      assert.equal(res.body.status, 'ok');
    });

    it('ready answers 200 with the database check up', async () => {
      const res = await http().get('/health/ready').expect(200);
      assert.equal(res.body.status, 'ok');
      assert.equal(res.body.details.database.status, 'up');
    });

    it('ready answers 503 naming the database when it is down, while live stays 200', async () => {
      await t.dataSource.destroy();
      try {
        const res = await http().get('/health/ready').expect(503);
        assert.equal(res.body.status, 'error');
        assert.equal(res.body.error.database.status, 'down');
        await http().get('/health/live').expect(200);
      } finally {
        await t.dataSource.initialize();
      }
      await http().get('/health/ready').expect(200);
    });

    it('ready answers 503 from the moment shutdown begins', async () => {
      t.app.get(ShutdownState).begin();
      const res = await http().get('/health/ready').expect(503);
      assert.equal(res.body.status, 'shutting_down');
      assert.equal(res.body.error.shutdown.status, 'down');
      await http().get('/health/live').expect(200);
    });
  });
}

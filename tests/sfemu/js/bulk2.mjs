// Bulk API 2.0 with unmodified jsforce against sfemu (run by tests/sfemu/test_jsforce_bulk.py).
//
//   node bulk2.mjs <out.json>
//
// SFEMU_JS_CONFIG (JSON): url, accessToken, version, count. NODE_EXTRA_CA_CERTS trusts the sfemu
// CA. Each step's outcome goes to <out.json> as {step: {ok, value} | {ok: false, error}}.
import { writeFileSync } from 'node:fs';
import jsforce from 'jsforce';

const [outPath] = process.argv.slice(2);
const cfg = JSON.parse(process.env.SFEMU_JS_CONFIG);
const results = {};

async function step(name, fn) {
  try {
    results[name] = { ok: true, value: await fn() };
  } catch (err) {
    results[name] = {
      ok: false,
      error: { name: err?.name ?? null, errorCode: err?.errorCode ?? null, message: err?.message ?? String(err) },
    };
  }
  return results[name];
}

function collect(stream) {
  return new Promise((resolve, reject) => {
    const records = [];
    stream.on('record', (r) => records.push(r));
    stream.on('error', reject);
    stream.on('end', () => resolve(records));
  });
}

async function main() {
  const conn = new jsforce.Connection({
    instanceUrl: cfg.url,
    accessToken: cfg.accessToken,
    version: cfg.version,
  });
  conn.bulk2.pollInterval = 50;
  conn.bulk2.pollTimeout = 60000;
  const records = Array.from({ length: cfg.count }, (_, i) => ({
    Name: `JSBulk2 ${String(i).padStart(4, '0')}`,
    NumberOfEmployees: i,
  }));
  records.push({ Name: null, NumberOfEmployees: 1 });

  await step('insert', async () => {
    const res = await conn.bulk2.loadAndWaitForResults({ object: 'Account', operation: 'insert', input: records });
    return {
      successful: res.successfulResults.length,
      failed: res.failedResults.length,
      unprocessed: res.unprocessedRecords.length,
      firstSuccess: res.successfulResults[0],
      firstFailure: res.failedResults[0] ?? null,
    };
  });

  await step('query', async () => {
    const stream = await conn.bulk2.query("SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE 'JSBulk2 %'");
    const rows = await collect(stream);
    return { count: rows.length, first: rows[0] };
  });

  await step('jobInfo', async () => {
    const job = conn.bulk2.createJob({ object: 'Account', operation: 'insert' });
    await job.open();
    await job.uploadData('Name\nJS one\nJS two\n');
    await job.close();
    await job.poll(50, 60000);
    return await job.check();
  });

  await step('abortCompleted', async () => {
    const job = conn.bulk2.createJob({ object: 'Account', operation: 'insert' });
    await job.open();
    await job.uploadData('Name\nJS aborted\n');
    await job.abort();
    return await job.check();
  });
}

main()
  .catch((err) => {
    results.fatal = String(err?.stack ?? err);
  })
  .finally(() => writeFileSync(outPath, JSON.stringify(results, null, 2)));

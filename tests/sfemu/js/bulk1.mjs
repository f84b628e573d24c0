// Bulk API v1 with unmodified jsforce (`conn.bulk`) against sfemu (run by
// tests/sfemu/test_jsforce_bulk_v1.py).
//
//   node bulk1.mjs <out.json>
//
// SFEMU_JS_CONFIG (JSON): url, accessToken, version, count. NODE_EXTRA_CA_CERTS trusts the sfemu
// CA. Each step's outcome goes to <out.json> as {step: {ok, value} | {ok: false, error}}; the
// test reads the org back over REST to check what the steps wrote.
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
  conn.bulk.pollInterval = 50;
  conn.bulk.pollTimeout = 60000;

  // Records as JS objects: jsforce writes them as CSV (null as #N/A, booleans as strings).
  const accounts = Array.from({ length: cfg.count }, (_, i) => ({
    Name: `JSBulk1 ${String(i).padStart(3, '0')}`,
    NumberOfEmployees: i,
    Description: i === 0 || i === 3 ? 'comma, "quote"\nnewline' : null,
    External_Id__c: `jsb1-${i}`,
  }));
  accounts.push({ Name: null, NumberOfEmployees: 1, External_Id__c: 'jsb1-noname' });
  const inserted = await step('insert', async () => {
    const res = await conn.bulk.load('Account', 'insert', accounts);
    return res;
  });
  const ids = inserted.ok ? inserted.value.filter((r) => r.success).map((r) => r.id) : [];

  // A CSV string as the batch body.
  await step('insertCsv', async () => {
    const csv = 'LastName,FirstName,Email\n"Bulk1, Contact",Ada,ada@example.com\nBulk1 Second,#N/A,b@example.com\n';
    return await conn.bulk.load('Contact', 'insert', csv);
  });

  await step('update', async () => {
    const rows = ids.slice(0, 3).map((Id, i) => ({ Id, NumberOfEmployees: 1000 + i, Description: null }));
    rows.push({ Id: '001000000000000AAA', NumberOfEmployees: 5 });
    return await conn.bulk.load('Account', 'update', rows);
  });

  await step('upsert', async () => {
    const rows = [
      { External_Id__c: 'jsb1-1', Name: 'JSBulk1 upserted 1' },
      { External_Id__c: 'jsb1-new', Name: 'JSBulk1 upserted new' },
    ];
    return await conn.bulk.load('Account', 'upsert', { extIdField: 'External_Id__c' }, rows);
  });

  await step('delete', async () => {
    return await conn.bulk.load('Account', 'delete', ids.slice(-2).map((Id) => ({ Id })));
  });

  await step('query', async () => {
    const stream = await conn.bulk.query(
      "SELECT Id, Name, NumberOfEmployees, Description, External_Id__c FROM Account WHERE Name LIKE 'JSBulk1 %' ORDER BY Name",
    );
    return await collect(stream);
  });

  await step('queryNone', async () => {
    const stream = await conn.bulk.query("SELECT Id FROM Account WHERE Name = 'no such account'");
    return await collect(stream);
  });

  await step('jobLifecycle', async () => {
    const job = conn.bulk.createJob('Account', 'insert');
    const opened = await job.open();
    const batch = job.createBatch();
    const done = new Promise((resolve, reject) => {
      batch.on('response', resolve);
      batch.on('error', reject);
    });
    batch.on('queue', () => batch.poll(50, 60000));
    batch.execute([{ Name: 'JS v1 lifecycle' }]);
    const response = await done;
    const batches = await job.list();
    const info = await job.check();
    const closed = await job.close();
    return { opened, response, batches, info, closed };
  });

  await step('badObject', async () => {
    const job = conn.bulk.createJob('NoSuchObject__c', 'insert');
    return await job.open();
  });
}

main()
  .catch((err) => {
    results.fatal = String(err?.stack ?? err);
  })
  .finally(() => writeFileSync(outPath, JSON.stringify(results, null, 2)));

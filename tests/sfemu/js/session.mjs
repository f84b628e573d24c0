// A scripted session of unmodified jsforce against sfemu (run by tests/sfemu/test_jsforce.py).
//
//   node session.mjs main|replication <out.json>
//
// Configuration comes from the SFEMU_JS_CONFIG environment variable (JSON): url, username,
// password (password + security token), clientId, clientSecret, version, bulkCount and, for the
// "replication" phase, start/end (ISO datetimes) and the ids to look for. The sfemu CA is trusted
// through NODE_EXTRA_CA_CERTS. Every step's outcome is written to <out.json> as
// {step: {ok: true, value} | {ok: false, error: {name, errorCode, message, data}}}; the Python test
// asserts on it. Steps never abort the session: a failing step is recorded and the next one runs.
import { writeFileSync } from 'node:fs';
import jsforce from 'jsforce';

const [phase, outPath] = process.argv.slice(2);
const cfg = JSON.parse(process.env.SFEMU_JS_CONFIG);
const results = { jsforceVersion: { ok: true, value: jsforce.VERSION } };

function describeError(err) {
  return {
    name: err?.name ?? null,
    errorCode: err?.errorCode ?? null,
    message: err?.message ?? String(err),
    data: err?.data ?? null,
  };
}

async function step(name, fn) {
  try {
    results[name] = { ok: true, value: await fn() };
  } catch (err) {
    results[name] = { ok: false, error: describeError(err) };
  }
  return results[name];
}

// Run fn, which is expected to throw; records the error (or the unexpected success).
async function expectError(name, fn) {
  return step(name, async () => {
    const value = await fn();
    throw Object.assign(new Error('expected an error, got a result'), {
      name: 'NO_ERROR',
      errorCode: 'NO_ERROR',
      data: value,
    });
  });
}

function oauthConnection() {
  return new jsforce.Connection({
    oauth2: {
      loginUrl: cfg.url,
      clientId: cfg.clientId,
      clientSecret: cfg.clientSecret,
      redirectUri: 'http://localhost:1717/OauthRedirect',
    },
    version: cfg.version,
  });
}

async function main() {
  // --- logins -----------------------------------------------------------------------------------
  const conn = oauthConnection();
  await step('oauthLogin', async () => {
    const userInfo = await conn.login(cfg.username, cfg.password);
    return {
      userInfo,
      instanceUrl: conn.instanceUrl,
      accessToken: conn.accessToken,
      refreshToken: conn.refreshToken ?? null,
    };
  });
  if (!results.oauthLogin.ok) return;

  await expectError('oauthLoginBadPassword', () =>
    oauthConnection().login(cfg.username, `${cfg.password}-wrong`),
  );

  const soap = new jsforce.Connection({ loginUrl: cfg.url, version: cfg.version });
  await step('soapLogin', async () => {
    const userInfo = await soap.login(cfg.username, cfg.password);
    return { userInfo, instanceUrl: soap.instanceUrl, accessToken: soap.accessToken };
  });
  await step('soapSessionQuery', () => soap.query('SELECT COUNT() FROM Account'));
  await step('soapIdentity', () => soap.identity());
  await expectError('soapLoginBadPassword', () =>
    new jsforce.Connection({ loginUrl: cfg.url, version: cfg.version }).login(
      cfg.username,
      `${cfg.password}-wrong`,
    ),
  );

  // --- identity, describe ------------------------------------------------------------------------
  await step('identity', () => conn.identity());
  await step('describeGlobal', async () => {
    const res = await conn.describeGlobal();
    return {
      keys: Object.keys(res),
      encoding: res.encoding,
      maxBatchSize: res.maxBatchSize,
      names: res.sobjects.map((s) => s.name),
      account: res.sobjects.find((s) => s.name === 'Account'),
    };
  });
  await step('describeAccount', async () => {
    const res = await conn.sobject('Account').describe();
    return {
      name: res.name,
      keyPrefix: res.keyPrefix,
      keys: Object.keys(res),
      fields: Object.fromEntries(
        res.fields.map((f) => [
          f.name,
          {
            type: f.type,
            length: f.length,
            externalId: f.externalId,
            unique: f.unique,
            restrictedPicklist: f.restrictedPicklist,
            picklistValues: f.picklistValues.map((p) => p.value),
            createable: f.createable,
            updateable: f.updateable,
            nillable: f.nillable,
          },
        ]),
      ),
    };
  });
  await expectError('describeUnknown', () => conn.sobject('NoSuchThing__c').describe());

  // --- single-record CRUD ------------------------------------------------------------------------
  const Account = conn.sobject('Account');
  const created = await step('create', () =>
    Account.create({ Name: 'JS Acme', External_Id__c: 'JS-1', Tier__c: 'Gold' }),
  );
  const id = created.ok ? created.value.id : null;
  await step('retrieve', () => Account.retrieve(id));
  await step('retrieveFields', () => Account.retrieve(id, { fields: ['Name', 'Tier__c'] }));
  await step('update', () => Account.update({ Id: id, Name: 'JS Acme Renamed', NumberOfEmployees: 12 }));
  await step('retrieveAfterUpdate', () => Account.retrieve(id));
  await step('upsertExisting', () =>
    Account.upsert({ External_Id__c: 'JS-1', Name: 'JS Acme Upserted' }, 'External_Id__c'),
  );
  await step('upsertNew', () =>
    Account.upsert({ External_Id__c: 'JS-2', Name: 'JS Upsert Created' }, 'External_Id__c'),
  );
  await step('upsertExistingV45', async () => {
    const old = new jsforce.Connection({
      instanceUrl: conn.instanceUrl,
      accessToken: conn.accessToken,
      version: '45.0',
    });
    return old.sobject('Account').upsert({ External_Id__c: 'JS-1', Phone: '555-0100' }, 'External_Id__c');
  });
  await step('retrieveAfterUpsert', () => Account.retrieve(id));
  await step('upsertMany', () =>
    Account.upsert(
      [
        { External_Id__c: 'JS-1', Name: 'JS Acme Batch' },
        { External_Id__c: 'JS-3', Name: 'JS Batch Created' },
      ],
      'External_Id__c',
    ),
  );
  await step('destroy', () => Account.destroy(id));
  await expectError('retrieveDeleted', () => Account.retrieve(id));
  await expectError('destroyAgain', () => Account.destroy(id));
  await step('queryAllDeleted', () =>
    conn.query(`SELECT Id, Name, IsDeleted FROM Account WHERE Id = '${id}'`, { scanAll: true }),
  );
  await step('queryDeleted', () => conn.query(`SELECT Id FROM Account WHERE Id = '${id}'`));

  // --- collections -------------------------------------------------------------------------------
  const partial = await step('createManyPartial', () =>
    Account.create(
      [{ Name: 'JS Coll 1' }, { Description: 'no name' }, { Name: 'JS Coll 3', Tier__c: 'Bronze' }, { Name: 'JS Coll 4' }],
      { allOrNone: false },
    ),
  );
  await step('createManyAllOrNone', async () => {
    const res = await Account.create([{ Name: 'JS Atomic 1' }, { Description: 'no name either' }], {
      allOrNone: true,
    });
    const left = await conn.query("SELECT COUNT() FROM Account WHERE Name = 'JS Atomic 1'");
    return { results: res, survivors: left.totalSize };
  });
  const okIds = partial.ok ? partial.value.filter((r) => r.success).map((r) => r.id) : [];
  await step('retrieveMany', () => Account.retrieve([...okIds, '001000000000000AAA'].slice(-3)));
  await step('updateMany', () =>
    Account.update(okIds.map((rid, i) => ({ Id: rid, Name: `JS Coll Updated ${i}` }))),
  );
  await step('queryUpdatedMany', () =>
    conn.query("SELECT Name FROM Account WHERE Name LIKE 'JS Coll Updated %' ORDER BY Name"),
  );
  await step('destroyMany', () => Account.destroy(okIds));

  // --- semantic errors -------------------------------------------------------------------------
  await expectError('errRequired', () => Account.create({ Description: 'nameless' }));
  await expectError('errTooLong', () => Account.create({ Name: 'x'.repeat(256) }));
  await expectError('errPicklist', () => Account.create({ Name: 'JS Bad Tier', Tier__c: 'Bronze' }));
  await expectError('errNotWritable', () => Account.create({ Name: 'JS Read Only', IsDeleted: true }));
  await expectError('errNotWritableUpdate', async () => {
    const fresh = await Account.create({ Name: 'JS Audit' });
    return Account.update({ Id: fresh.id, CreatedDate: '2020-01-01T00:00:00.000+0000' });
  });
  await expectError('errCrossReference', async () => {
    const ghost = await Account.create({ Name: 'JS Ghost Parent' });
    // a well-formed Account id of this org that names no record
    const missing = `${ghost.id.slice(0, 9)}zzzzzz`;
    return conn.sobject('Contact').create({ LastName: 'Orphan', AccountId: missing });
  });
  await expectError('errDuplicate', async () => {
    await Account.create({ Name: 'JS Unique A', External_Id__c: 'JS-DUP' });
    return Account.create({ Name: 'JS Unique B', External_Id__c: 'JS-DUP' });
  });
  await expectError('errValidation', () => Account.create({ Name: 'JS Negative', NumberOfEmployees: -5 }));
  await expectError('errNotFound', () => Account.retrieve('001000000000000AAA'));
  await expectError('errUpdateDeleted', () => Account.update({ Id: id, Name: 'zombie' }));
  await expectError('errMalformedQuery', () => conn.query('SELEC Id FROM Account'));
  await expectError('errInvalidField', () => conn.query('SELECT Id, Nonexistent__c FROM Account'));
  await expectError('errInvalidType', () => conn.query('SELECT Id FROM Xyzzy'));
  await expectError('errUpsertMultiple', async () => {
    await Account.create([
      { Name: 'JS Legacy 1', Legacy_Key__c: 'L-1' },
      { Name: 'JS Legacy 2', Legacy_Key__c: 'L-1' },
    ]);
    return Account.upsert({ Legacy_Key__c: 'L-1', Name: 'which?' }, 'Legacy_Key__c');
  });
  await expectError('errExpiredSession', async () => {
    const bad = new jsforce.Connection({
      instanceUrl: conn.instanceUrl,
      accessToken: '00Dxx0000000000!AQbogus',
      version: cfg.version,
    });
    return bad.query('SELECT Id FROM Account LIMIT 1');
  });

  // --- > 5,000 rows: recursive collection create, query + queryMore, autoFetch -------------------
  const bulk = Array.from({ length: cfg.bulkCount }, (_, i) => ({
    Name: `JSBulk ${String(i).padStart(5, '0')}`,
  }));
  await step('createBulk', async () => {
    const res = await Account.create(bulk, { allowRecursive: true });
    return { count: res.length, failures: res.filter((r) => !r.success).length };
  });
  const soql = "SELECT Id, Name FROM Account WHERE Name LIKE 'JSBulk %' ORDER BY Name";
  const first = await step('queryFirstPage', async () => {
    const res = await conn.query(soql, { autoFetch: false });
    return {
      keys: Object.keys(res),
      totalSize: res.totalSize,
      done: res.done,
      nextRecordsUrl: res.nextRecordsUrl ?? null,
      count: res.records.length,
      firstName: res.records[0]?.Name,
      firstRecordKeys: Object.keys(res.records[0] ?? {}),
    };
  });
  await step('queryMore', async () => {
    const pages = [];
    let next = first.ok ? first.value.nextRecordsUrl : null;
    while (next) {
      const res = await conn.queryMore(next);
      pages.push({ count: res.records.length, done: res.done, first: res.records[0]?.Name });
      next = res.done ? null : res.nextRecordsUrl;
      if (pages.length > 10) break;
    }
    return pages;
  });
  await step('autoFetch', async () => {
    const res = await conn.query(soql).run({ autoFetch: true, maxFetch: 100000 });
    const { records } = res;
    return {
      totalSize: res.totalSize,
      done: res.done,
      count: records.length,
      unique: new Set(records.map((r) => r.Id)).size,
      first: records[0]?.Name,
      last: records[records.length - 1]?.Name,
    };
  });
  await step('autoFetchEvents', () => {
    return new Promise((resolve, reject) => {
      let count = 0;
      conn
        .query(soql)
        .on('record', () => {
          count += 1;
        })
        .on('end', () => resolve({ count }))
        .on('error', reject)
        .run({ autoFetch: true, maxFetch: 100000 });
    });
  });
  await step('countQuery', () => conn.query("SELECT COUNT() FROM Account WHERE Name LIKE 'JSBulk %'"));

  // --- records for the replication phase ---------------------------------------------------------
  await step('replicationSetup', async () => {
    const kept = await Account.create({ Name: 'JS Replicated' });
    const gone = await Account.create({ Name: 'JS Removed' });
    await Account.destroy(gone.id);
    return { kept: kept.id, gone: gone.id };
  });
}

async function replication() {
  const conn = oauthConnection();
  await step('login', () => conn.login(cfg.username, cfg.password));
  const Account = conn.sobject('Account');
  await step('updated', () => Account.updated(cfg.start, cfg.end));
  await step('deleted', () => Account.deleted(cfg.start, cfg.end));
  await step('updatedDateObjects', () => Account.updated(new Date(cfg.start), new Date(cfg.end)));
  await expectError('updatedBackwards', () => Account.updated(cfg.end, cfg.start));
}

const phases = { main, replication };
try {
  await phases[phase]();
} catch (err) {
  results.fatal = { ok: false, error: describeError(err) };
}
writeFileSync(outPath, JSON.stringify(results, null, 2));

// jsforce's less common calls against sfemu (run by tests/sfemu/test_jsforce_extras.py):
// composite/batch and composite/tree through conn.requestPost, conn.recent(), tooling
// executeAnonymous, metadata.retrieve (the <retrieve><request> element), SOAP and OAuth logout.
//
//   node extras.mjs <out.json>
//
// SFEMU_JS_CONFIG (JSON): url, username, password (password + security token), clientId,
// clientSecret, version. NODE_EXTRA_CA_CERTS trusts the sfemu CA. Each step's outcome goes to
// <out.json> as {step: {ok: true, value} | {ok: false, error: {name, errorCode, message, data}}};
// a failing step is recorded and the next one runs.
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
      error: {
        name: err?.name ?? null,
        errorCode: err?.errorCode ?? null,
        message: err?.message ?? String(err),
        data: err?.data ?? null,
      },
    };
  }
  return results[name];
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

function tokenConnection(accessToken) {
  return new jsforce.Connection({ instanceUrl: cfg.url, accessToken, version: cfg.version });
}

async function main() {
  const conn = oauthConnection();
  await step('login', () => conn.login(cfg.username, cfg.password));
  if (!results.login.ok) return;

  // --- composite/batch -----------------------------------------------------------------------
  await step('batch', async () => {
    const created = await conn.sobject('Account').create({ Name: 'JS Batch' });
    const v = `v${cfg.version}`;
    const answer = await conn.requestPost('/composite/batch', {
      batchRequests: [
        { method: 'PATCH', url: `${v}/sobjects/Account/${created.id}`, richInput: { Name: 'JS Batch Renamed' } },
        { method: 'GET', url: `${v}/sobjects/Account/${created.id}?fields=Name` },
        { method: 'GET', url: `${v}/sobjects/Account/001000000000000AAA` },
        { method: 'GET', url: `${v}/query?q=SELECT+Id+FROM+Account+WHERE+Name+=+'JS+Batch+Renamed'` },
      ],
    });
    return { id: created.id, answer };
  });
  await step('batchHalted', () =>
    conn.requestPost('/composite/batch', {
      haltOnError: true,
      batchRequests: [
        { method: 'POST', url: `v${cfg.version}/sobjects/Account`, richInput: {} },
        { method: 'POST', url: `v${cfg.version}/sobjects/Account`, richInput: { Name: 'JS Never' } },
      ],
    }),
  );
  await step('batchHaltedSurvivors', async () => (await conn.query("SELECT Id FROM Account WHERE Name = 'JS Never'")).totalSize);

  // --- composite/tree --------------------------------------------------------------------------
  await step('tree', async () => {
    const answer = await conn.requestPost('/composite/tree/Account', {
      records: [
        {
          attributes: { type: 'Account', referenceId: 'acc1' },
          Name: 'JS Tree Parent',
          Contacts: {
            records: [
              { attributes: { type: 'Contact', referenceId: 'con1' }, LastName: 'JS Tree Child 1' },
              { attributes: { type: 'Contact', referenceId: 'con2' }, LastName: 'JS Tree Child 2' },
            ],
          },
        },
      ],
    });
    const children = await conn.query(
      "SELECT Id, LastName, AccountId, Account.Name FROM Contact WHERE LastName LIKE 'JS Tree Child%' ORDER BY LastName",
    );
    return { answer, children: children.records.map((r) => ({ Id: r.Id, AccountId: r.AccountId, parent: r.Account.Name })) };
  });
  await step('treeFailure', async () => {
    try {
      await conn.requestPost('/composite/tree/Account', {
        records: [
          { attributes: { type: 'Account', referenceId: 'good' }, Name: 'JS Tree Rolled Back' },
          { attributes: { type: 'Account', referenceId: 'bad' }, Phone: '555' },
        ],
      });
    } catch (err) {
      const left = await conn.query("SELECT Id FROM Account WHERE Name = 'JS Tree Rolled Back'");
      return { name: err.name, message: err.message, survivors: left.totalSize };
    }
    throw new Error('the failing tree was accepted');
  });

  // --- recent ----------------------------------------------------------------------------------
  await step('recent', () => conn.recent());
  await step('recentLimit', () => conn.recent(5));

  // --- anonymous Apex --------------------------------------------------------------------------
  await step('executeAnonymous', () => conn.tooling.executeAnonymous("System.debug('hello from jsforce');"));
  // The Apex SOAP call exactly as the Salesforce CLI's `sf apex run` makes it
  // (@salesforce/apex-node ExecuteService: encodeBody + connection.request, which parses the XML).
  await step('apexSoap', () => {
    const code = "System.debug('<b> & c');\nInteger i = 1;";
    const escaped = code.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]);
    const body = `<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema"
xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"
xmlns:cmd="http://soap.sforce.com/2006/08/apex"
xmlns:apex="http://soap.sforce.com/2006/08/apex">
    <env:Header>
        <cmd:SessionHeader>
            <cmd:sessionId>${conn.accessToken}</cmd:sessionId>
        </cmd:SessionHeader>
        <apex:DebuggingHeader><apex:debugLevel>DEBUGONLY</apex:debugLevel></apex:DebuggingHeader>
    </env:Header>
    <env:Body>
        <executeAnonymous xmlns="http://soap.sforce.com/2006/08/apex">
            <apexcode>${escaped}</apexcode>
        </executeAnonymous>
    </env:Body>
</env:Envelope>`;
    return conn.request({
      method: 'POST',
      url: `${conn.instanceUrl}/services/Soap/s/${conn.version}/${conn.accessToken.split('!')[0]}`,
      body,
      headers: { 'content-type': 'text/xml', soapaction: 'executeAnonymous' },
    });
  });

  // --- metadata retrieve (jsforce sends <retrieve><request>) -------------------------------
  await step('metadataRetrieve', async () => {
    conn.metadata.pollInterval = 50;
    conn.metadata.pollTimeout = 60000;
    const result = await conn.metadata
      .retrieve({
        apiVersion: cfg.version,
        singlePackage: false,
        unpackaged: { types: [{ name: 'CustomField', members: ['Account.JS_Key__c'] }], version: cfg.version },
      })
      .complete();
    return {
      done: result.done,
      success: result.success,
      status: result.status,
      fileNames: [].concat(result.fileProperties ?? []).map((p) => p.fileName).sort(),
      zipFile: result.zipFile,
    };
  });

  // --- logout: OAuth (revoke) ------------------------------------------------------------------
  const token = conn.accessToken;
  await step('oauthLogout', async () => {
    await conn.logout();
    return { accessTokenAfter: conn.accessToken ?? null };
  });
  await step('afterOauthLogout', () => tokenConnection(token).query('SELECT Id FROM Account LIMIT 1'));

  // --- logout: SOAP ----------------------------------------------------------------------------
  const soap = new jsforce.Connection({ loginUrl: cfg.url, version: cfg.version });
  await step('soapLogin', async () => {
    await soap.login(cfg.username, cfg.password);
    return { sessionType: soap._sessionType ?? null };
  });
  const soapToken = soap.accessToken;
  await step('beforeSoapLogout', async () => (await tokenConnection(soapToken).query('SELECT COUNT() FROM Account')).done);
  await step('soapLogout', async () => {
    await soap.logout();
    return { accessTokenAfter: soap.accessToken ?? null };
  });
  await step('afterSoapLogout', () => tokenConnection(soapToken).query('SELECT Id FROM Account LIMIT 1'));
  await step('soapLogoutAgain', () => {
    const stale = new jsforce.Connection({ instanceUrl: cfg.url, accessToken: soapToken, version: cfg.version });
    return stale.logoutBySoap();
  });
}

main()
  .catch((err) => {
    results.fatal = String(err?.stack ?? err);
  })
  .finally(() => writeFileSync(outPath, JSON.stringify(results, null, 2)));

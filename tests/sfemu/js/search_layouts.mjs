// jsforce's search, layouts, compact layouts, list views and relationship reads against sfemu
// (run by tests/sfemu/test_jsforce_search_layouts.py).
//
//   node search_layouts.mjs <out.json>
//
// SFEMU_JS_CONFIG (JSON): url (instance URL), accessToken, version, accountId. The sfemu CA is
// trusted through NODE_EXTRA_CA_CERTS. Every step's outcome is written to <out.json> as
// {step: {ok: true, value} | {ok: false, error: {name, errorCode, message}}}.
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

const conn = new jsforce.Connection({ instanceUrl: cfg.url, accessToken: cfg.accessToken, version: cfg.version });
const account = conn.sobject('Account');
await step('search', () => conn.search('FIND {Acme} IN NAME FIELDS RETURNING Account(Id, Name ORDER BY Name)'));
await step('searchMalformed', () => conn.search('FIND {Acme|Bad}'));
await step('layouts', () => account.layouts());
await step('compactLayouts', () => account.compactLayouts());
const views = await step('listviews', () => account.listviews());
if (views.ok) {
  const all = views.value.listviews.find((v) => v.developerName === 'AllAccounts');
  await step('listviewDescribe', () => account.listview(all.id).describe());
  await step('listviewResults', () => account.listview(all.id).results());
}
await step('contacts', () => conn.request(`/sobjects/Account/${cfg.accountId}/Contacts`));
await step('badRelationship', () => conn.request(`/sobjects/Account/${cfg.accountId}/Nope__r`));
writeFileSync(outPath, JSON.stringify(results, null, 2));

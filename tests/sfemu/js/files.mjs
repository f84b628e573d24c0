// jsforce's file and feed calls against sfemu (run by tests/sfemu/test_jsforce_files.py):
// ContentVersion create with base64 VersionData, the ContentDocument/ContentDocumentLink rows it
// makes (conn.query), a new version, VersionData and Attachment Body downloads via conn.request,
// FeedItem/FeedComment rows, and the ContentDocumentLink filter restriction.
//
//   node files.mjs <out.json>
//
// SFEMU_JS_CONFIG (JSON): url, accessToken, version, payload (text to upload). NODE_EXTRA_CA_CERTS
// trusts the sfemu CA. Each step's outcome goes to <out.json> as
// {step: {ok: true, value} | {ok: false, error: {name, errorCode, message}}}.
import { createHash } from 'node:crypto';
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

const b64 = (text) => Buffer.from(text, 'utf8').toString('base64');
const md5 = (text) => createHash('md5').update(text, 'utf8').digest('hex');

async function main() {
  const conn = new jsforce.Connection({ instanceUrl: cfg.url, accessToken: cfg.accessToken, version: cfg.version });
  const v = `/services/data/v${cfg.version}`;
  const account = await conn.sobject('Account').create({ Name: 'JS Files' });

  const upload = await step('upload', () =>
    conn.sobject('ContentVersion').create({
      Title: 'JS Notes',
      PathOnClient: 'notes.txt',
      VersionData: b64(cfg.payload),
      FirstPublishLocationId: account.id,
    }),
  );
  if (!upload.ok) return;
  const versionId = upload.value.id;
  const version = await step('version', async () =>
    (await conn.query(
      `SELECT Id, ContentDocumentId, VersionNumber, IsLatest, ContentSize, Checksum, FileType FROM ContentVersion WHERE Id = '${versionId}'`,
    )).records[0],
  );
  const docId = version.value.ContentDocumentId;
  await step('links', async () =>
    (await conn.query(`SELECT ContentDocumentId, ShareType FROM ContentDocumentLink WHERE LinkedEntityId = '${account.id}'`))
      .records.map((r) => ({ ContentDocumentId: r.ContentDocumentId, ShareType: r.ShareType })),
  );
  await step('download', async () => {
    const body = await conn.request({ method: 'GET', url: `${v}/sobjects/ContentVersion/${versionId}/VersionData` });
    return { body, md5: md5(body) };
  });
  await step('nextVersion', async () => {
    const next = await conn.sobject('ContentVersion').create({
      ContentDocumentId: docId,
      PathOnClient: 'notes.txt',
      VersionData: b64('second draft'),
    });
    const doc = await conn.sobject('ContentDocument').retrieve(docId);
    const versions = await conn.query(
      `SELECT Id, VersionNumber, IsLatest FROM ContentVersion WHERE ContentDocumentId = '${docId}' ORDER BY VersionNumber`,
    );
    return {
      id: next.id,
      latest: doc.LatestPublishedVersionId,
      versions: versions.records.map((r) => [r.Id, r.VersionNumber, r.IsLatest]),
    };
  });
  await step('attachment', async () => {
    const att = await conn.sobject('Attachment').create({ ParentId: account.id, Name: 'a.txt', Body: b64('attached text') });
    const row = await conn.sobject('Attachment').retrieve(att.id);
    const body = await conn.request({ method: 'GET', url: `${v}/sobjects/Attachment/${att.id}/Body` });
    return { bodyLength: row.BodyLength, body };
  });
  await step('feed', async () => {
    const item = await conn.sobject('FeedItem').create({ ParentId: account.id, Body: 'From jsforce' });
    await conn.sobject('FeedComment').create({ FeedItemId: item.id, CommentBody: 'Reply' });
    const items = await conn.query(
      `SELECT Id, Type, Body, (SELECT CommentBody, CommentType FROM FeedComments) FROM FeedItem WHERE ParentId = '${account.id}'`,
    );
    return items.records.map((r) => ({
      Type: r.Type,
      Body: r.Body,
      comments: r.FeedComments.records.map((c) => [c.CommentBody, c.CommentType]),
    }));
  });
  await step('unfilteredLinks', () => conn.query('SELECT Id FROM ContentDocumentLink'));
}

main()
  .catch((err) => {
    results.fatal = String(err?.stack ?? err);
  })
  .finally(() => writeFileSync(outPath, JSON.stringify(results, null, 2)));

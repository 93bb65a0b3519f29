// Drives hubspottest with HubSpot's official Node client, @hubspot/api-client.
// Input (env): HS_URL, HS_TOKEN, SIGN_SECRET, SIGN_URL, SIGN_BODY, SIGN_TS.
// Output: one JSON line the Go test checks.
const hubspot = require('@hubspot/api-client');
const { Signature } = require('@hubspot/api-client/lib/src/utils/signature');

async function main() {
  const client = new hubspot.Client({ accessToken: process.env.HS_TOKEN, basePath: process.env.HS_URL, numberOfApiCallRetries: 0 });
  const out = {};
  // List paging (limit/after) through the SDK's own getAll.
  const all = await client.crm.companies.getAll(100, undefined, ['name', 'domain']);
  out.listed = all.length;
  out.firstName = all[0].properties.name;
  // Search with a filter, sort and paging token.
  const res = await client.crm.companies.searchApi.doSearch({
    filterGroups: [{ filters: [{ propertyName: 'name', operator: 'EQ', value: 'Company 7' }] }],
    sorts: [{ propertyName: 'hs_lastmodifieddate', direction: 'ASCENDING' }],
    properties: ['name'], limit: 10, after: '0',
  });
  out.searchTotal = res.total;
  out.searchName = res.results.length ? res.results[0].properties.name : '';
  // Batch update with one unknown ID: a 207 multi-status the SDK decodes.
  const batch = await client.crm.companies.batchApi.update({
    inputs: [
      { id: all[0].id, properties: { name: 'Renamed by the SDK' } },
      { id: '999999999', properties: { name: 'nobody' } },
    ],
  });
  out.batchStatus = batch.status;
  out.batchUpdated = batch.results.length;
  out.batchErrors = (batch.errors || []).length;
  // A v3 webhook signature as the SDK computes it.
  out.signature = Signature.getSignature('POST', 'v3', {
    clientSecret: process.env.SIGN_SECRET, url: process.env.SIGN_URL,
    requestBody: process.env.SIGN_BODY, timestamp: Number(process.env.SIGN_TS),
  });
  // A wrong token: the SDK's error carries the fake's HTTP status.
  try {
    await new hubspot.Client({ accessToken: 'wrong', basePath: process.env.HS_URL, numberOfApiCallRetries: 0 })
      .crm.companies.basicApi.getPage(1);
    out.badTokenStatus = 200;
  } catch (e) {
    out.badTokenStatus = e.code;
  }
  console.log(JSON.stringify(out));
}

main().catch((e) => { console.error(e && e.stack || e); process.exit(1); });

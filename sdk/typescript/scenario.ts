// The SDK scenario in TypeScript: the contract's types from openapi-typescript
// (sdk/out/typescript/kluis.d.ts, made by sdk/run.sh), calls through
// openapi-fetch, compiled by `tsc --strict` before it runs. A request or an
// answer that does not fit the contract is a compile error; an answer that
// is not the documented success fails the run.
//
// operator token -> tenant -> client -> people with contacts -> a consent
// granted and checked -> the people listed page by page with the cursor.
//
//   node build/scenario.js BASE_URL OPERATOR_FILE

import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import createClient from "openapi-fetch";
import type { paths } from "../out/typescript/kluis";

const [base, operatorFile] = process.argv.slice(2);
if (!base || !operatorFile) throw new Error("usage: scenario.js BASE_URL OPERATOR_FILE");

function fail(step: string, answer: { error?: unknown; response: Response }): never {
  throw new Error(`typescript: ${step}: ${answer.response.status} ${JSON.stringify(answer.error)}`);
}

async function accessToken(clientId: string, secret: string): Promise<string> {
  const anonymous = createClient<paths>({ baseUrl: base });
  const answer = await anonymous.POST("/v1/oauth/token", {
    body: { grant_type: "client_credentials", client_id: clientId, client_secret: secret },
  });
  if (!answer.data) fail("token", answer);
  return answer.data.access_token;
}

function as(token: string) {
  return createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${token}` } });
}

const operator = JSON.parse(readFileSync(operatorFile, "utf8")) as { client_id: string; client_secret: string };
const op = as(await accessToken(operator.client_id, operator.client_secret));

const slug = `sdk-ts-${randomUUID().slice(0, 8)}`;
const tenant = await op.POST("/v1/tenants", { body: { name: "SDK TypeScript", slug } });
if (!tenant.data) fail("create tenant", tenant);
const admin = as(await accessToken(tenant.data.admin_client.client_id, tenant.data.admin_client.client_secret));

const made = await admin.POST("/v1/clients", {
  body: { name: "back office", scopes: ["people:read", "people:write", "consent:read", "consent:write"] },
});
if (!made.data) fail("create client", made);
const office = as(await accessToken(made.data.client_id, made.data.client_secret));

const people: string[] = [];
for (let n = 0; n < 3; n++) {
  const person = await office.POST("/v1/people", {
    body: {
      first_name: `Anna${n}`,
      last_name: "de Vries",
      emails: [{ address: `anna${n}@devries.example`, label: "work" }],
      phones: [{ number: `+3161234567${n}`, label: "home" }],
      addresses: [
        { street: "Dorpsstraat", house_number: String(n + 1), postal_code: "1234 AB", city: "Utrecht", country: "NL", label: "private" },
      ],
    },
  });
  if (!person.data) fail("create person", person);
  if (person.data.emails?.[0]?.address !== `anna${n}@devries.example`) throw new Error("typescript: the e-mail came back changed");
  people.push(person.data.id);
}

const [first, second] = people as [string, string, string];
const grant = await office.POST("/v1/people/{person_id}/consents", {
  params: { path: { person_id: first } },
  body: { purpose: "marketing_email", action: "grant", source: "web" },
});
if (!grant.data) fail("grant consent", grant);
for (const [person, expected] of [[first, true], [second, false]] as const) {
  const check = await office.GET("/v1/consents/check", { params: { query: { person_id: person, purpose: "marketing_email" } } });
  if (!check.data) fail("check consent", check);
  if (check.data.allowed !== expected) throw new Error(`typescript: consent check said ${check.data.allowed} for ${person}`);
}

const seen: string[] = [];
let cursor: string | undefined;
let pages = 0;
do {
  const page = await office.GET("/v1/people", { params: { query: { limit: 2, cursor } } });
  if (!page.data) fail("list people", page);
  seen.push(...page.data.items.map((p) => p.id));
  cursor = page.data.next_cursor ?? undefined;
  pages++;
} while (cursor);
if ([...seen].sort().join() !== [...people].sort().join()) throw new Error(`typescript: listed ${seen} for ${people}`);
console.log(`typescript: scenario passed on ${base} (tenant ${slug}, ${seen.length} people over ${pages} pages)`);

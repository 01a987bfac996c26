import assert from "node:assert/strict";
import { parseAccounts } from "./accounts.ts";
import { UsageError } from "./errors.ts";

Deno.test("parseAccounts: lines, comments, passwords with spaces, lowercased e-mails", () => {
  assert.deepEqual(parseAccounts("\n# ops\nAlice@Example.com  a b \r\nbob@x.org\tp\n", "f"), [
    { email: "alice@example.com", password: "a b" },
    { email: "bob@x.org", password: "p" },
  ]);
});

Deno.test("parseAccounts: JSON list or {accounts: [...]}", () => {
  const list = [{ email: "a@x.org", password: "p" }];
  assert.deepEqual(parseAccounts(JSON.stringify(list), "f"), list);
  assert.deepEqual(parseAccounts(JSON.stringify({ accounts: list }), "f"), list);
});

Deno.test("parseAccounts: bad files name --accounts and where", () => {
  const bad: [string, RegExp][] = [
    ["", /no account in it/],
    ["not-an-email p", /line 1: not an e-mail address/],
    ["a@x.org", /line 1: no master password/],
    ['[{"email":"a@x.org"}]', /entry 1: no master password/],
    ['{"users":[]}', /expected a list/],
    ["[", /Invalid --accounts f: /],
    ["a@x.org p\nA@X.org q", /a@x.org is listed twice/],
  ];
  for (const [text, message] of bad) {
    assert.throws(() => parseAccounts(text, "f"), (e) => {
      assert.ok(e instanceof UsageError);
      assert.equal(e.flag, "--accounts");
      assert.match(e.message, message);
      return true;
    });
  }
});

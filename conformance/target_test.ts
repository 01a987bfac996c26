import assert from "node:assert/strict";
import { UsageError } from "./errors.ts";
import { queueEndpoint } from "./preflight.ts";
import {
  parseTargetFile,
  redactTarget,
  resolveTarget,
  targetCapabilities,
  unmetNeeds,
} from "./target.ts";

function usage(flag: string, message: RegExp) {
  return (e: unknown) => e instanceof UsageError && e.flag === flag && message.test(e.message);
}

Deno.test("resolveTarget: defaults from --target", () => {
  const t = resolveTarget({ target: "https://vault.example.com/" });
  assert.deepEqual(t, {
    baseUrl: "https://vault.example.com",
    hubUrl: "https://vault.example.com/notifications/hub",
    extraHubUrls: [],
    anonymousHubUrl: "https://vault.example.com/notifications/anonymous-hub",
    sendUrl: "https://vault.example.com/notifications/send",
    apiUrl: "https://vault.example.com/api",
    identityUrl: "https://vault.example.com/identity",
    inject: "api",
    queueName: "notifications",
    protocols: ["messagepack", "json"],
  });
});

Deno.test("resolveTarget: overrides, flags over file", () => {
  const t = resolveTarget({
    target: "http://127.0.0.1:8080",
    apiUrl: "http://127.0.0.1:4000",
    scaleoutHubUrl: ["ws://127.0.0.1:8081/notifications/hub"],
    protocol: ["json", "json"],
    inject: "send",
    internalKey: "k",
  }, { target: "http://ignored", identityUrl: "http://127.0.0.1:33656", installationId: "i-1" });
  assert.equal(t.hubUrl, "http://127.0.0.1:8080/notifications/hub");
  assert.equal(t.apiUrl, "http://127.0.0.1:4000");
  assert.equal(t.identityUrl, "http://127.0.0.1:33656");
  assert.deepEqual(t.extraHubUrls, ["ws://127.0.0.1:8081/notifications/hub"]);
  assert.deepEqual(t.protocols, ["json"]);
  assert.equal(t.internalClientId, "internal.hubproof");
  assert.equal(t.installationId, "i-1");
  assert.deepEqual([...targetCapabilities(t)].sort(), [
    "identity",
    "inject:envelope",
    "inject:send",
    "installation",
    "scaleout",
  ]);
});

Deno.test("resolveTarget: only a hub URL", () => {
  const t = resolveTarget({
    hubUrl: "http://127.0.0.1:5000/prefix/notifications/hub",
    actAsAuthority: 0,
  });
  assert.equal(t.baseUrl, undefined);
  assert.equal(t.anonymousHubUrl, "http://127.0.0.1:5000/prefix/notifications/anonymous-hub");
  assert.equal(t.sendUrl, "http://127.0.0.1:5000/prefix/notifications/send");
  assert.equal(t.apiUrl, "http://127.0.0.1:5000/prefix/api");
  assert.equal(t.actAsAuthorityHostname, "127.0.0.1");
  assert.ok(targetCapabilities(t).has("authority"));
});

Deno.test("resolveTarget rejects bad or missing values naming the flag", () => {
  assert.throws(() => resolveTarget({}), usage("--target", /^Missing --target/));
  assert.throws(() => resolveTarget({ target: "nope" }), usage("--target", /not an absolute URL/));
  assert.throws(
    () => resolveTarget({ target: "ftp://x" }),
    usage("--target", /scheme must be http or https/),
  );
  assert.throws(
    () => resolveTarget({ target: "http://x", inject: "mail" }),
    usage("--inject", /got "mail"/),
  );
  assert.throws(
    () => resolveTarget({ target: "http://x", inject: "send" }),
    usage("--internal-key", /needs an internal token/),
  );
  assert.throws(
    () => resolveTarget({ target: "http://x", inject: "queue" }),
    usage("--queue-connection-string", /Missing/),
  );
  assert.throws(
    () => resolveTarget({ target: "http://x", protocol: ["xml"] }),
    usage("--protocol", /got "xml"/),
  );
  assert.throws(
    () => resolveTarget({ target: "http://x", authorityIssuer: "http://i" }),
    usage("--authority-issuer", /needs --act-as-authority/),
  );
  assert.throws(
    () => resolveTarget({ target: "http://x", queueName: "Bad_Name" }),
    usage("--queue-name", /not an Azure queue name/),
  );
  assert.throws(
    () => resolveTarget({ target: "http://x", scaleoutHubUrl: ["x"] }),
    usage("--scaleout-hub-url", /not an absolute URL/),
  );
});

Deno.test("parseTargetFile", () => {
  assert.deepEqual(
    parseTargetFile({
      target: "http://x",
      scaleoutHubUrl: "http://y",
      actAsAuthority: 9000,
      hubUrl: null,
    }, "t.json"),
    {
      target: "http://x",
      scaleoutHubUrl: ["http://y"],
      actAsAuthority: 9000,
    },
  );
  assert.throws(
    () => parseTargetFile([], "t.json"),
    usage("--target-file", /t\.json: expected a JSON object/),
  );
  assert.throws(
    () => parseTargetFile({ timeout: 5 }, "t.json"),
    usage("--target-file", /key "timeout": unknown key/),
  );
  assert.throws(
    () => parseTargetFile({ target: 5 }, "t.json"),
    usage("--target-file", /key "target": expected a string/),
  );
  assert.throws(
    () => parseTargetFile({ actAsAuthority: 70000 }, "t.json"),
    /expected a port 0\.\.65535/,
  );
});

Deno.test("unmetNeeds, redactTarget, queueEndpoint", () => {
  const t = resolveTarget({
    target: "http://x",
    inject: "queue",
    queueConnectionString:
      "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=SECRET;EndpointSuffix=core.windows.net",
    internalToken: "TOKEN",
  });
  const caps = targetCapabilities(t);
  assert.equal(unmetNeeds(["inject:queue", "inject:envelope"], caps), undefined);
  assert.equal(
    unmetNeeds(["inject:api", "scaleout"], caps),
    "Needs inject:api (run with --inject api), scaleout (give a second hub of the deployment with --scaleout-hub-url)",
  );
  const r = redactTarget(t);
  assert.equal(r.internalToken, "<redacted>");
  assert.equal(
    r.queueConnectionString,
    "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=<redacted>;EndpointSuffix=core.windows.net",
  );
  assert.equal(queueEndpoint(t.queueConnectionString!), "https://acct.queue.core.windows.net");
  assert.equal(
    queueEndpoint("QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1/;AccountKey=x"),
    "http://127.0.0.1:10001/devstoreaccount1",
  );
  assert.throws(
    () => queueEndpoint("AccountKey=x"),
    /no QueueEndpoint, AccountName or UseDevelopmentStorage/,
  );
});

Deno.test("redactTarget hides account passwords and header values, summarises CA certificates", () => {
  const t = resolveTarget(
    { target: "https://vw.example.org", header: ["CF-Access-Client-Secret: s3cret"] },
    {},
    {
      accounts: [{ email: "a@x.org", password: "hunter2" }],
      caCertificates: ["-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"],
    },
  );
  const text = JSON.stringify(redactTarget(t));
  assert.ok(!text.includes("hunter2") && !text.includes("s3cret") && !text.includes("MIIB"), text);
  assert.match(text, /"a@x.org"/);
  assert.match(text, /cf-access-client-secret/);
});

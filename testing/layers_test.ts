import assert from "node:assert/strict";
import { checkLayers, relativeSpecifiers, resolveFrom } from "./layers.ts";

function rulesFor(path: string, specifier: string): string[] {
  return checkLayers([{ path, text: `import { x } from "${specifier}";\n` }]).map((v) => v.rule);
}

Deno.test("layers: every planted bad import is named with the rule it breaks", () => {
  const planted: ReadonlyArray<readonly [string, string, string]> = [
    ["protocol/bitwarden/routing.ts", "../../server/mod.ts", "protocol imports nothing of ours"],
    ["protocol/signalr/handshake.ts", "../../testing/mod.ts", "protocol imports nothing of ours"],
    ["testing/redis.ts", "../server/azurite/mod.ts", "testing imports protocol only"],
    ["server/api/folders.ts", "../../conformance/mod.ts", "server imports protocol only"],
    ["server/api/folders.ts", "../../testing/mod.ts", "server imports protocol only"],
    [
      "server/notifications/refusals_test.ts",
      "../../conformance/mod.ts",
      "server tests import no conformance",
    ],
    [
      "conformance/driver/world.ts",
      "../../server/mod.ts",
      "conformance imports protocol and testing, never server",
    ],
    [
      "server/identity/claims.ts",
      "../api/mod.ts",
      "identity does not import api (both use server/kernel)",
    ],
    [
      "server/api/accounts.ts",
      "../identity/mod.ts",
      "api does not import identity (both use server/kernel)",
    ],
    [
      "server/api/folders.ts",
      "../../protocol/bitwarden/push_type.ts",
      "imports from another top-level folder go through its mod.ts",
    ],
    ["bench/fanout.ts", "../conformance/mod.ts", "bench imports no conformance"],
    ["config/flags.ts", "../protocol/mod.ts", "config imports nothing of ours"],
    ["config/flags.ts", "../server/mod.ts", "config imports nothing of ours"],
    ["protocol/bitwarden/routing.ts", "../../config/mod.ts", "protocol imports nothing of ours"],
    [
      "server/config.ts",
      "../config/flags.ts",
      "imports from another top-level folder go through its mod.ts",
    ],
  ];
  for (const [from, specifier, rule] of planted) {
    assert.deepEqual(rulesFor(from, specifier), [rule], `${from} -> ${specifier}`);
  }
});

Deno.test("layers: the allowed arrows pass", () => {
  const allowed: ReadonlyArray<readonly [string, string]> = [
    ["protocol/bitwarden/routing.ts", "./groups.ts"],
    ["testing/authority.ts", "../protocol/mod.ts"],
    ["server/api/folders.ts", "../kernel/mod.ts"],
    ["server/identity/claims.ts", "../../protocol/bitwarden/mod.ts"],
    ["server/notifications/refusals_test.ts", "../../testing/mod.ts"],
    ["server/azurite/azurite.ts", "../../testing/mod.ts"],
    ["conformance/driver/world.ts", "../../testing/mod.ts"],
    ["conformance/testing/reference_serve.ts", "../../server/mod.ts"],
    ["bench/fanout.ts", "../server/notifications/mod.ts"],
    ["mod.ts", "./conformance/mod.ts"],
    ["config/mod.ts", "./flags.ts"],
    ["server/config.ts", "../config/mod.ts"],
    ["server/notifications/queue_consumer.ts", "../../config/mod.ts"],
    ["conformance/cli.ts", "../config/mod.ts"],
    ["testing/until.ts", "../config/mod.ts"],
    ["bench/fanout.ts", "../config/mod.ts"],
  ];
  for (const [from, specifier] of allowed) assert.deepEqual(rulesFor(from, specifier), []);
});

Deno.test("layers: specifiers are read from imports, re-exports and dynamic imports, not from docs", () => {
  // The quote is spliced in so this file's own scan does not read these lines as imports.
  const q = '"';
  const text = [
    "/**",
    " * ```ts",
    ` * import { y } from ${q}../../server/mod.ts${q};`,
    " * ```",
    " */",
    `import { a } from ${q}./a.ts${q};`,
    `import type { B } from ${q}../b.ts${q};`,
    `export * from ${q}./c.ts${q};`,
    `import ${q}./d.ts${q};`,
    `const e = await import(${q}./e.ts${q});`,
    `import { f } from ${q}npm:jose${q};`,
  ].join("\n");
  assert.deepEqual(relativeSpecifiers(text), ["./a.ts", "../b.ts", "./c.ts", "./d.ts", "./e.ts"]);
  assert.equal(resolveFrom("server/api/folders.ts", "../../protocol/mod.ts"), "protocol/mod.ts");
  assert.equal(resolveFrom("mod.ts", "./server/mod.ts"), "server/mod.ts");
});

Deno.test("layers: the repository follows its layer rules", async () => {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", new URL("./check_layers.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await command.output();
  const decoder = new TextDecoder();
  assert.equal(code, 0, decoder.decode(stderr));
  assert.match(decoder.decode(stdout), /every import follows the layer rules/);
});

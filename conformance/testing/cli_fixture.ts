/**
 * The real CLI (`main`) with the example cases instead of the case library, for subprocess tests
 * of exit codes and output.
 *
 * @module
 */

import { main } from "../main.ts";
import { exampleCases } from "./example_cases.ts";

if (import.meta.main) {
  const encoder = new TextEncoder();
  const code = await main(Deno.args, {
    out: (line) => Deno.stdout.writeSync(encoder.encode(`${line}\n`)),
    err: (line) => Deno.stderr.writeSync(encoder.encode(`${line}\n`)),
    color: false,
    loadCases: () => Promise.resolve(exampleCases()),
  });
  Deno.exit(code);
}

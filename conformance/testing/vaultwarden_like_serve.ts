/**
 * Serves the Vaultwarden-like stand-in until interrupted, to run the CLI against it by hand:
 * `deno run --allow-net --allow-read --allow-env --allow-sys conformance/testing/vaultwarden_like_serve.ts`
 * with `--port N` and Vaultwarden's limits as flags (`--login-burst N`, `--login-seconds N`,
 * `--unauthenticated-burst N`, `--unauthenticated-seconds N`; defaults as Vaultwarden's), then
 * `deno task conformance --target URL --inject api`. Test tree only.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  startVaultwardenLikeTarget,
  VAULTWARDEN_DEFAULT_LIMITS,
} from "./vaultwarden_like_target.ts";

function positive(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < (flag === "--port" ? 0 : 1)) {
    console.error(`vaultwarden_like_serve: ${flag} must be a whole number, got ${value}`);
    Deno.exit(2);
  }
  return n;
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      port: { type: "string" },
      "login-burst": { type: "string" },
      "login-seconds": { type: "string" },
      "unauthenticated-burst": { type: "string" },
      "unauthenticated-seconds": { type: "string" },
    },
  });
  const defaults = VAULTWARDEN_DEFAULT_LIMITS.login;
  const open = VAULTWARDEN_DEFAULT_LIMITS.unauthenticated;
  const vw = await startVaultwardenLikeTarget({
    port: positive("--port", values.port, 0),
    loginRateLimit: {
      burst: positive("--login-burst", values["login-burst"], defaults.burst),
      seconds: positive("--login-seconds", values["login-seconds"], defaults.seconds),
    },
    unauthenticatedRateLimit: {
      burst: positive("--unauthenticated-burst", values["unauthenticated-burst"], open.burst),
      seconds: positive(
        "--unauthenticated-seconds",
        values["unauthenticated-seconds"],
        open.seconds,
      ),
    },
  });
  console.log(vw.url);
  Deno.addSignalListener("SIGINT", () => vw.close().then(() => Deno.exit(0)));
}

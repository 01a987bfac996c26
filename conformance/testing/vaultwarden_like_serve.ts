/**
 * Serves the Vaultwarden-like stand-in until interrupted, to run the CLI against it by hand:
 * `deno run --allow-net --allow-read --allow-env --allow-sys conformance/testing/vaultwarden_like_serve.ts`
 * with `--port N` and Vaultwarden's limits as flags (`--login-burst N`, `--login-seconds N`,
 * `--unauthenticated-burst N`, `--unauthenticated-seconds N`; defaults as Vaultwarden's), then
 * `deno task conformance --target URL --inject api`. Test tree only.
 *
 * @module
 */

import { parseFlags, parseInteger } from "../../config/mod.ts";
import {
  startVaultwardenLikeTarget,
  VAULTWARDEN_DEFAULT_LIMITS,
} from "./vaultwarden_like_target.ts";

function integerFlag(flag: string, value: string | undefined, fallback: number): number {
  return value === undefined
    ? fallback
    : parseInteger(flag, value, { min: flag === "--port" ? 0 : 1 });
}

if (import.meta.main) {
  let options;
  try {
    const values = parseFlags(Deno.args, {
      port: { type: "string" },
      "login-burst": { type: "string" },
      "login-seconds": { type: "string" },
      "unauthenticated-burst": { type: "string" },
      "unauthenticated-seconds": { type: "string" },
    });
    const defaults = VAULTWARDEN_DEFAULT_LIMITS.login;
    const open = VAULTWARDEN_DEFAULT_LIMITS.unauthenticated;
    options = {
      port: integerFlag("--port", values.port, 0),
      loginRateLimit: {
        burst: integerFlag("--login-burst", values["login-burst"], defaults.burst),
        seconds: integerFlag("--login-seconds", values["login-seconds"], defaults.seconds),
      },
      unauthenticatedRateLimit: {
        burst: integerFlag("--unauthenticated-burst", values["unauthenticated-burst"], open.burst),
        seconds: integerFlag(
          "--unauthenticated-seconds",
          values["unauthenticated-seconds"],
          open.seconds,
        ),
      },
    };
  } catch (error) {
    console.error(`vaultwarden_like_serve: ${(error as Error).message}`);
    Deno.exit(2);
  }
  const vw = await startVaultwardenLikeTarget(options);
  console.log(vw.url);
  Deno.addSignalListener("SIGINT", () => vw.close().then(() => Deno.exit(0)));
}

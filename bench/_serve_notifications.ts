/**
 * Child process of the fan-out benchmark: serves the Notifications service alone, so its memory
 * can be read without the clients' sockets and its CPU is not shared with the clients' event
 * loop. Prints `LISTENING <url>` once ready and shuts down when its stdin closes (also when the
 * parent dies without cleaning up).
 *
 * Usage: deno run --allow-net --allow-read --allow-env --allow-sys bench/_serve_notifications.ts --authority URL
 *
 * @module
 */

import { FlagError, invalid, parseFlags, parseOrExit } from "../config/mod.ts";
import { serveNotifications } from "../server/notifications/mod.ts";

const authority = parseOrExit(() => {
  const flags = parseFlags(Deno.args, { authority: { type: "string" } });
  if (flags.authority === undefined || !URL.canParse(flags.authority)) {
    throw new FlagError(
      "--authority",
      invalid("--authority", "the authority URL", flags.authority),
    );
  }
  return flags.authority;
});
const served = await serveNotifications({
  selfHosted: true,
  installationId: null,
  auth: { authority },
  // A sustained broadcast queues many frames per socket; 4 MiB keeps the bench measuring
  // throughput, not the slow-consumer cut-off (the parent fails the run if a socket is dropped).
  sendBufferLimit: 4 * 1_048_576,
  log: (level, message) => {
    if (level === "warn" || level === "error") console.error(`service ${level}: ${message}`);
  },
});
console.log(`LISTENING ${served.url}`);
// Reading until EOF: the parent closes stdin to stop us.
for await (const _ of Deno.stdin.readable) { /* ignore input */ }
await served.close();

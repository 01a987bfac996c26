/**
 * Child process of the connection benchmark: serves the Notifications service alone so its
 * memory can be read from /proc without the clients' sockets in the same process.
 * Usage: deno run --allow-net --allow-read --allow-env --allow-sys _serve.ts <authority-url>
 *
 * @module
 */

import { serveNotifications } from "../mod.ts";

const authority = Deno.args[0];
if (!authority) {
  console.error("Missing argument: the authority URL");
  Deno.exit(2);
}
const served = await serveNotifications({
  selfHosted: true,
  installationId: null,
  auth: { authority },
  sendBufferLimit: 1_048_576,
  log: () => {},
});
console.log(`LISTENING ${served.url}`);
Deno.addSignalListener("SIGTERM", async () => {
  await served.close();
  Deno.exit(0);
});

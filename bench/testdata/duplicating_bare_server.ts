/**
 * A deliberately wrong bare hub for `bench/hub_vs_bare_test.ts`: it writes every push twice to
 * its first recipient, so the test can show that the bench fails on a duplicate instead of
 * reporting a good number.
 *
 * @module
 */

import { serveBareHub } from "../_bare_server.ts";

const hub = serveBareHub({
  deliver: (recipients, frame) => {
    let first = true;
    for (const socket of recipients) {
      socket.send(frame);
      if (first) socket.send(frame);
      first = false;
    }
  },
});
console.log(`LISTENING ${hub.url}`);
for await (const _ of Deno.stdin.readable) { /* ignore input */ }
await hub.close();

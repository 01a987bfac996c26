import { runScenario } from "./_e2e_scenario.ts";
import { startTestServe } from "./_test_helpers.ts";

Deno.test("end to end, self-hosted: API -> /send -> hub", async () => {
  const serve = await startTestServe();
  try {
    await runScenario(serve, "test-internal-key");
  } finally {
    await serve.stop();
  }
});

Deno.test("end to end, cloud: API -> Azure queue (Azurite) -> hub", async () => {
  const serve = await startTestServe(["--mode", "cloud"]);
  try {
    await runScenario(serve, "test-internal-key");
  } finally {
    await serve.stop();
  }
});

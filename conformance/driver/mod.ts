/**
 * Drivers of the conformance suite: a raw SignalR hub client, envelope injectors (`/send`,
 * Azure queue), a Bitwarden API session, identities minted by the acting authority, the
 * expected-delivery oracle and world builder.
 *
 * @module
 */

export * from "./hub_client.ts";
export * from "./upgrade_probe.ts";
export * from "./identity.ts";
export * from "./identity_world.ts";
export * from "./send_injector.ts";
export * from "./queue_injector.ts";
export * from "./injectors.ts";
export * from "./api_client.ts";
export * from "./session_cache.ts";
export * from "./rate_limit.ts";
export * from "./missing_route.ts";
export * from "./reach.ts";
export * from "./oracle.ts";
export * from "./compare.ts";
export * from "./world.ts";

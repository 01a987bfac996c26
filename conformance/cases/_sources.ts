/**
 * Private: the upstream files case requirements come from, as `repository path @ commit
 * (detail)` citations joined by `; ` (what `CaseDefinition.source` holds). One place for the
 * commits each requirement was checked against, so a re-check moves them together.
 *
 * @module
 */

/** The bitwarden/server commit the requirements were read at. */
export const BITWARDEN_SERVER_COMMIT = "ac309aa19ed351406a56032d5f26a7a9a99f4abd";

/** The bitwarden/clients commits of the two files the client-side requirements come from. */
export const CLIENTS_COMMITS = {
  signalrConnection: "b7e259df0fd8eb1df166bc8ae0145d0f45bab584",
  serverNotifications: "1205cea5b897973b059746839a89a5ea05d85477",
} as const;

/**
 * One citation.
 *
 * @param repository `owner/name`.
 * @param path Path inside the repository.
 * @param commit 40-digit commit.
 * @param detail What in the file, if it helps (a member, a constant).
 * @returns `repository path @ commit (detail)`.
 *
 * @example
 * ```ts
 * import { cite } from "./_sources.ts";
 * console.assert(cite("a/b", "x.cs", "0".repeat(40), "X") === `a/b x.cs @ ${"0".repeat(40)} (X)`);
 * ```
 */
export function cite(repository: string, path: string, commit: string, detail?: string): string {
  return `${repository} ${path} @ ${commit}${detail === undefined ? "" : ` (${detail})`}`;
}

/**
 * A bitwarden/server file at {@linkcode BITWARDEN_SERVER_COMMIT}.
 *
 * @param path Path inside bitwarden/server.
 * @param detail What in the file.
 * @returns The citation.
 */
export function server(path: string, detail?: string): string {
  return cite("bitwarden/server", path, BITWARDEN_SERVER_COMMIT, detail);
}

/**
 * Joins citations into one `source`.
 *
 * @param citations The citations.
 * @returns They, joined by `; `.
 */
export function sources(...citations: string[]): string {
  return citations.join("; ");
}

/** How the hub routes and re-sends each push type. */
export const HUB_HELPERS = server("src/Notifications/HubHelpers.cs", "SendNotificationToHubAsync");
/** The hub's groups (user, user + client type, organization, installation). */
export const NOTIFICATIONS_HUB = server("src/Notifications/NotificationsHub.cs");
/** The push types. */
export const PUSH_TYPE = server("src/Core/Platform/Push/PushType.cs");
/** The Notifications service's SignalR, authorization and endpoint setup. */
export const NOTIFICATIONS_STARTUP = server("src/Notifications/Startup.cs");

/** What the official clients do with each push they receive. */
export const CLIENT_PROCESSING = cite(
  "bitwarden/clients",
  "libs/common/src/platform/server-notifications/internal/default-server-notifications.service.ts",
  CLIENTS_COMMITS.serverNotifications,
  "processNotification",
);

/** How the official clients connect to the hub. */
export const CLIENT_CONNECTION = cite(
  "bitwarden/clients",
  "libs/common/src/platform/server-notifications/internal/signalr-connection.service.ts",
  CLIENTS_COMMITS.signalrConnection,
);

/**
 * A dotnet/aspnetcore file at the commit the requirement was read at.
 *
 * @param path Path inside dotnet/aspnetcore.
 * @param commit 40-digit commit.
 * @param detail What in the file.
 * @returns The citation.
 */
export function aspnetcore(path: string, commit: string, detail?: string): string {
  return cite("dotnet/aspnetcore", path, commit, detail);
}

/** ASP.NET Core's hub option defaults (handshake timeout, keep-alive interval). */
export const HUB_OPTIONS_SETUP_COMMIT = "cca91f243918df72a3228817436ab78291684d41";
/** ASP.NET Core's handshake and keep-alive of one hub connection. */
export const HUB_CONNECTION_CONTEXT_COMMIT = "28f53b3eac04a73d624dd5f993c03da83a49cbdb";

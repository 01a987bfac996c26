/**
 * Configuration of `deno task serve`: one typed object built from flags and `HUBPROOF_*`
 * environment variables and validated here, with errors naming the flag. Nothing else in the
 * server reads `Deno.args` or `Deno.env`.
 *
 * @module
 */

import { DEFAULT_CONNECTION_LIMITS } from "./notifications/mod.ts";

/** A role of the reference server. */
export type Role = "identity" | "api" | "notifications";

/** Push flow: self-hosted (API -> `/send`) or cloud (API -> Azure queue -> Notifications). */
export type Mode = "selfhosted" | "cloud";

/** Validated configuration of `deno task serve`. */
export interface ServeConfig {
  /** Push flow. */
  readonly mode: Mode;
  /** Roles served by this process. */
  readonly roles: ReadonlySet<Role>;
  /** Interface to bind. */
  readonly hostname: string;
  /** Port (0 = a free one). */
  readonly port: number;
  /** Public base URL (default: scheme://hostname:port). */
  readonly publicUrl?: string;
  /** TLS certificate and key files (PEM). */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
  /** Installation id (GUID). */
  readonly installationId: string;
  /** Whether the installation id was generated (not given). */
  readonly installationIdGenerated: boolean;
  /** Internal identity key (secret of `internal.*` clients). */
  readonly internalKey: string;
  /** Whether the internal key was generated (not given). */
  readonly internalKeyGenerated: boolean;
  /** External Identity base URL (`.../identity`), when identity runs elsewhere. */
  readonly identityUrl?: string;
  /** External Notifications base URL (`.../notifications`), when notifications runs elsewhere. */
  readonly notificationsUrl?: string;
  /** Authority the Notifications role trusts instead of this deployment's Identity. */
  readonly identityAuthority?: string;
  /** Issuer written to tokens (default: the Identity base URL). */
  readonly issuer?: string;
  /** Azure Storage connection string (cloud). */
  readonly queueConnectionString?: string;
  /** Queue name. */
  readonly queueName: string;
  /** Redis URL for the Notifications backplane. */
  readonly redisUrl?: string;
  /** Signing key file (PEM PKCS#8 or RSA private JWK). */
  readonly signingKeyFile?: string;
  /** Seed data file. */
  readonly fixturesFile: string;
  /** Outbox capacity of the `/send` engine. */
  readonly outboxCapacity: number;
  /** Largest request body the identity and api roles read, in bytes (larger: 413). */
  readonly maxBodyBytes: number;
  /**
   * Milliseconds a server-initiated WebSocket close waits for the peer's Close before the
   * connection is closed under it (0 waits for ever).
   */
  readonly closeTimeoutMs: number;
  /** Hub connection bounds, checked before the upgrade (0: unbounded). */
  readonly limits: ServeLimits;
  /** `--help` was given. */
  readonly help: boolean;
}

/** Hub connection bounds of the notifications role; 0 means unbounded. */
export interface ServeLimits {
  /** Connections not yet past the handshake from one remote IP (over it: 429). */
  readonly maxPendingPerIp: number;
  /** Connections not yet past the handshake in total (over it: 503). */
  readonly maxPending: number;
  /** Connections of one user, pending or connected (over it: 429). */
  readonly maxConnectionsPerUser: number;
  /** Connections in total, pending or connected (over it: 503). */
  readonly maxConnections: number;
}

/**
 * Defaults of the operator settings the notifications role takes from flags: the close timeout of
 * ASP.NET Core's `HttpConnectionDispatcherOptions.WebSockets.CloseTimeout` (5 s) and the
 * connection bounds of `server/notifications/connection_limits.ts`.
 */
export const SERVE_DEFAULTS: {
  readonly closeTimeoutMs: number;
  readonly limits: ServeLimits;
} = { closeTimeoutMs: 5_000, limits: DEFAULT_CONNECTION_LIMITS };

/** A configuration problem; `flag` names the flag (`--port`). */
export class ConfigError extends Error {
  /** The offending flag. */
  readonly flag: string;

  /**
   * Creates the error.
   *
   * @param flag The flag, e.g. `--port`.
   * @param message What is wrong.
   */
  constructor(flag: string, message: string) {
    super(`Invalid ${flag}: ${message}`);
    this.name = "ConfigError";
    this.flag = flag;
  }
}

interface FlagSpec {
  readonly env: string;
  readonly repeatable?: boolean;
  readonly boolean?: boolean;
  readonly help: string;
}

const FLAGS: Readonly<Record<string, FlagSpec>> = {
  "--mode": {
    env: "HUBPROOF_MODE",
    help:
      "selfhosted (default): API POSTs to Notifications /send; cloud: API enqueues to an Azure queue",
  },
  "--role": {
    env: "HUBPROOF_ROLES",
    repeatable: true,
    help: "identity|api|notifications, repeatable (default: all three in this process)",
  },
  "--hostname": { env: "HUBPROOF_HOSTNAME", help: "interface to bind (default 127.0.0.1)" },
  "--port": { env: "HUBPROOF_PORT", help: "port to bind, 0 picks a free one (default 8080)" },
  "--public-url": {
    env: "HUBPROOF_PUBLIC_URL",
    help: "base URL clients use (default http(s)://hostname:port)",
  },
  "--tls-cert": {
    env: "HUBPROOF_TLS_CERT",
    help: "PEM certificate file (with --tls-key): serve https/wss",
  },
  "--tls-key": { env: "HUBPROOF_TLS_KEY", help: "PEM private key file (with --tls-cert)" },
  "--installation-id": {
    env: "HUBPROOF_INSTALLATION_ID",
    help: "installation GUID (default: a random one, printed)",
  },
  "--internal-key": {
    env: "HUBPROOF_INTERNAL_KEY",
    help: "secret of internal.* clients (default: a random one, printed)",
  },
  "--identity-url": {
    env: "HUBPROOF_IDENTITY_URL",
    help: "Identity base URL (…/identity) when identity is not a role of this process",
  },
  "--notifications-url": {
    env: "HUBPROOF_NOTIFICATIONS_URL",
    help:
      "Notifications base URL (…/notifications) when notifications is not a role of this process (self-hosted)",
  },
  "--identity-authority": {
    env: "HUBPROOF_IDENTITY_AUTHORITY",
    help:
      "authority the Notifications role trusts instead (e.g. a conformance --act-as-authority URL)",
  },
  "--issuer": {
    env: "HUBPROOF_ISSUER",
    help: "issuer written to tokens (default: the Identity base URL)",
  },
  "--queue-connection-string": {
    env: "HUBPROOF_QUEUE_CONNECTION_STRING",
    help: "Azure Storage connection string (cloud; default: start an in-memory Azurite)",
  },
  "--queue-name": { env: "HUBPROOF_QUEUE_NAME", help: "queue name (default notifications)" },
  "--redis": {
    env: "HUBPROOF_REDIS",
    help: "Redis URL: scale-out backplane for several Notifications instances",
  },
  "--signing-key": {
    env: "HUBPROOF_SIGNING_KEY",
    help: "RS256 key file, PEM PKCS#8 or RSA private JWK (default: generated at start)",
  },
  "--fixtures": { env: "HUBPROOF_FIXTURES", help: "seed data JSON (default fixtures/seed.json)" },
  "--outbox-capacity": {
    env: "HUBPROOF_OUTBOX_CAPACITY",
    help: "messages the /send engine buffers while Notifications is down (default 10000)",
  },
  "--max-body-bytes": {
    env: "HUBPROOF_MAX_BODY_BYTES",
    help: "largest identity/api request body in bytes; larger ones get 413 (default 30000000)",
  },
  "--close-timeout": {
    env: "HUBPROOF_CLOSE_TIMEOUT",
    help:
      "ms a server-initiated WebSocket close waits for the peer's Close before dropping the connection, 0 waits for ever (default 5000)",
  },
  "--max-pending-per-ip": {
    env: "HUBPROOF_MAX_PENDING_PER_IP",
    help:
      "hub connections not yet past the handshake per remote IP, then 429; 0 unbounded (default 256)",
  },
  "--max-pending": {
    env: "HUBPROOF_MAX_PENDING",
    help:
      "hub connections not yet past the handshake in total, then 503; 0 unbounded (default 2048)",
  },
  "--max-connections-per-user": {
    env: "HUBPROOF_MAX_CONNECTIONS_PER_USER",
    help: "hub connections per user, then 429; 0 unbounded (default 128)",
  },
  "--max-connections": {
    env: "HUBPROOF_MAX_CONNECTIONS",
    help:
      "hub connections in total, then 503; 0 unbounded, keep it under ulimit -n (default 16384)",
  },
  "--help": { env: "", boolean: true, help: "print this help" },
};

/** Usage text of `deno task serve`. */
export const SERVE_USAGE: string = [
  "Usage: deno task serve [flags]",
  "",
  "Flags (each also read from the environment variable shown):",
  ...Object.entries(FLAGS).map(([flag, spec]) =>
    `  ${flag.padEnd(27)} ${spec.help}${spec.env ? ` [${spec.env}]` : ""}`
  ),
].join("\n");

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parseUrl(flag: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(flag, `not a URL: ${value}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(flag, `expected an http or https URL: ${value}`);
  }
  return value.replace(/\/+$/, "");
}

/** The largest delay `setTimeout` honours; longer ones fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * An integer flag value in `min..max`, or `fallback` when the flag and its variable are unset.
 */
function integerFlag(
  flag: string,
  raw: string | undefined,
  range: { readonly fallback: number; readonly min: number; readonly max?: number },
): number {
  if (raw === undefined) return range.fallback;
  const value = Number(raw);
  const max = range.max ?? Number.MAX_SAFE_INTEGER;
  if (!/^\d+$/.test(raw) || value < range.min || value > max) {
    throw new ConfigError(
      flag,
      `expected an integer ${
        range.max === undefined ? `of at least ${range.min}` : `${range.min}..${max}`
      }, got ${raw}`,
    );
  }
  return value;
}

function randomKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_").replaceAll(
    "=",
    "",
  );
}

/**
 * Parses and validates flags and environment.
 *
 * @example
 * ```ts
 * import { parseServeConfig } from "./config.ts";
 * const config = parseServeConfig(["--port", "0", "--mode=cloud"]);
 * console.assert(config.port === 0 && config.mode === "cloud" && config.roles.size === 3);
 * ```
 * @param args Command-line arguments.
 * @param env Environment variables (flags win).
 * @returns The configuration.
 * @throws {ConfigError} Naming the flag.
 */
export function parseServeConfig(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>> = {},
): ServeConfig {
  const values = new Map<string, string[]>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      throw new ConfigError(arg, "unexpected argument (flags start with --; see --help)");
    }
    const eq = arg.indexOf("=");
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const spec = FLAGS[flag];
    if (!spec) throw new ConfigError(flag, "unknown flag (see --help)");
    let value: string;
    if (spec.boolean) value = eq < 0 ? "true" : arg.slice(eq + 1);
    else if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("--")) throw new ConfigError(flag, "missing value");
      value = next;
      i++;
    }
    const list = values.get(flag) ?? [];
    if (list.length > 0 && !spec.repeatable) throw new ConfigError(flag, "given more than once");
    list.push(value);
    values.set(flag, list);
  }
  const get = (flag: string): string | undefined => {
    const given = values.get(flag)?.[0];
    if (given !== undefined) return given;
    const fromEnv = env[FLAGS[flag]!.env];
    return fromEnv === undefined || fromEnv === "" ? undefined : fromEnv;
  };

  const modeRaw = (get("--mode") ?? "selfhosted").toLowerCase();
  const mode: Mode = modeRaw === "selfhosted" || modeRaw === "self-hosted"
    ? "selfhosted"
    : modeRaw === "cloud"
    ? "cloud"
    : (() => {
      throw new ConfigError("--mode", `expected selfhosted or cloud, got ${modeRaw}`);
    })();

  const roleValues = values.get("--role") ??
    (env.HUBPROOF_ROLES ? env.HUBPROOF_ROLES.split(",") : ["identity", "api", "notifications"]);
  const roles = new Set<Role>();
  for (const raw of roleValues.flatMap((v) => v.split(","))) {
    const role = raw.trim().toLowerCase();
    if (role !== "identity" && role !== "api" && role !== "notifications") {
      throw new ConfigError("--role", `expected identity, api or notifications, got ${raw}`);
    }
    roles.add(role);
  }

  const portRaw = get("--port") ?? "8080";
  const port = Number(portRaw);
  if (!/^\d+$/.test(portRaw) || port > 65535) {
    throw new ConfigError("--port", `expected an integer 0..65535, got ${portRaw}`);
  }

  const certFile = get("--tls-cert");
  const keyFile = get("--tls-key");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new ConfigError(
      certFile === undefined ? "--tls-cert" : "--tls-key",
      "--tls-cert and --tls-key go together",
    );
  }

  const installationGiven = get("--installation-id");
  if (installationGiven !== undefined && !GUID.test(installationGiven)) {
    throw new ConfigError("--installation-id", `expected a GUID, got ${installationGiven}`);
  }
  const internalGiven = get("--internal-key");
  if (internalGiven !== undefined && internalGiven.length < 8) {
    throw new ConfigError("--internal-key", "must be at least 8 characters");
  }

  const urlOf = (flag: string) => {
    const v = get(flag);
    return v === undefined ? undefined : parseUrl(flag, v);
  };
  const identityUrl = urlOf("--identity-url");
  const notificationsUrl = urlOf("--notifications-url");
  const identityAuthority = urlOf("--identity-authority");
  const publicUrl = urlOf("--public-url");

  if (!roles.has("identity") && identityUrl === undefined) {
    if (roles.has("api")) {
      throw new ConfigError(
        "--identity-url",
        "required when the api role runs without the identity role",
      );
    }
    if (identityAuthority === undefined) {
      throw new ConfigError(
        "--identity-url",
        "required when the notifications role runs without the identity role (or give --identity-authority)",
      );
    }
  }
  if (
    mode === "selfhosted" && roles.has("api") && !roles.has("notifications") &&
    notificationsUrl === undefined
  ) {
    throw new ConfigError(
      "--notifications-url",
      "required in self-hosted mode when the api role runs without the notifications role",
    );
  }
  if (
    mode === "selfhosted" && roles.has("api") && !roles.has("identity") &&
    internalGiven === undefined
  ) {
    throw new ConfigError(
      "--internal-key",
      "required when the api role runs without the identity role (the same key as the identity process)",
    );
  }
  const queueConnectionString = get("--queue-connection-string");
  if (
    mode === "cloud" && queueConnectionString === undefined &&
    (roles.has("api") !== roles.has("notifications"))
  ) {
    throw new ConfigError(
      "--queue-connection-string",
      "required in cloud mode when api and notifications run in separate processes (they must share one queue)",
    );
  }
  if (queueConnectionString !== undefined && mode !== "cloud") {
    throw new ConfigError("--queue-connection-string", "only used with --mode cloud");
  }
  const redisUrl = get("--redis");
  if (redisUrl !== undefined) {
    if (!/^rediss?:\/\//.test(redisUrl)) {
      throw new ConfigError("--redis", `expected redis://host:port, got ${redisUrl}`);
    }
    if (!roles.has("notifications")) {
      throw new ConfigError("--redis", "only used by the notifications role");
    }
  }
  const queueName = get("--queue-name") ?? "notifications";
  if (!/^[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]$/.test(queueName)) {
    throw new ConfigError("--queue-name", `not a valid Azure queue name: ${queueName}`);
  }
  const integer = (flag: string, range: Parameters<typeof integerFlag>[2]) =>
    integerFlag(flag, get(flag), range);
  const outboxCapacity = integer("--outbox-capacity", { fallback: 10_000, min: 1 });
  const maxBodyBytes = integer("--max-body-bytes", { fallback: 30_000_000, min: 1024 });
  const closeTimeoutMs = integer("--close-timeout", {
    fallback: SERVE_DEFAULTS.closeTimeoutMs,
    min: 0,
    max: MAX_TIMER_MS,
  });
  const bound = (flag: string, fallback: number) => integer(flag, { fallback, min: 0 });
  const d = SERVE_DEFAULTS.limits;
  const limits: ServeLimits = {
    maxPendingPerIp: bound("--max-pending-per-ip", d.maxPendingPerIp),
    maxPending: bound("--max-pending", d.maxPending),
    maxConnectionsPerUser: bound("--max-connections-per-user", d.maxConnectionsPerUser),
    maxConnections: bound("--max-connections", d.maxConnections),
  };
  const issuer = get("--issuer");
  const signingKeyFile = get("--signing-key");
  const help = get("--help");
  return {
    mode,
    roles,
    hostname: get("--hostname") ?? "127.0.0.1",
    port,
    ...(publicUrl !== undefined ? { publicUrl } : {}),
    ...(certFile !== undefined && keyFile !== undefined ? { tls: { certFile, keyFile } } : {}),
    installationId: (installationGiven ?? crypto.randomUUID()).toLowerCase(),
    installationIdGenerated: installationGiven === undefined,
    internalKey: internalGiven ?? randomKey(),
    internalKeyGenerated: internalGiven === undefined,
    ...(identityUrl !== undefined ? { identityUrl } : {}),
    ...(notificationsUrl !== undefined ? { notificationsUrl } : {}),
    ...(identityAuthority !== undefined ? { identityAuthority } : {}),
    ...(issuer !== undefined ? { issuer } : {}),
    ...(queueConnectionString !== undefined ? { queueConnectionString } : {}),
    queueName,
    ...(redisUrl !== undefined ? { redisUrl } : {}),
    ...(signingKeyFile !== undefined ? { signingKeyFile } : {}),
    fixturesFile: get("--fixtures") ?? "fixtures/seed.json",
    outboxCapacity,
    maxBodyBytes,
    closeTimeoutMs,
    limits,
    help: help === "true",
  };
}

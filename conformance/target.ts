/**
 * Builds the {@linkcode ResolvedTarget} from flags and an optional target file, fills in the
 * self-hosted URL layout, validates every value, and answers what the target can do.
 *
 * @module
 */

import { UsageError } from "./errors.ts";
import type { Capability, GivenAccount, InjectMode, ResolvedTarget } from "./types.ts";

/** Target settings as given by flags or a `--target-file` (camelCase of the flag names). */
export interface TargetInput {
  /** `--target`: base URL of the deployment. */
  readonly target?: string;
  /** `--hub-url`. */
  readonly hubUrl?: string;
  /** `--anonymous-hub-url`. */
  readonly anonymousHubUrl?: string;
  /** `--send-url`. */
  readonly sendUrl?: string;
  /** `--api-url`. */
  readonly apiUrl?: string;
  /** `--identity-url`. */
  readonly identityUrl?: string;
  /** `--scaleout-hub-url` (repeatable). */
  readonly scaleoutHubUrl?: readonly string[];
  /** `--inject`. */
  readonly inject?: string;
  /** `--internal-client-id`. */
  readonly internalClientId?: string;
  /** `--internal-key`. */
  readonly internalKey?: string;
  /** `--internal-token`. */
  readonly internalToken?: string;
  /** `--queue-connection-string`. */
  readonly queueConnectionString?: string;
  /** `--queue-name`. */
  readonly queueName?: string;
  /** `--act-as-authority` port. */
  readonly actAsAuthority?: number;
  /** `--authority-host`. */
  readonly authorityHost?: string;
  /** `--authority-issuer`. */
  readonly authorityIssuer?: string;
  /** `--installation-id`. */
  readonly installationId?: string;
  /** `--protocol` (repeatable). */
  readonly protocol?: readonly string[];
  /** `--accounts FILE` (its accounts are passed to {@linkcode resolveTarget} as `loaded.accounts`). */
  readonly accounts?: string;
  /** `--kdf-iterations`. */
  readonly kdfIterations?: number | string;
  /** `--email-domain`. */
  readonly emailDomain?: string;
  /** `--header NAME:VALUE` (repeatable). */
  readonly header?: readonly string[];
  /** `--ca-cert FILE` (its PEM is passed to {@linkcode resolveTarget} as `loaded.caCertificates`). */
  readonly caCert?: string;
  /** `--create-queue`. */
  readonly createQueue?: boolean;
  /** `--insecure` (refused with how to get the same in Deno). */
  readonly insecure?: boolean;
}

/** Contents of the files target flags name, read by the caller (the CLI). */
export interface LoadedTargetFiles {
  /** The accounts of `--accounts FILE`. */
  readonly accounts?: readonly GivenAccount[];
  /** The PEM text of `--ca-cert FILE`. */
  readonly caCertificates?: readonly string[];
}

/** Keys a target file may hold, with their flag names and value kinds. */
export const TARGET_KEYS: Readonly<
  Record<
    keyof TargetInput,
    { flag: string; kind: "string" | "strings" | "port" | "integer" | "bool" }
  >
> = {
  target: { flag: "--target", kind: "string" },
  hubUrl: { flag: "--hub-url", kind: "string" },
  anonymousHubUrl: { flag: "--anonymous-hub-url", kind: "string" },
  sendUrl: { flag: "--send-url", kind: "string" },
  apiUrl: { flag: "--api-url", kind: "string" },
  identityUrl: { flag: "--identity-url", kind: "string" },
  scaleoutHubUrl: { flag: "--scaleout-hub-url", kind: "strings" },
  inject: { flag: "--inject", kind: "string" },
  internalClientId: { flag: "--internal-client-id", kind: "string" },
  internalKey: { flag: "--internal-key", kind: "string" },
  internalToken: { flag: "--internal-token", kind: "string" },
  queueConnectionString: { flag: "--queue-connection-string", kind: "string" },
  queueName: { flag: "--queue-name", kind: "string" },
  actAsAuthority: { flag: "--act-as-authority", kind: "port" },
  authorityHost: { flag: "--authority-host", kind: "string" },
  authorityIssuer: { flag: "--authority-issuer", kind: "string" },
  installationId: { flag: "--installation-id", kind: "string" },
  protocol: { flag: "--protocol", kind: "strings" },
  accounts: { flag: "--accounts", kind: "string" },
  kdfIterations: { flag: "--kdf-iterations", kind: "integer" },
  emailDomain: { flag: "--email-domain", kind: "string" },
  header: { flag: "--header", kind: "strings" },
  caCert: { flag: "--ca-cert", kind: "string" },
  createQueue: { flag: "--create-queue", kind: "bool" },
  insecure: { flag: "--insecure", kind: "bool" },
};

/** Default `client_credentials` id for the internal token (`internal.<name>` is what identity accepts). */
export const DEFAULT_INTERNAL_CLIENT_ID = "internal.hubproof";

const INJECT_MODES: readonly InjectMode[] = ["api", "send", "queue"];
const PROTOCOLS = ["messagepack", "json"] as const;

/**
 * Parses a port number (`--act-as-authority`).
 *
 * @param flag Flag name for the error.
 * @param raw The value.
 * @returns The port.
 * @throws {UsageError} Unless an integer 0..65535.
 */
export function parsePort(flag: string, raw: unknown): number {
  const n = typeof raw === "number"
    ? raw
    : typeof raw === "string" && /^\d+$/.test(raw)
    ? +raw
    : NaN;
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    throw new UsageError(
      flag,
      `Invalid ${flag}: expected a port 0..65535, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

/**
 * Validates a parsed `--target-file` JSON value.
 *
 * @param data Parsed JSON.
 * @param source File name for error messages.
 * @returns The target input it holds.
 * @throws {UsageError} Naming the key on an unknown key or a wrong type.
 */
export function parseTargetFile(data: unknown, source: string): TargetInput {
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    throw new UsageError(
      "--target-file",
      `Invalid --target-file ${source}: expected a JSON object`,
    );
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(data)) {
    const spec = TARGET_KEYS[key as keyof TargetInput];
    const where = `--target-file ${source}: key "${key}"`;
    if (spec === undefined) {
      throw new UsageError(
        "--target-file",
        `Invalid ${where}: unknown key (allowed: ${Object.keys(TARGET_KEYS).join(", ")})`,
      );
    }
    if (value === null || value === undefined) continue;
    if (spec.kind === "port") {
      out[key] = parsePort(`${where} (${spec.flag})`, value);
    } else if (spec.kind === "bool") {
      if (typeof value !== "boolean") {
        throw new UsageError("--target-file", `Invalid ${where}: expected true or false`);
      }
      out[key] = value;
    } else if (spec.kind === "integer") {
      if (typeof value !== "number" && typeof value !== "string") {
        throw new UsageError("--target-file", `Invalid ${where}: expected an integer`);
      }
      out[key] = value;
    } else if (spec.kind === "strings") {
      const list = typeof value === "string" ? [value] : value;
      if (!Array.isArray(list) || !list.every((v) => typeof v === "string")) {
        throw new UsageError(
          "--target-file",
          `Invalid ${where}: expected a string or a list of strings`,
        );
      }
      out[key] = list;
    } else {
      if (typeof value !== "string") {
        throw new UsageError("--target-file", `Invalid ${where}: expected a string`);
      }
      out[key] = value;
    }
  }
  return out as TargetInput;
}

function checkUrl(flag: string, raw: string, schemes: readonly string[]): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(flag, `Invalid ${flag}: not an absolute URL: ${JSON.stringify(raw)}`);
  }
  if (!schemes.includes(url.protocol)) {
    throw new UsageError(
      flag,
      `Invalid ${flag}: scheme must be ${schemes.map((s) => s.slice(0, -1)).join(" or ")}, got ${
        JSON.stringify(raw)
      }`,
    );
  }
  return raw.replace(/\/+$/, "");
}

const HTTP = ["http:", "https:"];
const HUB = ["http:", "https:", "ws:", "wss:"];

/** The deployment base (`https://host[/prefix]`) a hub URL implies, for defaulting the other URLs. */
function baseFromHub(hubUrl: string): string {
  const url = new URL(hubUrl.replace(/^ws/, "http"));
  const path = url.pathname.replace(/\/+$/, "");
  const prefix = path.endsWith("/notifications/hub")
    ? path.slice(0, -"/notifications/hub".length)
    : "";
  return `${url.origin}${prefix}`;
}

function siblingOfHub(hubUrl: string, name: string): string {
  const httpUrl = hubUrl.replace(/^ws/, "http");
  return /\/hub$/.test(httpUrl)
    ? httpUrl.replace(/\/hub$/, `/${name}`)
    : `${baseFromHub(hubUrl)}/notifications/${name}`;
}

/**
 * Merges flags over a target file and resolves every URL: with `--target URL` the hub is at
 * `URL/notifications/hub`, the anonymous hub at `URL/notifications/anonymous-hub`, `/send` at
 * `URL/notifications/send`, the API at `URL/api` and identity at `URL/identity`; any of them can be
 * overridden. Without `--target`, `--hub-url` is required and the rest default from it.
 *
 * @param flags Values from flags (win over the file).
 * @param file Values from `--target-file`, if any.
 * @returns The resolved target.
 * @throws {UsageError} Naming the flag of a missing or invalid value.
 *
 * @example
 * ```ts
 * import { resolveTarget } from "./target.ts";
 * const t = resolveTarget({ target: "http://127.0.0.1:8080", inject: "send", internalToken: "x" });
 * t.sendUrl; // "http://127.0.0.1:8080/notifications/send"
 * ```
 */
export function resolveTarget(
  flags: TargetInput,
  file: TargetInput = {},
  loaded: LoadedTargetFiles = {},
): ResolvedTarget {
  const input: TargetInput = { ...file, ...definedOnly(flags) };
  const base = input.target === undefined ? undefined : checkUrl("--target", input.target, HTTP);
  if (base === undefined && input.hubUrl === undefined) {
    throw new UsageError(
      "--target",
      "Missing --target: give the deployment's base URL (or --hub-url)",
    );
  }
  const hubUrl = input.hubUrl !== undefined
    ? checkUrl("--hub-url", input.hubUrl, HUB)
    : `${base}/notifications/hub`;
  const root = base ?? baseFromHub(hubUrl);
  const url = (value: string | undefined, flag: string, fallback: string) =>
    value === undefined ? fallback : checkUrl(flag, value, HTTP);

  const inject = input.inject ?? "api";
  if (!INJECT_MODES.includes(inject as InjectMode)) {
    throw new UsageError(
      "--inject",
      `Invalid --inject: expected api, send or queue, got ${JSON.stringify(inject)}`,
    );
  }
  if (
    inject === "send" && input.internalToken === undefined && input.internalKey === undefined &&
    input.actAsAuthority === undefined
  ) {
    throw new UsageError(
      "--internal-key",
      "Missing --internal-key or --internal-token: --inject send needs an internal token for /send " +
        "(or --act-as-authority PORT, whose tokens the target trusts)",
    );
  }
  if (inject === "queue" && input.queueConnectionString === undefined) {
    throw new UsageError(
      "--queue-connection-string",
      "Missing --queue-connection-string: --inject queue needs the target's Azure queue",
    );
  }
  const protocols = [...new Set(input.protocol ?? PROTOCOLS)];
  for (const p of protocols) {
    if (!(PROTOCOLS as readonly string[]).includes(p)) {
      throw new UsageError(
        "--protocol",
        `Invalid --protocol: expected messagepack or json, got ${JSON.stringify(p)}`,
      );
    }
  }
  if (protocols.length === 0) {
    throw new UsageError("--protocol", "Invalid --protocol: at least one protocol is needed");
  }
  if (input.authorityIssuer !== undefined && input.actAsAuthority === undefined) {
    throw new UsageError(
      "--authority-issuer",
      "Invalid --authority-issuer: it needs --act-as-authority PORT",
    );
  }
  if (
    input.queueName !== undefined &&
    !/^[a-z0-9](?:[a-z0-9]|-(?!-)){1,61}[a-z0-9]$/.test(input.queueName)
  ) {
    throw new UsageError(
      "--queue-name",
      `Invalid --queue-name: not an Azure queue name: ${JSON.stringify(input.queueName)}`,
    );
  }
  if (input.accounts !== undefined && loaded.accounts === undefined) {
    throw new UsageError("--accounts", `Invalid --accounts: ${input.accounts} was not read`);
  }
  if (input.caCert !== undefined && loaded.caCertificates === undefined) {
    throw new UsageError("--ca-cert", `Invalid --ca-cert: ${input.caCert} was not read`);
  }
  if (input.insecure) {
    // Deno verifies certificates in-process: Deno.createHttpClient and WebSocket have no switch
    // to skip it per connection, only the runtime flag below.
    throw new UsageError(
      "--insecure",
      "Invalid --insecure: Deno cannot skip certificate checks per connection; give the target's CA with --ca-cert FILE, or start the suite with deno run --unsafely-ignore-certificate-errors=HOST --allow-net --allow-read --allow-write --allow-env --allow-sys conformance/main.ts",
    );
  }
  if (input.createQueue && inject !== "queue") {
    throw new UsageError("--create-queue", "Invalid --create-queue: it needs --inject queue");
  }
  return withoutUndefined({
    baseUrl: base,
    hubUrl,
    extraHubUrls: (input.scaleoutHubUrl ?? []).map((u) => checkUrl("--scaleout-hub-url", u, HUB)),
    anonymousHubUrl: url(
      input.anonymousHubUrl,
      "--anonymous-hub-url",
      base ? `${base}/notifications/anonymous-hub` : siblingOfHub(hubUrl, "anonymous-hub"),
    ),
    sendUrl: url(
      input.sendUrl,
      "--send-url",
      base ? `${base}/notifications/send` : siblingOfHub(hubUrl, "send"),
    ),
    apiUrl: url(input.apiUrl, "--api-url", `${root}/api`),
    identityUrl: url(input.identityUrl, "--identity-url", `${root}/identity`),
    inject: inject as InjectMode,
    internalToken: input.internalToken,
    internalClientId: input.internalToken === undefined
      ? input.internalClientId ??
        (input.internalKey === undefined ? undefined : DEFAULT_INTERNAL_CLIENT_ID)
      : input.internalClientId,
    internalKey: input.internalKey,
    queueConnectionString: input.queueConnectionString,
    queueName: input.queueName ?? "notifications",
    actAsAuthorityPort: input.actAsAuthority,
    actAsAuthorityHostname: input.actAsAuthority === undefined
      ? undefined
      : input.authorityHost ?? "127.0.0.1",
    authorityIssuer: input.authorityIssuer === undefined
      ? undefined
      : checkUrl("--authority-issuer", input.authorityIssuer, HTTP),
    installationId: input.installationId,
    protocols: protocols as ("messagepack" | "json")[],
    accounts: loaded.accounts,
    kdfIterations: input.kdfIterations === undefined
      ? undefined
      : parseInteger("--kdf-iterations", input.kdfIterations, 1, 100_000_000),
    emailDomain: input.emailDomain === undefined ? undefined : checkDomain(input.emailDomain),
    headers: input.header === undefined ? undefined : parseHeaders(input.header),
    caCertificates: loaded.caCertificates,
    createQueue: input.createQueue ? true : undefined,
  });
}

function parseInteger(flag: string, raw: number | string, min: number, max: number): number {
  const n = typeof raw === "number" ? raw : /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(
      flag,
      `Invalid ${flag}: expected an integer ${min}..${max}, got ${JSON.stringify(raw)}`,
    );
  }
  return n;
}

function checkDomain(raw: string): string {
  const domain = raw.trim().replace(/^@/, "").toLowerCase();
  if (
    !/^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+$/.test(
      domain,
    )
  ) {
    throw new UsageError(
      "--email-domain",
      `Invalid --email-domain: expected a domain such as example.org, got ${JSON.stringify(raw)}`,
    );
  }
  return domain;
}

// Headers the suite itself sets per request (or the transport owns): a proxy header cannot be one.
const RESERVED_HEADERS =
  /^(?:host|content-length|content-type|authorization|connection|upgrade|transfer-encoding|sec-websocket-.*)$/i;

/**
 * Parses `--header NAME:VALUE` values (a later one replaces an earlier one of the same name).
 *
 * @param values The flag values.
 * @returns Header values by lowercase name.
 * @throws {UsageError} Naming `--header` on a value without a colon, a bad name, or a header the
 * suite sets itself.
 *
 * @example
 * ```ts
 * import { parseHeaders } from "./target.ts";
 * parseHeaders(["CF-Access-Client-Id: abc"]); // { "cf-access-client-id": "abc" }
 * ```
 */
export function parseHeaders(values: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const raw of values) {
    const colon = raw.indexOf(":");
    const name = colon < 0 ? "" : raw.slice(0, colon).trim();
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new UsageError(
        "--header",
        `Invalid --header: expected NAME:VALUE with a header name, got ${JSON.stringify(raw)}`,
      );
    }
    if (RESERVED_HEADERS.test(name)) {
      throw new UsageError(
        "--header",
        `Invalid --header: ${name} is set by the suite itself on each request`,
      );
    }
    headers[name.toLowerCase()] = raw.slice(colon + 1).trim();
  }
  return headers;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function withoutUndefined<T extends object>(value: { [K in keyof T]: T[K] | undefined }): T {
  return definedOnly(value) as T;
}

/**
 * Lists what a target offers, to compare with each case's `needs`.
 *
 * @param target The resolved target.
 * @returns The capabilities it has.
 */
export function targetCapabilities(target: ResolvedTarget): ReadonlySet<Capability> {
  const caps = new Set<Capability>([`inject:${target.inject}`]);
  if (target.inject === "send" || target.inject === "queue") caps.add("inject:envelope");
  if (target.actAsAuthorityPort !== undefined) caps.add("authority");
  // Every target has an identity URL; whether it lets the suite register users is found out by
  // the first case that tries (and every such case is UNSUPPORTED with that reason if not).
  caps.add("identity");
  if (target.extraHubUrls.length > 0) caps.add("scaleout");
  if (target.installationId !== undefined) caps.add("installation");
  return caps;
}

const HOW_TO_MEET: Readonly<Record<Capability, string>> = {
  "inject:api": "run with --inject api",
  "inject:send": "run with --inject send",
  "inject:queue": "run with --inject queue",
  "inject:envelope": "run with --inject send or --inject queue",
  authority: "run with --act-as-authority PORT and a target that trusts it",
  identity: "give a target whose identity lets the suite register users (--identity-url)",
  scaleout: "give a second hub of the deployment with --scaleout-hub-url",
  installation: "give the target's installation id with --installation-id",
};

/**
 * Explains which of a case's needs the target does not meet.
 *
 * @param needs The case's needs.
 * @param capabilities The target's capabilities.
 * @param anyOf Alternatives of which at least one must be met (a case's `needsAnyOf`).
 * @returns A reason such as `Needs inject:queue (run with --inject queue)`, or undefined if all are met.
 */
export function unmetNeeds(
  needs: readonly Capability[],
  capabilities: ReadonlySet<Capability>,
  anyOf: readonly Capability[] = [],
): string | undefined {
  const missing = needs.filter((n) => !capabilities.has(n)).map((n) => `${n} (${HOW_TO_MEET[n]})`);
  if (anyOf.length > 0 && !anyOf.some((n) => capabilities.has(n))) {
    missing.push(anyOf.map((n) => `${n} (${HOW_TO_MEET[n]})`).join(" or "));
  }
  if (missing.length === 0) return undefined;
  return `Needs ${missing.join(", ")}`;
}

/**
 * Copies a target for reports with its secrets replaced by `"<redacted>"`.
 *
 * @param target The resolved target.
 * @returns The same target without internal key, internal token, queue account key, account
 * passwords or header values (proxy credentials), and with CA certificates summarised.
 */
export function redactTarget(target: ResolvedTarget): ResolvedTarget {
  const redacted: Record<string, unknown> = { ...target };
  for (const key of ["internalKey", "internalToken"] as const) {
    if (redacted[key] !== undefined) redacted[key] = "<redacted>";
  }
  if (target.accounts !== undefined) {
    redacted.accounts = target.accounts.map((a) => ({ email: a.email, password: "<redacted>" }));
  }
  if (target.headers !== undefined) {
    redacted.headers = Object.fromEntries(
      Object.keys(target.headers).map((k) => [k, "<redacted>"]),
    );
  }
  if (target.caCertificates !== undefined) {
    redacted.caCertificates = target.caCertificates.map((pem) => `<PEM, ${pem.length} characters>`);
  }
  if (target.queueConnectionString !== undefined) {
    redacted.queueConnectionString = target.queueConnectionString
      .replace(/(AccountKey|SharedAccessSignature)=[^;]*/gi, "$1=<redacted>");
  }
  return redacted as unknown as ResolvedTarget;
}

/**
 * Contracts shared by the conformance runner (CLI, verdicts, reports) and the case
 * library (drivers and cases). The runner never looks inside a case; a case never
 * formats a report.
 *
 * @module
 */

import type { ActingAuthority } from "../testing/mod.ts";

/** Final grade of one case. */
export type Verdict =
  | "PASS"
  | "FAIL"
  | "NON-STRICT"
  | "INFORMATIONAL"
  | "UNSUPPORTED"
  | "ERROR";

/**
 * Requirement level. `MUST` failures are FAIL; `SHOULD` failures are NON-STRICT (FAIL with
 * `--strict`); `MAY` is a capability probe graded INFORMATIONAL or UNSUPPORTED, never FAIL.
 */
export type Level = "MUST" | "SHOULD" | "MAY";

/** How updates are injected into the target. */
export type InjectMode = "api" | "send" | "queue";

/** What a case needs from the target; a case whose needs are not met is UNSUPPORTED with a reason. */
export type Capability =
  | "inject:api"
  | "inject:send"
  | "inject:queue"
  /** A raw envelope can be injected (send or queue mode). */
  | "inject:envelope"
  /** Tokens with arbitrary claims can be minted (`--act-as-authority`). */
  | "authority"
  /**
   * Users, devices and organizations can be created through the target's own identity and API
   * (registration, password grant, organization invite and confirm), so hub tokens come from
   * the target. Cases find out at run time whether the target allows it.
   */
  | "identity"
  /** Two or more hub URLs of one deployment. */
  | "scaleout"
  /** The target's installation id is known (`--installation-id`). */
  | "installation";

/** A fully resolved description of the deployment under test. */
export interface ResolvedTarget {
  /** Base URL given with `--target`, if any. */
  readonly baseUrl?: string;
  /** Main hub URL (`.../notifications/hub`). */
  readonly hubUrl: string;
  /** Extra hub URLs of other instances of the same deployment (scale-out cases). */
  readonly extraHubUrls: readonly string[];
  /** Anonymous hub URL (`.../notifications/anonymous-hub`). */
  readonly anonymousHubUrl: string;
  /** Notifications `/send` URL. */
  readonly sendUrl: string;
  /** API base URL (`.../api`). */
  readonly apiUrl: string;
  /** Identity base URL (`.../identity`). */
  readonly identityUrl: string;
  /** Injection mode. */
  readonly inject: InjectMode;
  /** Internal token for `/send`, when given directly. */
  readonly internalToken?: string;
  /** `client_credentials` id for an internal token (`internal.<name>`). */
  readonly internalClientId?: string;
  /** `client_credentials` secret for an internal token. */
  readonly internalKey?: string;
  /** Azure queue connection string (inject queue). */
  readonly queueConnectionString?: string;
  /** Azure queue name (default `notifications`). */
  readonly queueName: string;
  /** Port the harness serves OIDC discovery + JWKS on (`--act-as-authority`), if any. */
  readonly actAsAuthorityPort?: number;
  /** Interface the harness authority binds (`--authority-host`, default `127.0.0.1`). */
  readonly actAsAuthorityHostname?: string;
  /** Issuer the harness authority puts in tokens (defaults to its own URL). */
  readonly authorityIssuer?: string;
  /** The target's installation id, if known. */
  readonly installationId?: string;
  /** Hub protocols to exercise. */
  readonly protocols: readonly ("messagepack" | "json")[];
  /** Accounts made beforehand (`--accounts`): the suite logs in with them and registers none. */
  readonly accounts?: readonly GivenAccount[];
  /** PBKDF2 iterations of the accounts the suite registers (`--kdf-iterations`, default 600000). */
  readonly kdfIterations?: number;
  /** E-mail domain of the accounts the suite registers (`--email-domain`, default example.com). */
  readonly emailDomain?: string;
  /** Headers sent on every HTTP request and WebSocket upgrade to the target (`--header`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** PEM certificates trusted besides the system's, for a private CA (`--ca-cert`). */
  readonly caCertificates?: readonly string[];
  /** Create the queue when it does not exist (`--create-queue`). */
  readonly createQueue?: boolean;
}

/** An account of `--accounts`: e-mail and master password. */
export interface GivenAccount {
  /** E-mail (lowercase). */
  readonly email: string;
  /** Master password. */
  readonly password: string;
}

/** One event of a case's exchange, for the JSON report and the sequence diagram. */
export interface TraceEvent {
  /** Milliseconds since the case started. */
  readonly t: number;
  /** Lifeline the arrow starts at: `harness`, `api`, `identity`, `queue`, `send`, `hub`, or `client:<name>`. */
  readonly from: string;
  /** Lifeline the arrow ends at. */
  readonly to: string;
  /** What kind of step this is. */
  readonly kind:
    | "register"
    | "login"
    | "connect"
    | "update"
    | "inject"
    | "receive"
    | "frame"
    | "close"
    | "note";
  /** One-line human summary (shown on the arrow). */
  readonly summary: string;
  /** Raw data (decoded frame, HTTP body), JSON-serialisable. */
  readonly data?: unknown;
}

/** Records trace events for one case. */
export interface Trace {
  /** Appends an event; `t` is filled in by the trace. */
  record(event: Omit<TraceEvent, "t">): void;
  /** Events so far. */
  readonly events: readonly TraceEvent[];
}

/** Everything a case gets when it runs. */
export interface CaseContext {
  /** The deployment under test. */
  readonly target: ResolvedTarget;
  /** Trace to record exchanged frames and steps into. */
  readonly trace: Trace;
  /**
   * Aborted when the case times out or the run is cancelled. On a timeout the runner waits a
   * short settle window: a case that then throws {@linkcode CaseFailure} (e.g. expected "a
   * ReceiveMessage", actual "no event within N ms") is graded by its level; a case that throws
   * anything else, returns, or does not settle is graded ERROR.
   */
  readonly signal: AbortSignal;
  /** Per-case timeout in milliseconds. */
  readonly timeoutMs: number;
  /** How long to wait for messages that must NOT arrive. */
  readonly graceMs: number;
  /** Seed for property-based cases (fast-check). */
  readonly seed: number;
  /** Number of runs for property-based cases. */
  readonly runs: number;
  /** The harness identity authority, when the run acts as one (`--act-as-authority`). */
  readonly authority?: ActingAuthority;
  /** Writes a diagnostic line (shown with `--verbose`). */
  log(message: string): void;
}

/** Non-failing grades a case may return. Omitted/undefined means PASS. */
export interface CaseResult {
  /** `INFORMATIONAL` or `UNSUPPORTED` for MAY probes; `PASS` otherwise. */
  readonly verdict?: "PASS" | "INFORMATIONAL" | "UNSUPPORTED";
  /** Detail to show (what was observed). */
  readonly detail?: string;
}

/**
 * A requirement was not met: the runner grades it FAIL or NON-STRICT by the case's level, or by
 * the failure's own `level` when that is weaker (a MUST case whose client-relied checks held but
 * whose exact-form SHOULD did not is NON-STRICT).
 */
export class CaseFailure extends Error {
  /** What the requirement expected. */
  readonly expected: string;
  /** What was observed. */
  readonly actual: string;
  /** Level of the requirement that failed, when weaker than the case's. */
  readonly level?: Level;

  /**
   * Creates a failure.
   *
   * @param expected What the requirement expected.
   * @param actual What was observed.
   * @param message Optional summary (defaults to `Expected ...; got ...`).
   * @param options `level`: the failed requirement's level (never raises the case's level).
   */
  constructor(
    expected: string,
    actual: string,
    message?: string,
    options: { readonly level?: Level } = {},
  ) {
    super(message ?? `Expected ${expected}; got ${actual}`);
    this.name = "CaseFailure";
    this.expected = expected;
    this.actual = actual;
    if (options.level !== undefined) this.level = options.level;
  }
}

/** The target lacks an optional capability the case probes: graded UNSUPPORTED, never FAIL. */
export class CaseUnsupported extends Error {
  /**
   * Creates an unsupported signal.
   *
   * @param reason Why the case cannot be run or the feature is absent.
   */
  constructor(reason: string) {
    super(reason);
    this.name = "CaseUnsupported";
  }
}

/**
 * A run-wide limit of the target (a login or registration rate limit) stopped the case before it
 * could check anything: graded UNSUPPORTED like {@linkcode CaseUnsupported}, but deliberately not
 * one, so code that records a missing feature as a property of a pooled world (no organizations,
 * no registration) lets it through instead of remembering it.
 */
export class TargetLimitReached extends Error {
  /**
   * Creates the signal.
   *
   * @param reason Which limit, and the target settings that raise it.
   */
  constructor(reason: string) {
    super(reason);
    this.name = "TargetLimitReached";
  }
}

/** One conformance case. Any other exception thrown by `run` is graded ERROR. */
export interface CaseDefinition {
  /** Stable hierarchical id, e.g. `route/LogOut/all-user-connections`. */
  readonly id: string;
  /** One-line requirement with its level word, e.g. `The hub MUST deliver ...`. */
  readonly requirement: string;
  /** Requirement level. */
  readonly level: Level;
  /** Where the requirement comes from (research note section, spec). */
  readonly source?: string;
  /** Capabilities the case needs (all of them). */
  readonly needs: readonly Capability[];
  /**
   * Alternatives of which the case needs at least one, e.g. `["authority", "identity"]`: hub
   * tokens minted by the harness, or obtained through the target's identity.
   */
  readonly needsAnyOf?: readonly Capability[];
  /**
   * The case's own timeout, from the run's (property cases size it from `--runs`); default the
   * run's `--timeout`.
   */
  readonly timeout?: (
    run: { readonly timeoutMs: number; readonly graceMs: number; readonly runs: number },
  ) => number;
  /**
   * Start this case before the others (reports keep the catalogue order): for a long case that
   * spends no rate-limited budget, so it overlaps the rest of the run instead of ending it.
   */
  readonly startFirst?: boolean;
  /** Runs the case. */
  run(ctx: CaseContext): Promise<CaseResult | void>;
}

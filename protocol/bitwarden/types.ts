/**
 * Shapes of the Bitwarden push model shared by the codecs, the router and their callers.
 *
 * @module
 */

/** A JSON value as parsed from the wire. */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };

/**
 * A push envelope `{Type, Payload, ContextId}` (`PushNotificationData<T>`), independent of
 * the wire form it came from.
 *
 * For a defined type, `payload` is canonical: PascalCase keys (input keys are matched
 * case-insensitively), every field of the model the hub re-sends present (absent ones at their
 * C# defaults), GUIDs lowercase, dates as System.Text.Json writes them, enums as integers.
 * `createEnvelope` also fills every field of the declared model; `parse*` keep other keys the
 * input carried (declared-only fields such as `Date` for types 4/5/6/10/17 under their declared
 * name, anything else as given) so that writers can re-emit the declared model and the hub
 * projections can drop them exactly as the real server does. For an undefined type the payload
 * is the input object as given (`{}` when the input was not an object).
 */
export interface Envelope {
  /** Numeric push type (0..27 defined; other byte values are routed nowhere). */
  readonly type: number;
  /** The payload object, PascalCase keys. */
  readonly payload: { readonly [key: string]: JsonValue };
  /** Device identifier of the acting device, or null. */
  readonly contextId: string | null;
}

/** Which hub a routed message goes to. */
export type HubName = "main" | "anonymous";

/** Hub method names, spelled exactly as the real server spells them. */
export type HubMethod = "ReceiveMessage" | "AuthRequestResponseRecieved";

/** A recipient set on one hub: a SignalR user (raw `sub`, case-sensitive) or a group. */
export type RouteTarget =
  | { readonly kind: "user"; readonly userId: string }
  | { readonly kind: "group"; readonly group: string };

/** Where `routeEnvelope` sends an envelope. */
export interface Route {
  /** The hub the message goes to. */
  readonly hub: HubName;
  /** The client method invoked. */
  readonly method: HubMethod;
  /** Recipients; empty means the real server sends nothing. */
  readonly targets: readonly RouteTarget[];
  /** When `targets` is empty: why (unknown type, no target id, global without installation). */
  readonly reason?: string;
}

/** JWT claims of a hub connection (raw claim names; multi-valued claims as arrays). */
export interface HubClaims {
  readonly [claim: string]: unknown;
}

/** Identity and group memberships of a hub connection, fixed at connect time. */
export interface ConnectionGroups {
  /** SignalR user id: the raw `sub` claim, or null when absent. */
  readonly userId: string | null;
  /** `device` claim (the device identifier), or null. */
  readonly deviceId: string | null;
  /** Client type derived from the `devicetype` claim (numeric ClientType). */
  readonly clientType: number;
  /** Group names joined, in the order the real hub joins them. */
  readonly groups: readonly string[];
}

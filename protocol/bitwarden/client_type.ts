/**
 * `ClientType`, `DeviceType` and the DeviceType -> ClientType map
 * (`src/Core/Enums/ClientType.cs`, `DeviceType.cs`, `src/Core/Utilities/DeviceTypes.cs`).
 *
 * @module
 */

import { enumNameTable, parseDotnetEnum } from "./_dotnet_enum.ts";

/** Bitwarden client types (a byte enum). Group names use the enum *name*. */
export enum ClientType {
  /** Any client; never appears in group names. */
  All = 0,
  /** Web vault. */
  Web = 1,
  /** Browser extension. */
  Browser = 2,
  /** Desktop app. */
  Desktop = 3,
  /** Mobile app. */
  Mobile = 4,
  /** Command-line client. */
  Cli = 5,
}

/** Bitwarden device types. */
export enum DeviceType {
  /** Android app. */
  Android = 0,
  /** iOS app. */
  iOS = 1,
  /** Chrome extension. */
  ChromeExtension = 2,
  /** Firefox extension. */
  FirefoxExtension = 3,
  /** Opera extension. */
  OperaExtension = 4,
  /** Edge extension. */
  EdgeExtension = 5,
  /** Windows desktop. */
  WindowsDesktop = 6,
  /** macOS desktop. */
  MacOsDesktop = 7,
  /** Linux desktop. */
  LinuxDesktop = 8,
  /** Web vault in Chrome. */
  ChromeBrowser = 9,
  /** Web vault in Firefox. */
  FirefoxBrowser = 10,
  /** Web vault in Opera. */
  OperaBrowser = 11,
  /** Web vault in Edge. */
  EdgeBrowser = 12,
  /** Web vault in Internet Explorer. */
  IEBrowser = 13,
  /** Web vault in an unknown browser. */
  UnknownBrowser = 14,
  /** Amazon Android app. */
  AndroidAmazon = 15,
  /** Windows UWP desktop. */
  UWP = 16,
  /** Web vault in Safari. */
  SafariBrowser = 17,
  /** Web vault in Vivaldi. */
  VivaldiBrowser = 18,
  /** Vivaldi extension. */
  VivaldiExtension = 19,
  /** Safari extension. */
  SafariExtension = 20,
  /** SDK. */
  SDK = 21,
  /** Server. */
  Server = 22,
  /** Windows CLI. */
  WindowsCLI = 23,
  /** macOS CLI. */
  MacOsCLI = 24,
  /** Linux CLI. */
  LinuxCLI = 25,
  /** Web vault in DuckDuckGo. */
  DuckDuckGoBrowser = 26,
}

const CLIENT_TYPE_BY_DEVICE: ReadonlyMap<DeviceType, ClientType> = new Map([
  [DeviceType.Android, ClientType.Mobile],
  [DeviceType.iOS, ClientType.Mobile],
  [DeviceType.AndroidAmazon, ClientType.Mobile],
  [DeviceType.LinuxDesktop, ClientType.Desktop],
  [DeviceType.MacOsDesktop, ClientType.Desktop],
  [DeviceType.WindowsDesktop, ClientType.Desktop],
  [DeviceType.UWP, ClientType.Desktop],
  [DeviceType.WindowsCLI, ClientType.Cli],
  [DeviceType.MacOsCLI, ClientType.Cli],
  [DeviceType.LinuxCLI, ClientType.Cli],
  [DeviceType.ChromeExtension, ClientType.Browser],
  [DeviceType.FirefoxExtension, ClientType.Browser],
  [DeviceType.OperaExtension, ClientType.Browser],
  [DeviceType.EdgeExtension, ClientType.Browser],
  [DeviceType.VivaldiExtension, ClientType.Browser],
  [DeviceType.SafariExtension, ClientType.Browser],
  [DeviceType.ChromeBrowser, ClientType.Web],
  [DeviceType.FirefoxBrowser, ClientType.Web],
  [DeviceType.OperaBrowser, ClientType.Web],
  [DeviceType.EdgeBrowser, ClientType.Web],
  [DeviceType.IEBrowser, ClientType.Web],
  [DeviceType.SafariBrowser, ClientType.Web],
  [DeviceType.VivaldiBrowser, ClientType.Web],
  [DeviceType.DuckDuckGoBrowser, ClientType.Web],
  [DeviceType.UnknownBrowser, ClientType.Web],
]);

/**
 * Maps a device type to its client type; `All` for SDK, Server, null and undefined values,
 * as `DeviceTypes.ToClientType` does.
 *
 * @example
 * ```ts
 * import { ClientType, clientTypeForDevice, DeviceType } from "./client_type.ts";
 * import { strictEqual } from "node:assert/strict";
 * strictEqual(clientTypeForDevice(DeviceType.ChromeExtension), ClientType.Browser);
 * ```
 * @param deviceType The device type, or null/undefined when the token has none.
 * @returns The client type.
 */
export function clientTypeForDevice(
  deviceType: DeviceType | number | null | undefined,
): ClientType {
  if (deviceType === null || deviceType === undefined) return ClientType.All;
  return CLIENT_TYPE_BY_DEVICE.get(deviceType as DeviceType) ?? ClientType.All;
}

/** `IdentityClientType`, the access token's `type` claim (a byte enum). */
export enum IdentityClientType {
  /** A user (the default when the claim is absent). */
  User = 0,
  /** An organization API key. */
  Organization = 1,
  /** A Secrets Manager service account. */
  ServiceAccount = 2,
  /** A Send access token: no user, device or organization context. */
  Send = 3,
}

const DEVICE_TYPE_NAMES = enumNameTable(DeviceType);
const IDENTITY_CLIENT_TYPE_NAMES = enumNameTable(IdentityClientType);

/**
 * Parses a `devicetype` claim the way .NET `Enum.TryParse<DeviceType>` does for the server:
 * surrounding whitespace ignored; the enum name (case-sensitive, as Identity writes it), a
 * comma-separated list of names (OR'd), or an integer 0..255. Returns `undefined` when it does
 * not parse.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { DeviceType, parseDeviceTypeClaim } from "./client_type.ts";
 * strictEqual(parseDeviceTypeClaim("ChromeBrowser"), DeviceType.ChromeBrowser);
 * strictEqual(parseDeviceTypeClaim("9"), DeviceType.ChromeBrowser);
 * strictEqual(parseDeviceTypeClaim("chromebrowser"), undefined);
 * ```
 * @param claim The claim value.
 * @returns The device type number, or undefined.
 */
export function parseDeviceTypeClaim(claim: string | undefined | null): number | undefined {
  if (claim === undefined || claim === null) return undefined;
  return parseDotnetEnum(claim, DEVICE_TYPE_NAMES, 255);
}

/**
 * Parses a `type` claim as `Enum.TryParse<IdentityClientType>`; undefined when it does not parse.
 *
 * @example
 * ```ts
 * import { strictEqual } from "node:assert/strict";
 * import { IdentityClientType, parseIdentityClientTypeClaim } from "./client_type.ts";
 * strictEqual(parseIdentityClientTypeClaim("Send"), IdentityClientType.Send);
 * ```
 * @param claim The claim value.
 * @returns The identity client type number, or undefined.
 */
export function parseIdentityClientTypeClaim(claim: string | undefined | null): number | undefined {
  if (claim === undefined || claim === null) return undefined;
  return parseDotnetEnum(claim, IDENTITY_CLIENT_TYPE_NAMES, 255);
}

/**
 * `ClientType`, `DeviceType` and the DeviceType -> ClientType map
 * (`src/Core/Enums/ClientType.cs`, `DeviceType.cs`, `src/Core/Utilities/DeviceTypes.cs`).
 *
 * @module
 */

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
 * console.assert(clientTypeForDevice(DeviceType.ChromeExtension) === ClientType.Browser);
 * ```
 * @param deviceType The device type, or null/undefined when the token has none.
 * @returns The client type.
 */
export function clientTypeForDevice(deviceType: DeviceType | number | null | undefined): ClientType {
  if (deviceType === null || deviceType === undefined) return ClientType.All;
  return CLIENT_TYPE_BY_DEVICE.get(deviceType as DeviceType) ?? ClientType.All;
}

/**
 * Parses a `devicetype` claim the way .NET `Enum.TryParse` does for the server: the enum name
 * (case-sensitive, as Identity writes it) or a numeric string. Returns `undefined` when it
 * does not parse.
 *
 * @example
 * ```ts
 * import { DeviceType, parseDeviceTypeClaim } from "./client_type.ts";
 * console.assert(parseDeviceTypeClaim("ChromeBrowser") === DeviceType.ChromeBrowser);
 * console.assert(parseDeviceTypeClaim("9") === DeviceType.ChromeBrowser);
 * ```
 * @param claim The claim value.
 * @returns The device type number, or undefined.
 */
export function parseDeviceTypeClaim(claim: string | undefined | null): number | undefined {
  if (claim === undefined || claim === null) return undefined;
  const trimmed = claim.trim();
  if (/^-?\d+$/.test(trimmed)) {
    const n = Number(trimmed);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  const value = (DeviceType as unknown as Record<string, unknown>)[trimmed];
  return typeof value === "number" ? value : undefined;
}

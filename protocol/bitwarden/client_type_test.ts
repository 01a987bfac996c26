import { strictEqual } from "node:assert/strict";
import {
  ClientType,
  clientTypeForDevice,
  DeviceType,
  IdentityClientType,
  parseDeviceTypeClaim,
  parseIdentityClientTypeClaim,
} from "./client_type.ts";

Deno.test("clientTypeForDevice follows DeviceTypes.ToClientType", () => {
  const expected: [number, ClientType][] = [
    [DeviceType.Android, ClientType.Mobile],
    [DeviceType.iOS, ClientType.Mobile],
    [DeviceType.AndroidAmazon, ClientType.Mobile],
    [DeviceType.WindowsDesktop, ClientType.Desktop],
    [DeviceType.UWP, ClientType.Desktop],
    [DeviceType.LinuxCLI, ClientType.Cli],
    [DeviceType.SafariExtension, ClientType.Browser],
    [DeviceType.DuckDuckGoBrowser, ClientType.Web],
    [DeviceType.UnknownBrowser, ClientType.Web],
    [DeviceType.SDK, ClientType.All],
    [DeviceType.Server, ClientType.All],
    [200, ClientType.All],
  ];
  for (const [device, client] of expected) strictEqual(clientTypeForDevice(device), client);
  strictEqual(clientTypeForDevice(null), ClientType.All);
  strictEqual(clientTypeForDevice(undefined), ClientType.All);
});

Deno.test("parseDeviceTypeClaim behaves like Enum.TryParse", async (t) => {
  await t.step("names are case-sensitive and trimmed", () => {
    strictEqual(parseDeviceTypeClaim("ChromeBrowser"), DeviceType.ChromeBrowser);
    strictEqual(parseDeviceTypeClaim(" iOS "), DeviceType.iOS);
    strictEqual(parseDeviceTypeClaim("chromebrowser"), undefined);
    strictEqual(parseDeviceTypeClaim("Chrome"), undefined);
    strictEqual(parseDeviceTypeClaim(""), undefined);
    strictEqual(parseDeviceTypeClaim(null), undefined);
  });
  await t.step("numbers must fit a byte", () => {
    strictEqual(parseDeviceTypeClaim("9"), 9);
    strictEqual(parseDeviceTypeClaim("+9"), 9);
    strictEqual(parseDeviceTypeClaim("255"), 255);
    strictEqual(parseDeviceTypeClaim("256"), undefined);
    strictEqual(parseDeviceTypeClaim("-1"), undefined);
    strictEqual(parseDeviceTypeClaim("9.0"), undefined);
    strictEqual(parseDeviceTypeClaim("9abc"), undefined);
  });
  await t.step("comma-separated names are OR'd", () => {
    strictEqual(parseDeviceTypeClaim("Android, ChromeBrowser"), DeviceType.ChromeBrowser);
    strictEqual(parseDeviceTypeClaim("Android,Nope"), undefined);
  });
});

Deno.test("parseIdentityClientTypeClaim recognises Send by name or number", () => {
  strictEqual(parseIdentityClientTypeClaim("Send"), IdentityClientType.Send);
  strictEqual(parseIdentityClientTypeClaim("3"), IdentityClientType.Send);
  strictEqual(parseIdentityClientTypeClaim("User"), IdentityClientType.User);
  strictEqual(parseIdentityClientTypeClaim("send"), undefined);
  strictEqual(parseIdentityClientTypeClaim(undefined), undefined);
});

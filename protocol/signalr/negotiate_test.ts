import assert from "node:assert/strict";
import { ProtocolError } from "../errors.ts";
import {
  buildNegotiateResponse,
  connectionIdFromBytes,
  negotiateErrorBody,
  parseNegotiateVersion,
} from "./negotiate.ts";

Deno.test("negotiate", async (t) => {
  await t.step("version selection", () => {
    assert.equal(parseNegotiateVersion(null), 0);
    assert.equal(parseNegotiateVersion("0"), 0);
    assert.equal(parseNegotiateVersion("1"), 1);
    assert.equal(parseNegotiateVersion("2"), 1);
    assert.equal(parseNegotiateVersion(" +1 "), 1);
    assert.equal(parseNegotiateVersion("2147483647"), 1);
    assert.equal(parseNegotiateVersion("1", { minimumVersion: 1 }), 1);
  });

  await t.step("version errors carry the server's texts", () => {
    for (const bad of ["", "abc", "1.0", "0x1", "2147483648", "1 2", "\u0661"]) {
      assert.throws(() => parseNegotiateVersion(bad), {
        name: "ProtocolError",
        message: "The client requested a non-integer protocol version.",
      }, JSON.stringify(bad));
    }
    assert.throws(() => parseNegotiateVersion("-1"), {
      message: "The client requested version '-1', but the server does not support this version.",
    });
    assert.throws(() => parseNegotiateVersion(null, { minimumVersion: 1 }), {
      message: "The client requested version '0', but the server does not support this version.",
    });
    assert.throws(() => parseNegotiateVersion("-0", { minimumVersion: 1 }), {
      message: "The client requested version '0', but the server does not support this version.",
    });
    assert.throws(() => parseNegotiateVersion("x"), ProtocolError);
  });

  await t.step("v1 response in the server's property order", () => {
    assert.equal(
      buildNegotiateResponse({
        negotiateVersion: 1,
        connectionId: "id",
        connectionToken: "tok",
        transports: ["LongPolling", "WebSockets", "ServerSentEvents"],
      }),
      '{"negotiateVersion":1,"connectionId":"id","connectionToken":"tok","availableTransports":[' +
        '{"transport":"WebSockets","transferFormats":["Text","Binary"]},' +
        '{"transport":"ServerSentEvents","transferFormats":["Text"]},' +
        '{"transport":"LongPolling","transferFormats":["Text","Binary"]}]}',
    );
  });

  await t.step("v0 has no token; stateful reconnect goes first; no transports is []", () => {
    assert.equal(
      buildNegotiateResponse({
        negotiateVersion: 0,
        connectionId: "id",
        connectionToken: "tok",
        transports: [],
        useStatefulReconnect: true,
      }),
      '{"useStatefulReconnect":true,"negotiateVersion":0,"connectionId":"id","availableTransports":[]}',
    );
  });

  await t.step("error body and connection ids", () => {
    assert.equal(
      negotiateErrorBody("The client requested a non-integer protocol version."),
      '{"error":"The client requested a non-integer protocol version."}',
    );
    const id = connectionIdFromBytes(new Uint8Array(16).fill(0xfb));
    assert.equal(id, "-_v7-_v7-_v7-_v7-_v7-w");
    assert.match(
      connectionIdFromBytes(crypto.getRandomValues(new Uint8Array(16))),
      /^[A-Za-z0-9_-]{22}$/,
    );
    assert.throws(() => connectionIdFromBytes(new Uint8Array(15)), RangeError);
  });
});

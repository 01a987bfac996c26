/**
 * A throw-away self-signed TLS certificate for 127.0.0.1 and localhost, made with `openssl`, for
 * tests of TLS listeners and of clients that trust a private CA.
 *
 * @module
 */

/** A generated certificate: its files (in `dir`, which the caller removes) and their text. */
export interface TestCert {
  /** The temporary folder holding both files. */
  readonly dir: string;
  /** The certificate's PEM file. */
  readonly certFile: string;
  /** The private key's PEM file. */
  readonly keyFile: string;
  /** The certificate, PEM text. */
  readonly cert: string;
  /** The private key, PEM text. */
  readonly key: string;
}

/**
 * Whether `openssl` can be run, so tests that need a certificate can be skipped without it.
 *
 * @returns True when `openssl version` succeeds.
 */
export async function hasOpenssl(): Promise<boolean> {
  try {
    const { success } = await new Deno.Command("openssl", {
      args: ["version"],
      stdout: "null",
      stderr: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/**
 * Makes a P-256 self-signed server certificate valid for a day, for `IP:127.0.0.1` and
 * `DNS:localhost`. It is marked `CA:FALSE` because rustls (Deno's TLS) refuses a CA certificate
 * as a server's own (`CaUsedAsEndEntity`), and the same certificate is the client's trust root.
 *
 * @example
 * ```ts
 * import { hasOpenssl, makeTestCert } from "./test_cert.ts";
 * // openssl is an external program: skip where it is not installed.
 * if (await hasOpenssl()) {
 *   const cert = await makeTestCert();
 *   try {
 *     const options = { hostname: "127.0.0.1", port: 0, cert: cert.cert, key: cert.key };
 *     const server = Deno.serve({ ...options, onListen: () => {} }, () => new Response());
 *     await server.shutdown();
 *   } finally {
 *     await Deno.remove(cert.dir, { recursive: true });
 *   }
 * }
 * ```
 * @returns The certificate; remove `dir` when done.
 * @throws {Error} When openssl fails (its error output is in the message).
 */
export async function makeTestCert(): Promise<TestCert> {
  const dir = await Deno.makeTempDir({ prefix: "hubproof_cert_" });
  const certFile = `${dir}/cert.pem`;
  const keyFile = `${dir}/key.pem`;
  try {
    const { success, stderr } = await new Deno.Command("openssl", {
      args: [
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=localhost",
        "-addext",
        "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-addext",
        "basicConstraints=critical,CA:FALSE",
        "-addext",
        "extendedKeyUsage=serverAuth",
        "-keyout",
        keyFile,
        "-out",
        certFile,
      ],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (!success) throw new Error(`openssl failed: ${new TextDecoder().decode(stderr)}`);
    return {
      dir,
      certFile,
      keyFile,
      cert: await Deno.readTextFile(certFile),
      key: await Deno.readTextFile(keyFile),
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

/**
 * Private: `SecretVerificationRequestModel`, the body of routes that ask for the master password
 * again (delete account, delete organization): bitwarden/server
 * src/Api/Auth/Models/Request/Accounts/SecretVerificationRequestModel.cs @
 * ac309aa19ed351406a56032d5f26a7a9a99f4abd.
 *
 * @module
 */

import { verifySecret } from "../kernel/mod.ts";
import { modelStateError, readJsonObject } from "../kernel/http.ts";
import type { User } from "../kernel/store.ts";
import { ModelState } from "../kernel/validation.ts";

/**
 * Reads the body and checks its master password hash against the user's: a body without
 * `masterPasswordHash`, `otp` or `authRequestAccessCode` is a model-state error, and so is a
 * wrong hash (or only an OTP, which hubproof never issues): "User verification failed.".
 * Bitwarden also waits 2 s before that answer to slow guessing; hubproof does not, so its
 * tests stay fast.
 *
 * @param request The request.
 * @param user The caller.
 * @throws {HttpError} 400 when the secret is missing or wrong.
 */
export async function requireUserSecret(request: Request, user: User): Promise<void> {
  const state = new ModelState(await readJsonObject(request));
  const hash = state.string("masterPasswordHash", { max: 300 });
  const otp = state.string("otp");
  const accessCode = state.string("authRequestAccessCode");
  state.throwIfInvalid();
  if (!hash && !otp && !accessCode) {
    throw modelStateError({ "": ["MasterPasswordHash, OTP, or AccessCode must be supplied."] });
  }
  if (!hash || !(await verifySecret(hash, user.masterPassword))) {
    throw modelStateError({ "": ["User verification failed."] });
  }
}

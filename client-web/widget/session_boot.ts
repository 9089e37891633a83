// Loaded on demand by the widget page: libsodium (WebAssembly) and the session layer.
import { initSodium } from '../common/crypto/sodium.js';
import { BeneficiarySession, type BeneficiaryOptions } from '../common/session/beneficiary.js';

export { BeneficiarySession };

/** A new anonymous session once libsodium is ready. */
export async function createSession(options: BeneficiaryOptions): Promise<BeneficiarySession> {
  await initSodium();
  return new BeneficiarySession(options);
}

/** A session restored from a resume code. */
export async function restoreSession(options: BeneficiaryOptions, code: string): Promise<BeneficiarySession> {
  await initSodium();
  return BeneficiarySession.restore(options, code);
}

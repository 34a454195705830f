import type { ImportConfig } from "../../../config/config";
import { PicklePolicyVerifier } from "./pickle-policy.verifier";
import type { Verifier } from "./verifier";

export type { Verifier, VerifierContext, VerifierReport, VerifiableFile } from "./verifier";
export { runVerifiers } from "./verifier";
export { PicklePolicyVerifier, pickleKind } from "./pickle-policy.verifier";

/** The verifiers the configuration turns on, in the order they run. */
export function configuredVerifiers(config: Pick<ImportConfig, "picklePolicy">): Verifier[] {
  const verifiers: Verifier[] = [];
  if (config.picklePolicy !== "off") verifiers.push(new PicklePolicyVerifier(config.picklePolicy));
  return verifiers;
}

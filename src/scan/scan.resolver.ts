import { Arg, Authorized, Mutation, Resolver } from "type-graphql";
import { Role } from "../common/enums";
import { ERRORS } from "../common/errors";
import {
  DelegateScanArtifactsInput, DelegateScanArtifactsPayload, ScanArtifactModelsInput, ScanArtifactModelsPayload,
  ScanArtifactsInput, ScanArtifactsPayload,
} from "./scan.type";

/** Discovery of models upstream. Scanning talks to external registries: superadmin only. */
@Resolver()
export class ScanResolver {
  @Authorized(Role.SUPERADMIN)
  @Mutation(() => ScanArtifactsPayload, { nullable: true })
  scanArtifacts(@Arg("input", () => ScanArtifactsInput) _input: ScanArtifactsInput): ScanArtifactsPayload {
    throw ERRORS.notImplemented("scanArtifacts");
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => ScanArtifactModelsPayload, { nullable: true })
  scanArtifactModels(@Arg("input", () => ScanArtifactModelsInput) _input: ScanArtifactModelsInput): ScanArtifactModelsPayload {
    throw ERRORS.notImplemented("scanArtifactModels");
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => DelegateScanArtifactsPayload, { nullable: true })
  delegateScanArtifacts(@Arg("input", () => DelegateScanArtifactsInput) _input: DelegateScanArtifactsInput): DelegateScanArtifactsPayload {
    throw ERRORS.notImplemented("delegateScanArtifacts");
  }
}

import type { NonEmptyArray } from "type-graphql";
import { ArtifactResolver } from "../artifact/artifact.resolver";
import { ArtifactFileResolver, RevisionResolver } from "../revision/revision.resolver";
import { SubscriptionResolver } from "../events/subscription.resolver";
import { ImportResolver } from "../import/import.resolver";
import { ScanResolver } from "../scan/scan.resolver";

/** Every resolver class of the schema. Each domain adds its own here. */
export const RESOLVERS: NonEmptyArray<Function> = [
  ArtifactResolver,
  RevisionResolver,
  ArtifactFileResolver,
  ScanResolver,
  ImportResolver,
  SubscriptionResolver,
];

import type { ArtifactType } from "../common/enums";

/** An artifact as a scan found it upstream: what the catalog inserts or refreshes. */
export interface ArtifactUpsert {
  registryId: string;
  type: ArtifactType;
  name: string;
  description?: string | null;
  sourceName: string | null;
  sourceUrl: string | null;
  extra: Record<string, unknown> | null;
}

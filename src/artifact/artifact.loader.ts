import DataLoader from "dataloader";
import type { DataSource } from "typeorm";
import type { Viewer } from "../auth/viewer";
import { isUuid } from "../common/relay";
import type { ArtifactRegistryEntity } from "../registry/artifact-registry.entity";
import type { ArtifactEntity } from "./artifact.entity";
import type { EntityPage } from "../common/paging.util";
import { ArtifactService, canSeeArtifact, type ListAnswer, type ListArtifactsArgs, type ListRequest } from "./artifact.service";
import { toArtifact, type Artifact } from "./artifact.type";

/** Per-request loaders of the artifact domain. Keys are lower-case UUIDs (what parseId returns). */
export function createArtifactLoaders(ds: DataSource) {
  const service = new ArtifactService(ds);
  const artifactById = new DataLoader<string, ArtifactEntity | null>((ids) => service.findArtifactsByIds(ids.filter(isUuid)).then(align(ids)));
  const artifactRegistryById = new DataLoader<string, ArtifactRegistryEntity | null>((ids) =>
    service.findRegistriesByIds(ids.filter(isUuid)).then(align(ids)));
  return { artifactById, artifactRegistryById, artifactLists: new ArtifactLists(service, artifactById, artifactRegistryById) };
}

export interface ArtifactListing {
  page(): Promise<EntityPage<ArtifactEntity>>;
  count(): Promise<number>;
}

interface Wanted {
  args: ListArtifactsArgs;
  want: "page" | "count";
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

/**
 * The `artifacts` fields of one request, answered together (ArtifactService.listMany): what each
 * field's client selected (its page, its count) is collected as DataLoader collects keys, until
 * the resolvers of the request's current step have run.
 */
export class ArtifactLists {
  private queue: Wanted[] = [];

  constructor(
    private readonly service: ArtifactService,
    private readonly artifactById: DataLoader<string, ArtifactEntity | null>,
    private readonly registryById: DataLoader<string, ArtifactRegistryEntity | null>,
  ) {}

  /** Checks the arguments now (a bad filter is the field's error); queries run only for what is then selected. */
  open(args: ListArtifactsArgs): ArtifactListing {
    this.service.conditions(args);
    let page: Promise<EntityPage<ArtifactEntity>> | null = null;
    let count: Promise<number> | null = null;
    return {
      page: () => (page ??= this.enqueue<EntityPage<ArtifactEntity>>(args, "page")),
      count: () => (count ??= this.enqueue<number>(args, "count")),
    };
  }

  private enqueue<T>(args: ListArtifactsArgs, want: Wanted["want"]): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ args, want, resolve: resolve as (value: unknown) => void, reject });
      // As DataLoader schedules a batch: after the promise jobs of the current step have run.
      if (this.queue.length === 1) void Promise.resolve().then(() => process.nextTick(() => void this.dispatch()));
    });
  }

  private async dispatch(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    const requests = new Map<ListArtifactsArgs, ListRequest>();
    for (const { args, want } of batch) {
      const request = requests.get(args) ?? { ...args, page: false, count: false };
      request[want] = true;
      requests.set(args, request);
    }
    let answers: ListAnswer[];
    try {
      answers = await this.service.listMany([...requests.values()]);
    } catch (error) {
      for (const wanted of batch) wanted.reject(error);
      return;
    }
    const byArgs = new Map([...requests.keys()].map((args, i) => [args, answers[i]]));
    for (const answer of answers) {
      if (answer.failed) continue;
      for (const entity of answer.page?.rows ?? []) this.artifactById.prime(entity.id, entity);
      for (const registry of answer.registries) this.registryById.prime(registry.id, registry);
    }
    for (const wanted of batch) {
      const answer = byArgs.get(wanted.args)!;
      if (answer.failed) wanted.reject(answer.failed.error);
      else wanted.resolve(wanted.want === "page" ? answer.page : answer.count);
    }
  }
}

export type ArtifactLoaders = ReturnType<typeof createArtifactLoaders>;

/** Non-UUID keys never reach SQL (a bad cast would fail the whole batch); they load as null. */
function align<E extends { id: string }>(ids: readonly string[]) {
  return (found: (E | null)[]) => {
    const map = new Map(found.filter((e): e is E => e !== null).map((e) => [e.id, e]));
    return ids.map((id) => map.get(id) ?? null);
  };
}

/**
 * Node and federation lookups: the artifact as this viewer may see it (null when unknown, or
 * DELETED and the viewer is a `user`), as a class instance.
 */
export async function loadArtifactNode(ctx: { viewer: Viewer | null; loaders: ArtifactLoaders }, uuid: string): Promise<Artifact | null> {
  const entity = await ctx.loaders.artifactById.load(uuid.toLowerCase());
  return entity && canSeeArtifact(ctx.viewer, entity) ? toArtifact(entity) : null;
}

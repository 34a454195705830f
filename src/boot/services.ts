import type { DataSource } from "typeorm";
import { UserTokens } from "../auth/jwt";
import { TokenRevocations } from "../auth/revocation.service";
import type { Clock } from "../common/clock";
import { ArtifactService } from "../artifact/artifact.service";
import { RevisionService } from "../revision/revision.service";
import { KeypairService } from "../keypair/keypair.service";
import type { RegistryService } from "../registry/registry.service";
import { StorageService } from "../storage/storage.service";
import type { Logger } from "../common/logger";
import type { ImportQueue } from "../import/import.ports";
import { ImportService } from "../import/api/import.service";
import { UploadService } from "../import/api/upload.service";
import type { LinkSigner } from "../storage/link-signer";
import { DetailQueue } from "../scan/detail-queue";
import { HuggingFaceScanner } from "../scan/huggingface.scanner";
import { ReservoirScanner } from "../scan/reservoir.scanner";
import { ScanService } from "../scan/scan.service";
import type { UpstreamClients } from "../upstream/clients";
import type { Config } from "../config/config";
import type { EventBus } from "../events/event-bus";
import type { StorageManager } from "../storage/storage-manager";

export interface ServiceDeps {
  ds: DataSource;
  config: Config;
  /** The server's own secret (AUTH_JWT_SECRET or the generated one). */
  authSecret: string;
  events: EventBus;
  logger: Logger;
  storage: StorageManager;
  /** The durable import queue (pg-boss), started by bootCore before the services. */
  importQueue: ImportQueue;
  /** Built once by bootCore; the import worker uses the same. */
  clients: UpstreamClients;
  registries: RegistryService;
  /** Signs upload links (the same signer as filesystem links). */
  signer: LinkSigner;
  /** Origin the app is reachable at, read when a link is made. */
  publicUrl: () => string;
  /** When tokens expire (the system clock by default). */
  clock?: Clock;
}

/** Long-lived domain services, built once at start-up and shared by all requests. */
export function createServices(deps: ServiceDeps) {
  const { registries, clients } = deps;
  const detailQueue = new DetailQueue(deps.config.scan.detailConcurrency, deps.logger);
  const huggingface = new HuggingFaceScanner(deps.ds, clients.hub, detailQueue, deps.logger, deps.config.scan.requestTimeoutMs);
  const reservoir = new ReservoirScanner({
    ds: deps.ds,
    clients: clients.reservoir,
    registries,
    logger: deps.logger,
    detailConcurrency: deps.config.scan.detailConcurrency,
  });
  const uploads = new UploadService({ ds: deps.ds, config: deps.config, storage: deps.storage, signer: deps.signer, publicUrl: deps.publicUrl, logger: deps.logger });
  return {
    artifacts: new ArtifactService(deps.ds),
    revisions: new RevisionService(deps.ds),
    registries,
    imports: new ImportService(deps.ds, deps.config, deps.storage, deps.importQueue, deps.events, deps.logger, {
      ds: deps.ds, registries, clients: clients.reservoir, logger: deps.logger,
    }, uploads),
    uploads,
    scans: new ScanService(registries, huggingface, detailQueue, reservoir, deps.config.scan.requestTimeoutMs),
    storages: new StorageService(deps.ds, deps.storage, { limits: deps.config.limits, logger: deps.logger }),
    keypairs: new KeypairService(deps.ds, { limits: deps.config.limits, logger: deps.logger, events: deps.events, clock: deps.clock }),
    tokens: new UserTokens(deps.authSecret, { maxTtlSeconds: deps.config.auth.maxTokenTtlSeconds, clock: deps.clock }),
    revocations: new TokenRevocations(deps.ds, deps.events, deps.logger, deps.clock),
  };
}

export type Services = ReturnType<typeof createServices>;

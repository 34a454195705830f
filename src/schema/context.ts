import type { GraphQLError } from "graphql";
import type { DataSource } from "typeorm";
import type { Viewer } from "../auth/viewer";
import type { Config } from "../config/config";
import type { EventBus } from "../events/event-bus";
import type { Services } from "../boot/services";
import type { Loaders } from "./loaders";

/** What every resolver sees. Loaders are new for each request (and each subscription event). */
export interface AppContext {
  viewer: Viewer | null;
  ds: DataSource;
  config: Config;
  services: Services;
  events: EventBus;
  loaders: Loaders;
  /** Fresh loaders, for reads that must not see what this context's loaders cached (each subscription event). */
  newLoaders(): Loaders;
  /**
   * Errors of single items of a batch mutation whose other items succeeded: they are added to
   * the response's errors without nulling the data (see partialErrorsPlugin).
   */
  partialErrors: GraphQLError[];
}

import type { DataSource } from "typeorm";
import type { Config } from "../config/config";

/** Long-lived domain services, built once at start-up and shared by all requests. */
export function createServices(_ds: DataSource, _config: Config) {
  return {};
}

export type Services = ReturnType<typeof createServices>;

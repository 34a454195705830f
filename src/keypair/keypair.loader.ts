import DataLoader from "dataloader";
import { In, type DataSource } from "typeorm";
import { isUuid } from "../common/relay";
import { ApiKeypairEntity } from "./api-keypair.entity";
import { toApiKeypair, type ApiKeypair } from "./keypair.type";

/** Keyed by bare UUID; null when absent. Key pairs are superadmin-only: callers check the role. */
export function createKeypairLoaders(ds: DataSource) {
  return {
    apiKeypairById: new DataLoader<string, ApiKeypair | null>(async (ids) => {
      const rows = await ds.getRepository(ApiKeypairEntity).findBy({ id: In(ids.filter(isUuid)) });
      const found = new Map(rows.map((row) => [row.id, row]));
      return ids.map((id) => {
        const row = found.get(id);
        return row ? toApiKeypair(row) : null;
      });
    }),
  };
}

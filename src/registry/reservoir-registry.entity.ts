import { sealedCheck, sealedColumn } from "../common/secrets";
import { Check, Column, Entity, JoinColumn, OneToOne, PrimaryColumn } from "typeorm";
import type { Relation } from "typeorm";
import { ArtifactRegistryEntity } from "./artifact-registry.entity";

@Entity("reservoir_registries")
@Check("reservoir_registries_secret_key_sealed_check", sealedCheck("secret_key"))
export class ReservoirRegistryEntity {
  @PrimaryColumn("uuid")
  id: string;

  @OneToOne(() => ArtifactRegistryEntity, { onDelete: "CASCADE" })
  @JoinColumn({ name: "id" })
  base?: Relation<ArtifactRegistryEntity>;

  @Column({ type: "text" })
  endpoint: string;

  @Column({ name: "access_key", type: "varchar", length: 256 })
  accessKey: string;

  /** Sealed in the row (SECRETS_ENCRYPTION_KEYS), in clear here. */
  @Column({ name: "secret_key", type: "text", transformer: sealedColumn("reservoir_registries.secret_key") })
  secretKey: string;

  @Column({ name: "api_version", type: "varchar", length: 32 })
  apiVersion: string;
}

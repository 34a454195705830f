import { Column, Entity, JoinColumn, OneToOne, PrimaryColumn } from "typeorm";
import type { Relation } from "typeorm";
import { ArtifactRegistryEntity } from "./artifact-registry.entity";

@Entity("reservoir_registries")
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

  @Column({ name: "secret_key", type: "text" })
  secretKey: string;

  @Column({ name: "api_version", type: "varchar", length: 32 })
  apiVersion: string;
}

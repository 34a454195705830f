import { S3_SECRET_PURPOSE, sealedCheck, sealedColumn } from "../common/secrets";
import { Check, Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";

@Entity("object_storages")
@Check("object_storages_secret_key_sealed_check", sealedCheck("secret_key"))
export class ObjectStorageEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column({ type: "varchar", length: 256, unique: true })
  name: string;

  @Column({ type: "varchar", length: 256 })
  host: string;

  @Column({ name: "access_key", type: "varchar", length: 256 })
  accessKey: string;

  /** Sealed in the row (SECRETS_ENCRYPTION_KEYS), in clear here. */
  @Column({ name: "secret_key", type: "text", transformer: sealedColumn(S3_SECRET_PURPOSE) })
  secretKey: string;

  @Column({ type: "text" })
  endpoint: string;

  @Column({ type: "varchar", length: 64 })
  region: string;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @UpdateDateColumn({ name: "updated_at", type: "timestamptz" })
  updatedAt: Date;
}

import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, UpdateDateColumn } from "typeorm";

@Entity("object_storages")
export class ObjectStorageEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column({ type: "varchar", length: 256, unique: true })
  name: string;

  @Column({ type: "varchar", length: 256 })
  host: string;

  @Column({ name: "access_key", type: "varchar", length: 256 })
  accessKey: string;

  @Column({ name: "secret_key", type: "text" })
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

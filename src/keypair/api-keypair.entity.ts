import { Check, Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from "typeorm";
import { ApiKeypairRole, sqlIn } from "../common/enums";
import { sealedCheck } from "../common/secrets";

/**
 * A machine client's key pair. The secret signs the client's JWTs (HS256), so the server needs
 * it back: it is sealed with the keys of SECRETS_ENCRYPTION_KEYS, bound to the access key, never in clear.
 */
@Entity("api_keypairs")
@Check("api_keypairs_role_check", `"role" IN (${sqlIn(ApiKeypairRole)})`)
@Check("api_keypairs_secret_key_encrypted_sealed_check", sealedCheck("secret_key_encrypted"))
export class ApiKeypairEntity {
  @PrimaryGeneratedColumn("uuid")
  id: string;

  @Column({ name: "access_key", type: "varchar", length: 64, unique: true })
  accessKey: string;

  @Column({ name: "secret_key_encrypted", type: "text" })
  secretKeyEncrypted: string;

  @Column({ type: "varchar", length: 16 })
  role: ApiKeypairRole;

  @Column({ type: "text", nullable: true })
  description: string | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz" })
  createdAt: Date;

  @Column({ name: "last_used_at", type: "timestamptz", nullable: true })
  lastUsedAt: Date | null;

  @Column({ name: "revoked_at", type: "timestamptz", nullable: true })
  revokedAt: Date | null;
}

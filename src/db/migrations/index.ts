import { Initial1795744821474 } from "./1795744821474-Initial";
import { ImportState1795750000000 } from "./1795750000000-ImportState";
import { ImportManifest1795760000000 } from "./1795760000000-ImportManifest";
import { ImportOptions1795770000000 } from "./1795770000000-ImportOptions";
import { StagedReceipts1795780000000 } from "./1795780000000-StagedReceipts";
import { CrashBytes1795790000000 } from "./1795790000000-CrashBytes";
import { RevisionUploads1795792000000 } from "./1795792000000-RevisionUploads";
import { TokenRevocations1795800000000 } from "./1795800000000-TokenRevocations";
import { SealSecrets1795810000000 } from "./1795810000000-SealSecrets";
import { SealKeypairSecrets1795820000000 } from "./1795820000000-SealKeypairSecrets";

/** Every migration, in order. New ones are appended here. */
export const MIGRATIONS = [Initial1795744821474, ImportState1795750000000, ImportManifest1795760000000, ImportOptions1795770000000, StagedReceipts1795780000000, CrashBytes1795790000000, RevisionUploads1795792000000, TokenRevocations1795800000000, SealSecrets1795810000000, SealKeypairSecrets1795820000000];

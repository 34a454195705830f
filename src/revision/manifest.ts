/** One file of a revision as upstream lists it: a scan records it, an import fetches and verifies it. */
export interface ManifestFile {
  path: string;
  size: string;
  sha256: string | null;
  upstreamOid: string | null;
}

/** READMEs beyond this are cut: upstream text is untrusted and lands in every list query. */
export const MAX_README_BYTES = 1024 * 1024;

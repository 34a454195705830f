/** Where a revision's files live: `{artifact name}/{version}/{file path}` in its namespace (the Backend.AI layout). */
export function finalKey(artifactName: string, version: string, path: string): string {
  return `${artifactName}/${version}/${path}`;
}

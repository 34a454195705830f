import { useMemo, useState } from "react";
import { useSession } from "../App";
import { ConfirmButton, ErrorNote, Notice, StatusBadge, useAction } from "../components/common";
import { isImporting, ProgressBar } from "../components/ProgressBar";
import {
  ApproveRevisionDocument, ArtifactDetailDocument, CancelImportDocument, CleanupRevisionDocument, DeleteArtifactsDocument,
  ImportProgressDocument, ImportRevisionDocument, RejectRevisionDocument, RestoreArtifactsDocument, RevisionContentDocument,
  RevisionStatusDocument, type ArtifactDetailQuery, type ProgressFragment, type RevisionContentQuery, type RevisionDetailFragment,
} from "../gql/graphql";
import { gql } from "../lib/api";
import { formatBytes, formatDate, shortCommit } from "../lib/format";
import { useQuery, useSubscription } from "../lib/hooks";
import { renderReadme } from "../lib/markdown";
import { href, type Route } from "../lib/router";
import type { Capabilities } from "../lib/session";

type Artifact = NonNullable<ArtifactDetailQuery["artifact"]>;
type Revision = RevisionDetailFragment;

/** The revision was imported from one commit, and upstream has moved on since. */
function isOutdated(revision: Revision): boolean {
  return !!revision.digest && !!revision.latestUpstreamDigest && revision.digest !== revision.latestUpstreamDigest;
}

const FILES_PAGE = 100;

export function ArtifactDetail({ id, route }: { id: string; route: Route }) {
  const { can } = useSession();
  const detail = useQuery(ArtifactDetailDocument, { id });
  const artifactAction = useAction();
  const artifact = detail.data?.artifact ?? null;
  const revisions = useMemo(() => artifact?.revisions?.edges.map((e) => e.node) ?? [], [artifact]);

  const replaceRevision = (next: Revision) =>
    detail.setData((data) => ({
      ...data,
      artifact: data.artifact && {
        ...data.artifact,
        revisions: data.artifact.revisions && {
          ...data.artifact.revisions,
          edges: data.artifact.revisions.edges.map((e) => (e.node.id === next.id ? { node: next } : e)),
        },
      },
    }));

  // Every status change of this artifact's revisions is pushed here, with the revision as it is then.
  const ids = useMemo(() => revisions.map((r) => r.id).sort(), [revisions]);
  useSubscription(RevisionStatusDocument, ids.length ? { ids } : null, (event) => replaceRevision(event.artifactStatusChanged.artifactRevision));

  if (detail.error && !artifact) return <ErrorNote error={detail.error} title="Could not load the artifact" />;
  if (!detail.data) return <p aria-busy="true">Loading…</p>;
  if (!artifact) {
    return (
      <section>
        <h1>No such artifact</h1>
        <p>
          It does not exist, or this token may not see it. <a href={href(["artifacts"])}>Back to the artifacts</a>.
        </p>
      </section>
    );
  }

  const selected = revisions.find((r) => r.id === route.params.get("rev")) ?? revisions[0] ?? null;
  const setAvailability = async (mode: "delete" | "restore") => {
    const done = await artifactAction.run<unknown>(() => (mode === "delete" ? gql(DeleteArtifactsDocument, { ids: [artifact.id] }) : gql(RestoreArtifactsDocument, { ids: [artifact.id] })));
    if (done) await detail.refetch();
  };

  return (
    <section aria-labelledby="artifact-title" className="artifact">
      <p className="crumbs">
        <a href={href(["artifacts"])}>Artifacts</a> /
      </p>
      <div className="page-head">
        <h1 id="artifact-title">
          {artifact.name}
          {artifact.availability === "DELETED" ? <span className="tag tag-danger">deleted</span> : null}
        </h1>
        {can.deleteRestore ? (
          artifact.availability === "ALIVE" ? (
            <ConfirmButton label="Delete" confirm="Delete this artifact? It can be restored." disabled={artifactAction.busy} onConfirm={() => void setAvailability("delete")} />
          ) : (
            <button type="button" className="button" disabled={artifactAction.busy} onClick={() => void setAvailability("restore")}>
              Restore
            </button>
          )
        ) : null}
      </div>
      <ErrorNote error={artifactAction.error} />
      <ErrorNote error={detail.error} title="Could not refresh" />
      {artifact.description ? <p className="lead">{artifact.description}</p> : null}
      <dl className="facts">
        <div><dt>Type</dt><dd>{artifact.type.toLowerCase()}</dd></div>
        <div><dt>Registry</dt><dd>{artifact.registry.name ?? "—"}{artifact.registry.url ? <span className="muted"> ({artifact.registry.url})</span> : null}</dd></div>
        <div><dt>Scanned</dt><dd>{formatDate(artifact.scannedAt)}</dd></div>
        <div><dt>Updated</dt><dd>{formatDate(artifact.updatedAt)}</dd></div>
        <div><dt>Revisions</dt><dd>{artifact.revisions?.count ?? 0}</dd></div>
      </dl>

      <h2>Revisions</h2>
      {revisions.length ? (
        <ul className="revisions">
          {revisions.map((revision) => (
            <RevisionCard key={revision.id} artifact={artifact} revision={revision} selected={revision.id === selected?.id} can={can} onChange={replaceRevision} />
          ))}
        </ul>
      ) : (
        <Notice>This artifact has no revisions yet.</Notice>
      )}

      {selected ? (
        // Remounted when the revision becomes AVAILABLE or stops being so: its files' links change then.
        <RevisionContent key={`${selected.id}:${selected.status === "AVAILABLE"}`} revision={selected} />
      ) : null}
    </section>
  );
}

function RevisionCard({ artifact, revision, selected, can, onChange }: { artifact: Artifact; revision: Revision; selected: boolean; can: Capabilities; onChange(next: Revision): void }) {
  const action = useAction();
  const importing = isImporting(revision.status);
  const [live, setLive] = useState<{ progress: ProgressFragment; revisionUpdatedAt: string | null } | null>(null);

  // Bytes and files of a running import, about once a second.
  useSubscription(ImportProgressDocument, importing ? { id: revision.id } : null, (event) => {
    const update = event.artifactImportProgressUpdated;
    setLive({ progress: update.importProgress, revisionUpdatedAt: revision.updatedAt });
    if (update.status !== revision.status && isImporting(update.status)) onChange({ ...revision, status: update.status });
  });
  // Pushed progress is newer than the revision's own until the revision changes again.
  const progress = importing && live && live.revisionUpdatedAt === revision.updatedAt ? live.progress : revision.importProgress;
  const showProgress = progress && (importing || revision.status === "AVAILABLE");

  const act = async (run: () => Promise<Revision | null | undefined>) => {
    const next = await action.run(run);
    if (next) onChange(next);
  };
  const id = revision.id;
  const actions = [];
  if (can.manageImports) {
    if (revision.status === "SCANNED" || revision.status === "FAILED") {
      actions.push(
        <button key="import" type="button" className="button button-primary" disabled={action.busy} onClick={() => void act(async () => (await gql(ImportRevisionDocument, { id, force: false })).importArtifacts?.tasks[0]?.artifactRevision)}>
          {revision.status === "FAILED" ? "Retry import" : "Import"}
        </button>,
      );
    }
    if (revision.status === "AVAILABLE" && isOutdated(revision)) {
      actions.push(
        <ConfirmButton key="reimport" label="Re-import" confirm="Import the newer upstream commit? The current files stay until it is done." disabled={action.busy} onConfirm={() => void act(async () => (await gql(ImportRevisionDocument, { id, force: true })).importArtifacts?.tasks[0]?.artifactRevision)} />,
      );
    }
    if (importing) {
      actions.push(
        <ConfirmButton key="cancel" label="Cancel import" confirm="Stop this import and delete what it fetched?" disabled={action.busy} onConfirm={() => void act(async () => (await gql(CancelImportDocument, { id })).cancelImportArtifact?.artifactRevision)} />,
      );
    }
    if (revision.status === "NEEDS_APPROVAL") {
      actions.push(
        <button key="approve" type="button" className="button button-primary" disabled={action.busy} onClick={() => void act(async () => (await gql(ApproveRevisionDocument, { id })).approveArtifactRevision?.artifactRevision)}>
          Approve
        </button>,
        <ConfirmButton key="reject" label="Reject" confirm="Reject this revision? Its files stay until cleaned up." disabled={action.busy} onConfirm={() => void act(async () => (await gql(RejectRevisionDocument, { id })).rejectArtifactRevision?.artifactRevision)} />,
      );
    }
    if (["AVAILABLE", "FAILED", "REJECTED", "NEEDS_APPROVAL"].includes(revision.status)) {
      actions.push(
        <ConfirmButton key="cleanup" label="Clean up" confirm="Delete this revision's stored files? Its metadata stays." disabled={action.busy} onConfirm={() => void act(async () => (await gql(CleanupRevisionDocument, { id })).cleanupArtifactRevisions?.artifactRevisions.edges[0]?.node)} />,
      );
    }
  }

  return (
    <li className={`revision${selected ? " revision-selected" : ""}`} data-revision={revision.version} aria-current={selected ? "true" : undefined}>
      <div className="revision-head">
        <a className="revision-version" href={href(["artifacts", artifact.id], { rev: revision.id })}>
          {revision.version}
        </a>
        <StatusBadge status={revision.status} />
        {isOutdated(revision) ? (
          <span className="tag tag-warn" title={`Imported ${shortCommit(revision.digest)}; upstream is now at ${shortCommit(revision.latestUpstreamDigest)}`}>
            outdated
          </span>
        ) : null}
      </div>
      <dl className="revision-facts">
        <div><dt>Size</dt><dd>{formatBytes(revision.size)}</dd></div>
        <div>
          <dt>Commit</dt>
          <dd>
            <code title={revision.digest ?? revision.latestUpstreamDigest ?? undefined}>{shortCommit(revision.digest ?? revision.latestUpstreamDigest)}</code>
            {revision.digest ? <span className="muted"> imported</span> : revision.latestUpstreamDigest ? <span className="muted"> upstream</span> : null}
          </dd>
        </div>
        <div><dt>Updated</dt><dd>{formatDate(revision.updatedAt)}</dd></div>
      </dl>
      {showProgress ? <ProgressBar progress={progress} status={revision.status} label={`Import of ${revision.version}`} /> : null}
      {revision.lastError ? (
        <div className="note note-error revision-error">
          <strong>Last error: </strong>
          <span className="pre-line">{revision.lastError}</span>
        </div>
      ) : null}
      <ErrorNote error={action.error} />
      {actions.length ? <div className="actions">{actions}</div> : null}
    </li>
  );
}

type Files = NonNullable<RevisionContentQuery["artifactRevision"]>["files"];

function RevisionContent({ revision }: { revision: Revision }) {
  const content = useQuery(RevisionContentDocument, { id: revision.id, files: FILES_PAGE, after: null });
  const [more, setMore] = useState<Files[]>([]);
  const loadMore = useAction();
  const data = content.data?.artifactRevision;
  const readme = useMemo(() => (data?.readme ? renderReadme(data.readme) : null), [data?.readme]);
  if (content.error && !data) return <ErrorNote error={content.error} title="Could not load the revision's files" />;
  if (!data) return <p aria-busy="true">Loading {revision.version}…</p>;

  const pages = [data.files, ...more];
  const files = pages.flatMap((p) => p.edges.map((e) => e.node));
  const last = pages[pages.length - 1];
  const fetchMore = () =>
    loadMore.run(async () => {
      const next = await gql(RevisionContentDocument, { id: revision.id, files: FILES_PAGE, after: last.pageInfo.endCursor });
      if (next.artifactRevision) setMore((current) => [...current, next.artifactRevision!.files]);
    });

  return (
    <div className="revision-content">
      {/* The mount and HF_ENDPOINT snippets of an AVAILABLE revision belong here, once the service offers them. */}
      <section aria-labelledby="files-title">
        <h2 id="files-title">
          Files of {revision.version} <span className="muted">({data.files.count})</span>
        </h2>
        {revision.status !== "AVAILABLE" && files.length ? <p className="help">Download links appear once the revision is available.</p> : null}
        {files.length ? (
          <table className="table files">
            <thead>
              <tr>
                <th scope="col">Path</th>
                <th scope="col">Size</th>
                <th scope="col">SHA-256</th>
                <th scope="col"><span className="visually-hidden">Download</span></th>
              </tr>
            </thead>
            <tbody>
              {files.map((file) => (
                <tr key={file.path}>
                  <td data-label="Path" className="path">{file.path}</td>
                  <td data-label="Size" className="num">{formatBytes(file.size)}</td>
                  <td data-label="SHA-256" className="sha"><code>{file.sha256 ?? "—"}</code></td>
                  <td data-label="Download">
                    {file.downloadUrl ? (
                      <a href={file.downloadUrl} download={file.path.split("/").pop()} aria-label={`Download ${file.path}`}>
                        Download
                      </a>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <Notice>No files are known yet: the scan reads the file list in the background.</Notice>
        )}
        {last.pageInfo.hasNextPage ? (
          <button type="button" className="button" disabled={loadMore.busy} onClick={() => void fetchMore()}>
            Show more files
          </button>
        ) : null}
        <ErrorNote error={loadMore.error} />
      </section>
      <section aria-labelledby="readme-title">
        <h2 id="readme-title">README</h2>
        {readme !== null ? (
          // Sanitised by renderReadme (DOMPurify), and the page's CSP runs no inline script anyway.
          <article className="readme" dangerouslySetInnerHTML={{ __html: readme }} />
        ) : (
          <p className="muted">This revision has no README.</p>
        )}
      </section>
    </div>
  );
}

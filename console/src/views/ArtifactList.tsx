import { useEffect, useMemo, useState, type FormEvent } from "react";
import { useSession } from "../App";
import { ConfirmButton, ErrorNote, Notice, StatusBadge, useAction } from "../components/common";
import {
  ArtifactListDocument, DeleteArtifactsDocument, RegistriesDocument, RestoreArtifactsDocument, RevisionStatusDocument,
  type ArtifactFilter, type ArtifactListQuery, type ArtifactOrderField, type ArtifactType, type OrderDirection,
} from "../gql/graphql";
import { gql } from "../lib/api";
import { formatBytes } from "../lib/format";
import { useQuery, useSubscription } from "../lib/hooks";
import { href, navigate, type Route } from "../lib/router";

const PAGE_SIZES = [10, 25, 50, 100];
const TYPES: ArtifactType[] = ["MODEL", "PACKAGE", "IMAGE"];
const SORTS: Array<{ field: ArtifactOrderField; label: string }> = [
  { field: "NAME", label: "Name" },
  { field: "TYPE", label: "Type" },
  { field: "SIZE", label: "Size" },
  { field: "SCANNED_AT", label: "Scanned" },
  { field: "UPDATED_AT", label: "Updated" },
];
/** Revisions read per artifact: the badges, the latest version and the size. */
const REVISIONS_PER_ARTIFACT = 20;

type ArtifactRow = NonNullable<ArtifactListQuery["artifacts"]>["edges"][number]["node"];

interface ListParams {
  name: string;
  type: ArtifactType | "";
  registry: string;
  availability: "ALIVE" | "DELETED" | "";
  sort: ArtifactOrderField;
  dir: OrderDirection;
  page: number;
  size: number;
}

/** The list's state lives in the URL, so reload, back and a shared link show the same page. */
function readParams(params: URLSearchParams, seeDeleted: boolean): ListParams {
  const pick = <T extends string>(value: string | null, allowed: readonly T[], fallback: T): T => (allowed.includes(value as T) ? (value as T) : fallback);
  const size = Number(params.get("size") ?? 25);
  const page = Number(params.get("page") ?? 1);
  const availability = params.get("availability");
  return {
    name: params.get("name") ?? "",
    type: pick(params.get("type"), ["", ...TYPES], ""),
    registry: params.get("registry") ?? "",
    // Only admins see deleted artifacts: for a user the filter is fixed to ALIVE.
    availability: !seeDeleted ? "ALIVE" : availability === "all" ? "" : pick(availability, ["ALIVE", "DELETED"], "ALIVE"),
    sort: pick(params.get("sort"), SORTS.map((s) => s.field), "NAME"),
    dir: pick(params.get("dir"), ["ASC", "DESC"], "ASC"),
    page: Number.isInteger(page) && page > 1 ? page : 1,
    size: PAGE_SIZES.includes(size) ? size : 25,
  };
}

/** Defaults are left out of the URL. */
function go(params: ListParams) {
  navigate(["artifacts"], {
    name: params.name.trim(),
    type: params.type,
    registry: params.registry,
    availability: params.availability === "ALIVE" ? null : params.availability || "all",
    sort: params.sort === "NAME" ? null : params.sort,
    dir: params.dir === "ASC" ? null : params.dir,
    page: params.page > 1 ? params.page : null,
    size: params.size === 25 ? null : params.size,
  });
}

function filterOf(params: ListParams): ArtifactFilter {
  const filter: ArtifactFilter = {};
  if (params.name.trim()) filter.name = { iContains: params.name.trim() };
  if (params.type) filter.type = [params.type];
  if (params.registry) filter.registry = { equals: params.registry };
  if (params.availability) filter.availability = [params.availability];
  return filter;
}

/** The largest revision, as the service sorts by size. */
function sizeOf(artifact: ArtifactRow): string | null {
  let largest: number | null = null;
  for (const { node } of artifact.revisions?.edges ?? []) if (node.size !== null) largest = Math.max(largest ?? 0, Number(node.size));
  return largest === null ? null : String(largest);
}

export function ArtifactList({ route }: { route: Route }) {
  const { can } = useSession();
  const params = readParams(route.params, can.seeDeleted);
  const variables = {
    limit: params.size,
    offset: (params.page - 1) * params.size,
    filter: filterOf(params),
    orderBy: [{ field: params.sort, direction: params.dir }],
    revisions: REVISIONS_PER_ARTIFACT,
  };
  const list = useQuery(ArtifactListDocument, variables);
  // Only the names are wanted here, whatever the role.
  const registries = useQuery(RegistriesDocument, { admin: false });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const action = useAction();

  const rows = list.data?.artifacts?.edges.map((e) => e.node) ?? [];
  const count = list.data?.artifacts?.count ?? 0;
  const pages = Math.max(1, Math.ceil(count / params.size));

  // Badges change as imports move: one subscription for every revision on the page.
  const revisionIds = useMemo(() => rows.flatMap((a) => a.revisions?.edges.map((e) => e.node.id) ?? []).sort(), [rows]);
  useSubscription(RevisionStatusDocument, revisionIds.length ? { ids: revisionIds } : null, (event) => {
    const changed = event.artifactStatusChanged.artifactRevision;
    list.setData((data) => ({
      ...data,
      artifacts: data.artifacts && {
        ...data.artifacts,
        edges: data.artifacts.edges.map((edge) => ({
          ...edge,
          node: {
            ...edge.node,
            revisions: edge.node.revisions && {
              ...edge.node.revisions,
              edges: edge.node.revisions.edges.map((r) => (r.node.id === changed.id ? { node: { ...r.node, status: changed.status, size: changed.size } } : r)),
            },
          },
        })),
      },
    }));
  });

  const registryNames = [...new Set([...(registries.data?.huggingfaceRegistries?.edges ?? []), ...(registries.data?.reservoirRegistries?.edges ?? [])].map((e) => e.node.name))].sort();
  const [nameInput, setNameInput] = useState(params.name);
  // Back and forward change the URL under the field.
  useEffect(() => setNameInput(params.name), [params.name]);

  const applyName = (event: FormEvent) => {
    event.preventDefault();
    go({ ...params, name: nameInput, page: 1 });
  };
  const sortBy = (field: ArtifactOrderField) => go({ ...params, sort: field, dir: params.sort === field && params.dir === "ASC" ? "DESC" : "ASC", page: 1 });
  const ariaSort = (field: ArtifactOrderField) => (params.sort === field ? (params.dir === "ASC" ? "ascending" : "descending") : undefined);
  const sortHeader = (field: ArtifactOrderField, label: string) => (
    <th scope="col" aria-sort={ariaSort(field)}>
      <button type="button" className="sort" onClick={() => sortBy(field)}>
        {label}
        <span aria-hidden="true">{params.sort === field ? (params.dir === "ASC" ? " ▲" : " ▼") : ""}</span>
      </button>
    </th>
  );

  const bulk = async (mode: "delete" | "restore") => {
    const ids = [...selected];
    const done = await action.run<unknown>(() => (mode === "delete" ? gql(DeleteArtifactsDocument, { ids }) : gql(RestoreArtifactsDocument, { ids })));
    if (done) {
      setSelected(new Set());
      await list.refetch();
    }
  };
  const toggle = (id: string) =>
    setSelected((current) => {
      const next = new Set(current);
      if (!next.delete(id)) next.add(id);
      return next;
    });
  const selectedRows = rows.filter((r) => selected.has(r.id));

  return (
    <section aria-labelledby="artifacts-title">
      <div className="page-head">
        <h1 id="artifacts-title">Artifacts</h1>
        {can.scan ? (
          <a className="button" href={href(["registries"])}>
            Scan a registry
          </a>
        ) : null}
      </div>

      <form className="filters" onSubmit={applyName} role="search" aria-label="Filter artifacts">
        <div className="field">
          <label htmlFor="filter-name">Name contains</label>
          <input id="filter-name" type="search" value={nameInput} onChange={(e) => setNameInput(e.target.value)} onBlur={() => nameInput !== params.name && go({ ...params, name: nameInput, page: 1 })} />
        </div>
        <div className="field">
          <label htmlFor="filter-type">Type</label>
          <select id="filter-type" value={params.type} onChange={(e) => go({ ...params, type: e.target.value as ArtifactType | "", page: 1 })}>
            <option value="">Any</option>
            {TYPES.map((t) => (
              <option key={t} value={t}>
                {t.toLowerCase()}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="filter-registry">Registry</label>
          <select id="filter-registry" value={params.registry} onChange={(e) => go({ ...params, registry: e.target.value, page: 1 })}>
            <option value="">Any</option>
            {registryNames.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>
        {can.seeDeleted ? (
          <div className="field">
            <label htmlFor="filter-availability">Show</label>
            <select id="filter-availability" value={params.availability} onChange={(e) => go({ ...params, availability: e.target.value as ListParams["availability"], page: 1 })}>
              <option value="ALIVE">Alive</option>
              <option value="DELETED">Deleted</option>
              <option value="">All</option>
            </select>
          </div>
        ) : null}
        <div className="field">
          <label htmlFor="filter-sort">Sort by</label>
          <select id="filter-sort" value={`${params.sort}:${params.dir}`} onChange={(e) => {
            const [sort, dir] = e.target.value.split(":") as [ArtifactOrderField, OrderDirection];
            go({ ...params, sort, dir, page: 1 });
          }}>
            {SORTS.flatMap(({ field, label }) => [
              <option key={`${field}:ASC`} value={`${field}:ASC`}>{label}, ascending</option>,
              <option key={`${field}:DESC`} value={`${field}:DESC`}>{label}, descending</option>,
            ])}
          </select>
        </div>
        <button type="submit" className="button">Filter</button>
      </form>

      <ErrorNote error={list.error} title="Could not load the artifacts" />
      <ErrorNote error={action.error} />

      {can.deleteRestore && selectedRows.length ? (
        <div className="bulk" role="group" aria-label="Selected artifacts">
          <span>{selectedRows.length} selected</span>
          {selectedRows.some((r) => r.availability === "ALIVE") ? (
            <ConfirmButton label="Delete" confirm={`Delete ${selectedRows.length} artifact(s)? They can be restored.`} disabled={action.busy} onConfirm={() => void bulk("delete")} />
          ) : null}
          {selectedRows.some((r) => r.availability === "DELETED") ? (
            <button type="button" className="button" disabled={action.busy} onClick={() => void bulk("restore")}>
              Restore
            </button>
          ) : null}
        </div>
      ) : null}

      {list.data && !rows.length ? (
        <Notice>
          No artifacts match. {can.scan ? <a href={href(["registries"])}>Scan a registry</a> : "An administrator can scan a registry"} to find models.
        </Notice>
      ) : null}

      {rows.length ? (
        <table className="table artifacts" aria-busy={list.loading}>
          <caption className="visually-hidden">Artifacts, sorted by {SORTS.find((s) => s.field === params.sort)?.label.toLowerCase()}</caption>
          <thead>
            <tr>
              {can.deleteRestore ? <th scope="col"><span className="visually-hidden">Select</span></th> : null}
              {sortHeader("NAME", "Name")}
              {sortHeader("TYPE", "Type")}
              <th scope="col">Registry</th>
              <th scope="col">Latest version</th>
              <th scope="col">Revisions</th>
              {sortHeader("SIZE", "Size")}
            </tr>
          </thead>
          <tbody>
            {rows.map((artifact) => {
              const revisions = artifact.revisions?.edges.map((e) => e.node) ?? [];
              const more = (artifact.revisions?.count ?? 0) - revisions.length;
              return (
                <tr key={artifact.id} className={artifact.availability === "DELETED" ? "deleted" : undefined} data-artifact={artifact.name}>
                  {can.deleteRestore ? (
                    <td data-label="Select">
                      <input type="checkbox" aria-label={`Select ${artifact.name}`} checked={selected.has(artifact.id)} onChange={() => toggle(artifact.id)} />
                    </td>
                  ) : null}
                  <td data-label="Name" className="name">
                    <a href={href(["artifacts", artifact.id])}>{artifact.name}</a>
                    {artifact.availability === "DELETED" ? <span className="tag">deleted</span> : null}
                  </td>
                  <td data-label="Type">{artifact.type.toLowerCase()}</td>
                  <td data-label="Registry">{artifact.registry.name ?? "—"}</td>
                  <td data-label="Latest version">{revisions[0]?.version ?? "—"}</td>
                  <td data-label="Revisions">
                    <span className="badges">
                      {revisions.map((r) => (
                        <StatusBadge key={r.id} status={r.status} version={r.version} />
                      ))}
                      {more > 0 ? <span className="tag">+{more} more</span> : null}
                    </span>
                  </td>
                  <td data-label="Size" className="num">{formatBytes(sizeOf(artifact))}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      ) : null}

      {count > 0 ? (
        <nav className="pager" aria-label="Pages">
          <button type="button" className="button" disabled={params.page <= 1} onClick={() => go({ ...params, page: params.page - 1 })}>
            Previous
          </button>
          <span>
            {(params.page - 1) * params.size + 1}–{Math.min(count, params.page * params.size)} of {count} · page {params.page} of {pages}
          </span>
          <button type="button" className="button" disabled={params.page >= pages} onClick={() => go({ ...params, page: params.page + 1 })}>
            Next
          </button>
          <label htmlFor="page-size" className="pager-size">
            Per page
          </label>
          <select id="page-size" value={params.size} onChange={(e) => go({ ...params, size: Number(e.target.value), page: 1 })}>
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </nav>
      ) : null}
    </section>
  );
}

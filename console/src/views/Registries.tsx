import { useState, type FormEvent, type ReactNode } from "react";
import { useSession } from "../App";
import { ErrorNote, Notice, useAction } from "../components/common";
import {
  CreateHuggingFaceRegistryDocument, CreateReservoirRegistryDocument, RegistriesDocument, ScanModelsDocument, ScanRegistryDocument,
  UpdateHuggingFaceRegistryDocument, UpdateReservoirRegistryDocument, type RegistriesQuery, type ScanModelsMutation, type ScanRegistryMutation,
} from "../gql/graphql";
import { ApiError, gql, type GraphQLErrorItem } from "../lib/api";
import { useQuery } from "../lib/hooks";
import { href } from "../lib/router";

type HuggingFace = NonNullable<RegistriesQuery["huggingfaceRegistries"]>["edges"][number]["node"];
type Reservoir = NonNullable<RegistriesQuery["reservoirRegistries"]>["edges"][number]["node"];

/** scanArtifactModels takes the registry's UUID, not its global ID (base64 of "Type:uuid"). */
function uuidOf(globalId: string): string {
  try {
    const decoded = atob(globalId);
    return decoded.slice(decoded.indexOf(":") + 1);
  } catch {
    return globalId;
  }
}

function Field({ id, label, help, children }: { id: string; label: string; help?: string; children: ReactNode }) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children}
      {help ? (
        <span className="help" id={`${id}-help`}>
          {help}
        </span>
      ) : null}
    </div>
  );
}

export function Registries() {
  const { can } = useSession();
  const registries = useQuery(RegistriesDocument, { admin: can.seeRegistryKeys });
  const huggingface = registries.data?.huggingfaceRegistries?.edges.map((e) => e.node) ?? [];
  const reservoir = registries.data?.reservoirRegistries?.edges.map((e) => e.node) ?? [];
  const [editing, setEditing] = useState<string | null>(null);
  const saved = async () => {
    setEditing(null);
    await registries.refetch();
  };

  return (
    <section aria-labelledby="registries-title">
      <div className="page-head">
        <h1 id="registries-title">Registries</h1>
      </div>
      <ErrorNote error={registries.error} title="Could not load the registries" />
      {!can.manageRegistries ? <p className="help">Adding, editing and scanning registries is for superadmins.</p> : null}

      <h2>Hugging Face</h2>
      {huggingface.length ? (
        <table className="table registries">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">URL</th>
              <th scope="col">Token</th>
              {can.manageRegistries ? <th scope="col"><span className="visually-hidden">Actions</span></th> : null}
            </tr>
          </thead>
          <tbody>
            {huggingface.map((r) => (
              <HuggingFaceRow key={r.id} registry={r} editable={can.manageRegistries} editing={editing === r.id} onEdit={() => setEditing(editing === r.id ? null : r.id)} onSaved={saved} />
            ))}
          </tbody>
        </table>
      ) : registries.data ? <Notice>No Hugging Face registry.</Notice> : null}
      {can.manageRegistries ? <HuggingFaceForm onSaved={saved} /> : null}

      <h2>Reservoir</h2>
      {reservoir.length ? (
        <table className="table registries">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Endpoint</th>
              {can.seeRegistryKeys ? <th scope="col">Access key</th> : null}
              <th scope="col">Secret key</th>
              <th scope="col">API version</th>
              {can.manageRegistries ? <th scope="col"><span className="visually-hidden">Actions</span></th> : null}
            </tr>
          </thead>
          <tbody>
            {reservoir.map((r) => (
              <ReservoirRow key={r.id} registry={r} editable={can.manageRegistries} editing={editing === r.id} onEdit={() => setEditing(editing === r.id ? null : r.id)} onSaved={saved} />
            ))}
          </tbody>
        </table>
      ) : registries.data ? <Notice>No Reservoir registry.</Notice> : null}
      {can.manageRegistries ? <ReservoirForm onSaved={saved} /> : null}

      {can.scan && registries.data ? (
        <>
          <ScanPanel huggingface={huggingface} reservoir={reservoir} />
          <ScanModelsPanel huggingface={huggingface} />
        </>
      ) : null}
    </section>
  );
}

function EditButton({ name, editing, onEdit }: { name: string; editing: boolean; onEdit(): void }) {
  return (
    <button type="button" className="button" aria-expanded={editing} onClick={onEdit}>
      {editing ? "Close" : "Edit"} <span className="visually-hidden">{name}</span>
    </button>
  );
}

interface RowProps<R> { registry: R; editable: boolean; editing: boolean; onEdit(): void; onSaved(): void }

/** A registry's row, and below it, while editing, its form across the whole table. */
function RegistryRow({ name, cells, columns, editable, editing, onEdit, form }: { name: string; cells: ReactNode; columns: number; editable: boolean; editing: boolean; onEdit(): void; form: ReactNode }) {
  return (
    <>
      <tr>
        {cells}
        {editable ? <td data-label="Actions"><EditButton name={name} editing={editing} onEdit={onEdit} /></td> : null}
      </tr>
      {editing ? (
        <tr className="edit-row">
          <td colSpan={columns}>{form}</td>
        </tr>
      ) : null}
    </>
  );
}

/** A new registry's form folds away under its title; an edit form shows as it is. */
function Foldable({ title, folded, children }: { title: string; folded: boolean; children: ReactNode }) {
  if (!folded) return <>{children}</>;
  return (
    <details className="card add">
      <summary>{title}</summary>
      {children}
    </details>
  );
}

function HuggingFaceRow({ registry, ...row }: RowProps<HuggingFace>) {
  return (
    <RegistryRow
      {...row}
      name={registry.name}
      columns={4}
      cells={
        <>
          <td data-label="Name">{registry.name}</td>
          <td data-label="URL" className="path">{registry.url}</td>
          {/* Write-only: the service masks it anyway, and the console does not show even that. */}
          <td data-label="Token">{registry.token ? "set" : "none"}</td>
        </>
      }
      form={<HuggingFaceForm registry={registry} onSaved={row.onSaved} />}
    />
  );
}

function HuggingFaceForm({ registry, onSaved }: { registry?: HuggingFace; onSaved(): void }) {
  const prefix = registry ? `hf-${registry.id}` : "hf-new";
  const [name, setName] = useState(registry?.name ?? "");
  const [url, setUrl] = useState(registry?.url ?? "https://huggingface.co");
  const [token, setToken] = useState("");
  const [removeToken, setRemoveToken] = useState(false);
  const action = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const done = await action.run<unknown>(() =>
      registry
        // An empty token field leaves the token as it is; "" removes it.
        ? gql(UpdateHuggingFaceRegistryDocument, { input: { id: registry.id, name, url, ...(removeToken ? { token: "" } : token ? { token } : {}) } })
        : gql(CreateHuggingFaceRegistryDocument, { input: { name, url, ...(token ? { token } : {}) } }),
    );
    if (done) {
      setToken("");
      if (!registry) setName("");
      onSaved();
    }
  };
  return (
    <Foldable title="Add a Hugging Face registry" folded={!registry}>
      <form className="form-grid" onSubmit={submit} aria-label={registry ? `Edit ${registry.name}` : "Add a Hugging Face registry"}>
        <Field id={`${prefix}-name`} label="Name">
          <input id={`${prefix}-name`} value={name} onChange={(e) => setName(e.target.value)} required />
        </Field>
        <Field id={`${prefix}-url`} label="URL">
          <input id={`${prefix}-url`} type="url" value={url} onChange={(e) => setUrl(e.target.value)} required />
        </Field>
        <Field id={`${prefix}-token`} label="Token" help={registry ? "Write-only. Leave empty to keep the current token." : "Optional; write-only once saved."}>
          <input id={`${prefix}-token`} type="password" autoComplete="new-password" value={token} disabled={removeToken} onChange={(e) => setToken(e.target.value)} aria-describedby={`${prefix}-token-help`} />
        </Field>
        {registry?.token ? (
          <div className="field field-check">
            <input id={`${prefix}-remove`} type="checkbox" checked={removeToken} onChange={(e) => setRemoveToken(e.target.checked)} />
            <label htmlFor={`${prefix}-remove`}>Remove the token</label>
          </div>
        ) : null}
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={action.busy}>
            {registry ? "Save" : "Add registry"}
          </button>
        </div>
        <ErrorNote error={action.error} />
      </form>
    </Foldable>
  );
}

function ReservoirRow({ registry, ...row }: RowProps<Reservoir>) {
  return (
    <RegistryRow
      {...row}
      name={registry.name}
      columns={registry.accessKey != null ? 6 : 5}
      cells={
        <>
          <td data-label="Name">{registry.name}</td>
          <td data-label="Endpoint" className="path">{registry.endpoint}</td>
          {registry.accessKey != null ? <td data-label="Access key"><code>{registry.accessKey}</code></td> : null}
          <td data-label="Secret key">set</td>
          <td data-label="API version">{registry.apiVersion}</td>
        </>
      }
      form={<ReservoirForm registry={registry} onSaved={row.onSaved} />}
    />
  );
}

function ReservoirForm({ registry, onSaved }: { registry?: Reservoir; onSaved(): void }) {
  const prefix = registry ? `rsv-${registry.id}` : "rsv-new";
  const [values, setValues] = useState({ name: registry?.name ?? "", endpoint: registry?.endpoint ?? "", accessKey: registry?.accessKey ?? "", secretKey: "", apiVersion: registry?.apiVersion ?? "v1" });
  const set = (key: keyof typeof values) => (event: { target: { value: string } }) => setValues((v) => ({ ...v, [key]: event.target.value }));
  const action = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const { secretKey, ...rest } = values;
    const done = await action.run<unknown>(() =>
      registry
        ? gql(UpdateReservoirRegistryDocument, { input: { id: registry.id, ...rest, ...(secretKey ? { secretKey } : {}) } })
        : gql(CreateReservoirRegistryDocument, { input: values }),
    );
    if (done) {
      setValues((v) => (registry ? { ...v, secretKey: "" } : { name: "", endpoint: "", accessKey: "", secretKey: "", apiVersion: "v1" }));
      onSaved();
    }
  };
  return (
    <Foldable title="Add a Reservoir registry" folded={!registry}>
      <form className="form-grid" onSubmit={submit} aria-label={registry ? `Edit ${registry.name}` : "Add a Reservoir registry"}>
        <Field id={`${prefix}-name`} label="Name">
          <input id={`${prefix}-name`} value={values.name} onChange={set("name")} required />
        </Field>
        <Field id={`${prefix}-endpoint`} label="Endpoint">
          <input id={`${prefix}-endpoint`} type="url" value={values.endpoint} onChange={set("endpoint")} required />
        </Field>
        <Field id={`${prefix}-access`} label="Access key">
          <input id={`${prefix}-access`} value={values.accessKey} onChange={set("accessKey")} autoComplete="off" required />
        </Field>
        <Field id={`${prefix}-secret`} label="Secret key" help={registry ? "Write-only. Leave empty to keep the current key." : "Write-only once saved."}>
          <input id={`${prefix}-secret`} type="password" autoComplete="new-password" value={values.secretKey} onChange={set("secretKey")} required={!registry} aria-describedby={`${prefix}-secret-help`} />
        </Field>
        <Field id={`${prefix}-api`} label="API version">
          <input id={`${prefix}-api`} value={values.apiVersion} onChange={set("apiVersion")} required />
        </Field>
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={action.busy}>
            {registry ? "Save" : "Add registry"}
          </button>
        </div>
        <ErrorNote error={action.error} />
      </form>
    </Foldable>
  );
}

function ScanPanel({ huggingface, reservoir }: { huggingface: HuggingFace[]; reservoir: Reservoir[] }) {
  const all = [...huggingface.map((r) => ({ id: r.id, label: `${r.name} (Hugging Face)` })), ...reservoir.map((r) => ({ id: r.id, label: `${r.name} (Reservoir)` }))];
  const [registryId, setRegistryId] = useState(all[0]?.id ?? "");
  const [search, setSearch] = useState("");
  const [limit, setLimit] = useState(10);
  const [found, setFound] = useState<ScanRegistryMutation["scanArtifacts"] | null>(null);
  const action = useAction();
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setFound(null);
    const result = await action.run(() => gql(ScanRegistryDocument, { input: { registryId: registryId || null, search: search.trim() || null, limit } }));
    if (result) setFound(result.scanArtifacts);
  };
  return (
    <section className="card" aria-labelledby="scan-title">
      <h2 id="scan-title">Scan a registry</h2>
      <p className="help">Finds artifacts upstream and records them with their revisions; nothing is downloaded until you import a revision.</p>
      <form className="form-grid" onSubmit={submit}>
        <Field id="scan-registry" label="Registry">
          <select id="scan-registry" value={registryId} onChange={(e) => setRegistryId(e.target.value)}>
            {all.map((r) => (
              <option key={r.id} value={r.id}>
                {r.label}
              </option>
            ))}
          </select>
        </Field>
        <Field id="scan-search" label="Search text">
          <input id="scan-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} maxLength={256} />
        </Field>
        <Field id="scan-limit" label="Limit">
          <input id="scan-limit" type="number" min={1} max={1000} value={limit} onChange={(e) => setLimit(Number(e.target.value))} required />
        </Field>
        <div className="form-actions">
          <button type="submit" className="button button-primary" disabled={action.busy}>
            {action.busy ? "Scanning…" : "Scan"}
          </button>
        </div>
      </form>
      <ErrorNote error={action.error} title="The scan failed" />
      {found ? (
        <div role="status" className="scan-result">
          <p>
            Found {found.artifacts.length} artifact{found.artifacts.length === 1 ? "" : "s"}.
          </p>
          <ul>
            {found.artifacts.map((a) => (
              <li key={a.id}>
                <a href={href(["artifacts", a.id])}>{a.name}</a>
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  );
}

interface Target {
  key: number;
  modelId: string;
  revision: string;
}

function ScanModelsPanel({ huggingface }: { huggingface: HuggingFace[] }) {
  const [registryId, setRegistryId] = useState(huggingface[0]?.id ?? "");
  const [targets, setTargets] = useState<Target[]>([{ key: 0, modelId: "", revision: "" }]);
  const [result, setResult] = useState<{ scanned: NonNullable<ScanModelsMutation["scanArtifactModels"]>["artifactRevision"]["edges"]; errors: GraphQLErrorItem[] } | null>(null);
  const action = useAction();
  const update = (key: number, patch: Partial<Target>) => setTargets((all) => all.map((t) => (t.key === key ? { ...t, ...patch } : t)));
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setResult(null);
    const models = targets.filter((t) => t.modelId.trim()).map((t) => ({ modelId: t.modelId.trim(), ...(t.revision.trim() ? { revision: t.revision.trim() } : {}) }));
    await action.run(async () => {
      try {
        const data = await gql(ScanModelsDocument, { input: { models, registryId: registryId ? uuidOf(registryId) : null } });
        setResult({ scanned: data.scanArtifactModels?.artifactRevision.edges ?? [], errors: [] });
      } catch (error) {
        // Each model is scanned on its own: show what was found next to what failed.
        const partial = error instanceof ApiError ? (error.data as ScanModelsMutation | null)?.scanArtifactModels : null;
        if (!partial) throw error;
        setResult({ scanned: partial.artifactRevision.edges, errors: (error as ApiError).errors });
      }
    });
  };
  return (
    <section className="card" aria-labelledby="scan-models-title">
      <h2 id="scan-models-title">Scan named models</h2>
      <p className="help">Records exactly these Hugging Face models at these revisions (a branch, a tag or a commit; empty means main).</p>
      <form onSubmit={submit}>
        <div className="form-grid">
          <Field id="models-registry" label="Registry">
            <select id="models-registry" value={registryId} onChange={(e) => setRegistryId(e.target.value)}>
              {huggingface.map((r) => (
                <option key={r.id} value={r.id}>
                  {r.name}
                </option>
              ))}
            </select>
          </Field>
        </div>
        {targets.map((target, index) => (
          <fieldset key={target.key} className="target">
            <legend className="visually-hidden">Model {index + 1}</legend>
            <Field id={`model-${target.key}`} label={`Model ${index + 1}`}>
              <input id={`model-${target.key}`} value={target.modelId} placeholder="org/name" onChange={(e) => update(target.key, { modelId: e.target.value })} required={index === 0} />
            </Field>
            <Field id={`revision-${target.key}`} label="Revision">
              <input id={`revision-${target.key}`} value={target.revision} placeholder="main" onChange={(e) => update(target.key, { revision: e.target.value })} />
            </Field>
            {targets.length > 1 ? (
              <button type="button" className="button button-quiet" onClick={() => setTargets((all) => all.filter((t) => t.key !== target.key))}>
                Remove <span className="visually-hidden">model {index + 1}</span>
              </button>
            ) : null}
          </fieldset>
        ))}
        <div className="form-actions">
          <button type="button" className="button" onClick={() => setTargets((all) => [...all, { key: Math.max(...all.map((t) => t.key)) + 1, modelId: "", revision: "" }])}>
            Add another model
          </button>
          <button type="submit" className="button button-primary" disabled={action.busy}>
            {action.busy ? "Scanning…" : "Scan models"}
          </button>
        </div>
      </form>
      <ErrorNote error={action.error} title="The scan failed" />
      {result ? (
        <div role="status" className="scan-result">
          <p>
            Scanned {result.scanned.length} revision{result.scanned.length === 1 ? "" : "s"}
            {result.errors.length ? `; ${result.errors.length} failed` : ""}.
          </p>
          <ul>
            {result.scanned.map(({ node }) => (
              <li key={node.id}>
                {node.artifact ? <a href={href(["artifacts", node.artifact.id], { rev: node.id })}>{node.artifact.name}</a> : "?"} at {node.version}
              </li>
            ))}
            {result.errors.map((e, i) => (
              <li key={`e${i}`} className="error-text">
                {String(e.extensions?.modelId ?? "")}
                {e.extensions?.revision ? `@${String(e.extensions.revision)}` : ""}: {e.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
    </section>
  );
}

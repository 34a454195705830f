import { createHmac, randomBytes } from "node:crypto";
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { gzipSync } from "node:zlib";
import type { FakeBlob } from "./content";
import { fileInfo, StoredRepo, type FakeCommit, type FakeFile, type FakeModel, type FakeModelMeta, type FakeTarget, type FileInfo, type StoredCommit } from "./repos";

export type { FakeContent } from "./content";
export type { FakeCommit, FakeFile, FakeModel, FakeModelMeta, FakeTarget, FileInfo } from "./repos";

/**
 * A fake Hugging Face Hub on loopback that speaks the hub's HTTP API: model list, model and
 * revision info, refs, trees (paged by `Link`), `resolve` with LFS files redirected to a second
 * "CDN" origin, ranges, gated and private repos, X-Error-Code errors; plus fault injection and
 * a request log. Models are data (see FakeModel); tests can move branches and tags afterwards.
 */

export interface FakeHubOptions {
  /** Page size of the model list (the `limit` parameter makes pages smaller, never larger). */
  pageSize?: number;
  /** Page size of tree listings. */
  treePageSize?: number;
  /** Bearer tokens that may see private repos and download from gated ones. Any other token is a valid user without access. */
  acceptedTokens?: string[];
  /**
   * The real hub serves a gated repo's metadata, tree and README to anyone and gates the other
   * files. `strictGating` gates the tree and README too.
   */
  strictGating?: boolean;
  /** Origin for `Link: rel="next"` URLs (default: the hub's own), to test cross-origin paging. */
  linkBase?: string;
  /** Origin the LFS redirects point at (default: the CDN's own), to put something (a link-limiting proxy) in front of it. */
  cdnBase?: string;
  /** The loopback address both origins listen on (default 127.0.0.1; any of 127.0.0.0/8 works). */
  host?: string;
  /** Gzip JSON answers for a client whose Accept-Encoding takes gzip, as the real hub does. */
  gzipJson?: boolean;
}

export interface FakeRequest {
  origin: "hub" | "cdn";
  method: string;
  /** Path and query as sent (still percent-encoded). */
  url: string;
  headers: IncomingHttpHeaders;
  /** Set once the response is done (or the connection dropped). */
  status?: number;
  /** Whether an injected fault answered or shaped this request. */
  faulted?: boolean;
}

export interface FakeFault {
  /** A predicate, or a prefix of the request's path+query (percent-encoded as sent). */
  match: ((request: FakeRequest) => boolean) | string;
  origin?: "hub" | "cdn";
  /** How many requests it affects (default 1; Infinity for a storm). */
  times?: number;
  /** Answer with this status instead of the real response (body `{"error": …}`, X-Error-Message). */
  status?: number;
  headers?: Record<string, string>;
  /** Wait before the response headers (a slow server). */
  delayMs?: number;
  /** Destroy the socket without any response. */
  reset?: boolean;
  /** Send this many body bytes, then destroy the socket. */
  dropAfterBytes?: number;
  /** Send this many body bytes, then pause `stallMs` mid-body. */
  stallAfterBytes?: number;
  stallMs?: number;
  /** Flip the body byte at this offset (`true`: the first one). */
  corrupt?: boolean | number;
  /** Answer 302 with this Location instead (a hub pointing somewhere it should not). */
  redirect?: string;
  /** Send the body `bytes` at a time, `everyMs` apart: a server that never stalls long enough to time out, and never finishes. */
  drip?: { bytes: number; everyMs: number };
  /**
   * Send only this many body bytes, with a Content-Length that agrees and a Content-Range that
   * does not: a clean response that is too short (a server lying about what it sends).
   */
  shortBody?: number;
}

export interface InjectedFault {
  /** Requests it has affected so far. */
  readonly hits: number;
  readonly remaining: number;
}

/** Where hold() stops a transfer, and which transfers; any FakeFault's shaping but the timed ones. */
export interface HoldOptions extends Omit<FakeFault, "delayMs" | "stallAfterBytes" | "stallMs" | "reset" | "drip"> {
  /** Hold after sending this many body bytes; without it, before the response headers. */
  afterBytes?: number;
}

/**
 * A transfer held until the test lets it go: the test waits for `reached` instead of hoping a
 * timed stall is still on when it looks, and the hold lasts exactly as long as the test needs.
 */
export interface HeldTransfer extends InjectedFault {
  /** Resolves with the first request once it is held (its `afterBytes` flushed). */
  readonly reached: Promise<FakeRequest>;
  /** Whether a request is waiting at the gate now. */
  readonly holding: boolean;
  /** Lets every held request continue, and any later match pass without stopping. */
  release(): void;
}

export interface FakeHub {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** The CDN origin LFS downloads redirect to. */
  readonly cdnUrl: string;
  /** Every request to either origin, in arrival order. */
  readonly requests: FakeRequest[];
  clearRequests(): void;
  inject(fault: FakeFault): InjectedFault;
  /** Holds the next matching transfer (`times` of them) until release(); a closed connection ends the hold too. */
  hold(options: HoldOptions): HeldTransfer;
  clearFaults(): void;
  setOptions(options: Partial<FakeHubOptions>): void;

  addModel(model: FakeModel): void;
  removeModel(id: string): void;
  updateModel(id: string, patch: Partial<FakeModelMeta>): void;
  /** Adds a commit reachable by sha only; returns its sha. */
  addCommit(repo: string, commit: FakeCommit): string;
  /** Points (or creates) a branch at a commit; returns the commit sha. */
  moveBranch(repo: string, branch: string, target: FakeTarget): string;
  /** A new commit with exactly these files on `branch` (created if missing); returns its sha. */
  setFiles(repo: string, branch: string, files: FakeFile[]): string;
  setTag(repo: string, tag: string, target: FakeTarget): string;
  deleteRef(repo: string, kind: "branch" | "tag", name: string): void;
  /** The commit sha a revision resolves to, or null. */
  resolveRevision(repo: string, revision: string): string | null;
  /** Size, oids and SHA-256 of a file at a revision, for assertions. */
  fileInfo(repo: string, revision: string, path: string): Promise<FileInfo>;

  stop(): Promise<void>;
}

interface ActiveFault extends FakeFault {
  hits: number;
  remaining: number;
  gate?: Gate;
}

/** The waiting side of a HeldTransfer. */
class Gate {
  private opened = false;
  private readonly waiters = new Set<() => void>();
  private reach!: (request: FakeRequest) => void;
  readonly reached = new Promise<FakeRequest>((resolve) => (this.reach = resolve));

  get holding(): boolean {
    return this.waiters.size > 0;
  }

  /** Resolves when the gate opens or the response closes, whichever comes first. */
  wait(request: FakeRequest, res: ServerResponse): Promise<void> {
    if (this.opened) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        this.waiters.delete(done);
        res.off("close", done);
        resolve();
      };
      this.waiters.add(done);
      res.on("close", done);
      this.reach(request);
    });
  }

  open(): void {
    this.opened = true;
    for (const done of [...this.waiters]) done();
  }
}

const LIST_DEFAULT_FIELDS = ["likes", "trendingScore", "private", "downloads", "tags", "pipeline_tag", "library_name", "createdAt"];
const EXPANDABLE = new Set([
  "author",
  "baseModels",
  "cardData",
  "childrenModelCount",
  "config",
  "createdAt",
  "disabled",
  "downloads",
  "downloadsAllTime",
  "gated",
  "gguf",
  "inference",
  "inferenceProviderMapping",
  "lastModified",
  "library_name",
  "likes",
  "mask_token",
  "model-index",
  "pipeline_tag",
  "private",
  "resourceGroup",
  "safetensors",
  "sha",
  "siblings",
  "spaces",
  "tags",
  "transformersInfo",
  "trendingScore",
  "usedStorage",
  "widgetData",
  "xetEnabled",
]);
// The real hub keeps model cards readable on gated repos so people can read the terms first.
const UNGATED_FILES = new Set(["README.md", ".gitattributes"]);

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakeHub(models: FakeModel[] = [], options: FakeHubOptions = {}): Promise<FakeHub> {
  const hub = new FakeHubServer(options);
  for (const model of models) hub.addModel(model);
  await hub.listen();
  return hub;
}

class FakeHubServer implements FakeHub {
  readonly requests: FakeRequest[] = [];
  private readonly repos = new Map<string, StoredRepo>();
  private readonly aliases = new Map<string, string>();
  private readonly faults: ActiveFault[] = [];
  private readonly cdnObjects = new Map<string, FakeBlob>();
  private readonly cdnSecret = randomBytes(16);
  private readonly hubServer: Server;
  private readonly cdnServer: Server;
  private options: Required<Omit<FakeHubOptions, "linkBase" | "host" | "cdnBase">> & { linkBase?: string; host?: string; cdnBase?: string };
  private tick = 0;
  private readonly clock = { next: () => ++this.tick };
  url = "";
  cdnUrl = "";

  constructor(options: FakeHubOptions) {
    this.options = { pageSize: 2, treePageSize: 3, acceptedTokens: [], strictGating: false, gzipJson: false, ...options };
    this.hubServer = createServer((req, res) => void this.handle("hub", req, res));
    this.cdnServer = createServer((req, res) => void this.handle("cdn", req, res));
  }

  async listen(): Promise<void> {
    const listen = (server: Server) =>
      new Promise<string>((resolve, reject) => {
        server.once("error", reject);
        const host = this.options.host ?? "127.0.0.1";
        server.listen(0, host, () => resolve(`http://${host}:${(server.address() as AddressInfo).port}`));
      });
    this.url = await listen(this.hubServer);
    this.cdnUrl = await listen(this.cdnServer);
  }

  async stop(): Promise<void> {
    const close = (server: Server) =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      });
    await Promise.all([close(this.hubServer), close(this.cdnServer)]);
  }

  // --- Test controls ---------------------------------------------------------------------------

  clearRequests(): void {
    this.requests.length = 0;
  }

  inject(fault: FakeFault): InjectedFault {
    const active: ActiveFault = { ...fault, hits: 0, remaining: fault.times ?? 1 };
    this.faults.push(active);
    return active;
  }

  hold({ afterBytes, ...fault }: HoldOptions): HeldTransfer {
    const gate = new Gate();
    const active: ActiveFault = { ...fault, stallAfterBytes: afterBytes, hits: 0, remaining: fault.times ?? 1, gate };
    this.faults.push(active);
    return {
      get hits() {
        return active.hits;
      },
      get remaining() {
        return active.remaining;
      },
      reached: gate.reached,
      get holding() {
        return gate.holding;
      },
      release: () => gate.open(),
    };
  }

  clearFaults(): void {
    // A cleared hold lets its requests go: nothing stays stopped by a fault the test no longer has.
    for (const fault of this.faults.splice(0)) fault.gate?.open();
  }

  setOptions(options: Partial<FakeHubOptions>): void {
    this.options = { ...this.options, ...options };
  }

  addModel(model: FakeModel): void {
    if (this.repos.has(model.id)) throw new Error(`fake hub: ${model.id} exists`);
    const repo = new StoredRepo(model.id, this.clock, model);
    this.repos.set(model.id, repo);
    for (const alias of repo.aliases) this.aliases.set(alias, model.id);
  }

  removeModel(id: string): void {
    this.repos.delete(id);
    for (const [alias, target] of this.aliases) if (target === id) this.aliases.delete(alias);
  }

  updateModel(id: string, patch: Partial<FakeModelMeta>): void {
    const repo = this.repo(id);
    repo.meta = { ...repo.meta, ...patch };
  }

  addCommit(id: string, commit: FakeCommit): string {
    return this.repo(id).addCommit(commit);
  }

  moveBranch(id: string, branch: string, target: FakeTarget): string {
    const repo = this.repo(id);
    const sha = repo.target(target);
    repo.branches.set(branch, sha);
    return sha;
  }

  setFiles(id: string, branch: string, files: FakeFile[]): string {
    return this.moveBranch(id, branch, { files });
  }

  setTag(id: string, tag: string, target: FakeTarget): string {
    const repo = this.repo(id);
    const sha = repo.target(target);
    repo.tags.set(tag, sha);
    return sha;
  }

  deleteRef(id: string, kind: "branch" | "tag", name: string): void {
    const repo = this.repo(id);
    (kind === "branch" ? repo.branches : repo.tags).delete(name);
  }

  resolveRevision(id: string, revision: string): string | null {
    return this.repo(id).resolve(revision)?.sha ?? null;
  }

  async fileInfo(id: string, revision: string, path: string): Promise<FileInfo> {
    const file = this.repo(id).resolve(revision)?.files.get(path);
    if (!file) throw new Error(`fake hub: ${id}@${revision} has no ${path}`);
    return fileInfo(file);
  }

  private repo(id: string): StoredRepo {
    const repo = this.repos.get(id);
    if (!repo) throw new Error(`fake hub: no model ${id}`);
    return repo;
  }

  // --- Request handling ----------------------------------------------------------------------

  private async handle(origin: "hub" | "cdn", req: IncomingMessage, res: ServerResponse): Promise<void> {
    const record: FakeRequest = { origin, method: req.method ?? "GET", url: req.url ?? "/", headers: { ...req.headers } };
    this.requests.push(record);
    requests.set(res, record);
    res.on("close", () => {
      record.status ??= res.headersSent ? res.statusCode : undefined;
    });
    res.on("finish", () => {
      record.status = res.statusCode;
    });

    const fault = this.takeFault(record);
    try {
      if (fault) {
        record.faulted = true;
        if (fault.reset) {
          req.socket.destroy();
          return;
        }
        if (fault.delayMs) await waitOrClose(res, fault.delayMs);
        if (fault.gate && fault.stallAfterBytes == null) await fault.gate.wait(record, res);
        if (res.destroyed) return;
        if (fault.redirect) {
          redirect(res, req, fault.redirect, 302);
          return;
        }
        if (fault.status) {
          const message = fault.status === 429 ? "Too Many Requests" : `Injected ${fault.status}`;
          sendJson(res, req, { error: message }, fault.status, { "X-Error-Message": message, ...fault.headers }, fault);
          return;
        }
      }
      if (origin === "cdn") await this.handleCdn(req, res, fault);
      else await this.handleHub(req, res, fault);
    } catch (error) {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof HttpError) sendError(res, req, error.status, error.code, error.message);
      else sendError(res, req, 500, null, `fake hub failure: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private takeFault(request: FakeRequest): ActiveFault | undefined {
    const fault = this.faults.find(
      (f) =>
        f.remaining > 0 &&
        (f.origin == null || f.origin === request.origin) &&
        (typeof f.match === "string" ? request.url.startsWith(f.match) : f.match(request)),
    );
    if (fault) {
      fault.remaining--;
      fault.hits++;
    }
    return fault;
  }

  private async handleHub(req: IncomingMessage, res: ServerResponse, fault?: ActiveFault): Promise<void> {
    const method = req.method ?? "GET";
    if (method !== "GET" && method !== "HEAD") throw new HttpError(405, null, "Method not allowed");
    const url = new URL(req.url ?? "/", this.url);
    const raw = url.pathname.split("/").slice(1);
    let segments: string[];
    try {
      segments = raw.map((segment) => decodeURIComponent(segment));
    } catch {
      throw new HttpError(400, null, "Invalid URL encoding");
    }
    const token = bearer(req.headers.authorization);

    if (segments[0] === "api" && segments[1] === "models") {
      if (segments.length === 2 || (segments.length === 3 && segments[2] === "")) return this.list(req, res, url, token, fault);
      const found = this.findRepo(segments.slice(2), raw, 2, url);
      if (found.redirect) return redirect(res, req, found.redirect);
      const [action, revision, ...path] = found.rest;
      const repo = this.visibleRepo(found.id, found.repo, token);
      if (action === undefined) return this.info(req, res, repo, repo.defaultBranch, true, fault);
      if (action === "revision" && revision !== undefined && path.length === 0) return this.info(req, res, repo, revision, false, fault);
      if (action === "refs" && revision === undefined) return this.refs(req, res, repo, url, fault);
      if (action === "tree" && revision !== undefined) return this.tree(req, res, repo, revision, path.join("/"), url, token, fault);
      throw new HttpError(404, null, "Not Found");
    }

    const found = this.findRepo(segments, raw, 0, url);
    if (found.rest[0] === "resolve" && found.rest.length >= 3) {
      if (found.redirect) return redirect(res, req, found.redirect);
      const repo = this.visibleRepo(found.id, found.repo, token);
      return this.resolve(req, res, repo, found.rest[1], found.rest.slice(2).join("/"), token, fault);
    }
    throw new HttpError(404, null, "Not Found");
  }

  /**
   * Splits `[org, name, ...rest]` (or `[name, ...rest]`) into a repo id and the rest, preferring
   * ids that exist, and answers old ids of renamed repos with the new location.
   */
  private findRepo(
    segments: string[],
    raw: string[],
    offset: number,
    url: URL,
  ): { id: string; repo: StoredRepo | undefined; rest: string[]; redirect?: string } {
    for (const length of [2, 1]) {
      if (segments.length < length) continue;
      const id = segments.slice(0, length).join("/");
      const target = this.repos.has(id) ? id : this.aliases.get(id);
      if (!target) continue;
      const rest = segments.slice(length);
      if (target === id) return { id, repo: this.repos.get(id), rest };
      const path = ["", ...raw.slice(0, offset), ...target.split("/").map(encodeURIComponent), ...raw.slice(offset + length)].join("/");
      return { id, repo: this.repos.get(target), rest, redirect: `${path}${url.search}` };
    }
    const length = segments.length >= 2 ? 2 : 1;
    return { id: segments.slice(0, length).join("/"), repo: undefined, rest: segments.slice(length) };
  }

  private accepted(token: string | null): boolean {
    return token != null && this.options.acceptedTokens.includes(token);
  }

  /** Unknown and private repos look the same from outside: 401 without a token, 404 with one. */
  private visibleRepo(id: string, repo: StoredRepo | undefined, token: string | null): StoredRepo {
    if (repo && (!repo.meta.private || this.accepted(token))) return repo;
    const message = `Repository Not Found for url: ${id}. Please make sure you specified the correct repo id and that you are authenticated.`;
    throw new HttpError(token ? 404 : 401, "RepoNotFound", message);
  }

  private checkGate(repo: StoredRepo, token: string | null): void {
    if (!repo.meta.gated || this.accepted(token)) return;
    if (!token) throw new HttpError(401, "GatedRepo", `Access to model ${repo.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`);
    throw new HttpError(403, "GatedRepo", `Access to model ${repo.id} is restricted and you are not in the authorized list. Visit ${this.url}/${repo.id} to ask for access.`);
  }

  private commitAt(repo: StoredRepo, revision: string): StoredCommit {
    const commit = repo.resolve(revision);
    if (!commit) throw new HttpError(404, "RevisionNotFound", `Invalid rev id: ${revision}`);
    return commit;
  }

  private list(req: IncomingMessage, res: ServerResponse, url: URL, token: string | null, fault?: ActiveFault): void {
    const query = url.searchParams;
    const expand = [...query.getAll("expand"), ...query.getAll("expand[]")];
    const invalid = expand.filter((field) => !EXPANDABLE.has(field));
    if (invalid.length > 0) throw new HttpError(400, null, `"expand" must be one of [${[...EXPANDABLE].join(", ")}]`);
    const search = query.get("search")?.toLowerCase();
    const author = query.get("author")?.toLowerCase();
    const filters = query.getAll("filter").flatMap((value) => value.split(",")).filter(Boolean);
    const sort = query.get("sort") ?? "downloads";
    const direction = query.get("direction") === "1" ? 1 : -1;
    const limitParam = query.get("limit");
    const limit = limitParam == null ? Number.POSITIVE_INFINITY : Number(limitParam);
    if (!Number.isInteger(limit) && limit !== Number.POSITIVE_INFINITY) throw new HttpError(400, null, `Invalid limit: ${limitParam}`);
    if (limit < 1 || limit > 1000) throw new HttpError(400, null, `"limit" must be between 1 and 1000`);

    const models = [...this.repos.values()]
      .filter((repo) => !repo.meta.private || this.accepted(token))
      .filter((repo) => !search || repo.id.toLowerCase().includes(search))
      .filter((repo) => !author || repo.owner.toLowerCase() === author)
      .filter((repo) => {
        const tags = new Set([...(repo.meta.tags ?? []), repo.meta.pipeline_tag, repo.meta.library_name]);
        return filters.every((tag) => tags.has(tag));
      })
      .sort((a, b) => direction * compareBy(sort, a, b) || a.id.localeCompare(b.id));

    const offset = readCursor(query.get("cursor"));
    const size = Math.min(limit, this.options.pageSize);
    const page = models.slice(offset, offset + size);
    const headers: Record<string, string> = {};
    if (offset + size < models.length) headers.Link = `<${this.nextUrl(url, offset + size)}>; rel="next"`;

    const full = query.get("full") === "true" || query.get("full") === "1";
    const fields = expand.length > 0 ? expand : [...LIST_DEFAULT_FIELDS, ...(full ? ["author", "sha", "lastModified", "gated", "disabled", "siblings"] : [])];
    if (query.get("cardData") === "true" && !fields.includes("cardData")) fields.push("cardData");
    sendJson(
      res,
      req,
      page.map((repo) => this.modelJson(repo, repo.headCommit(), fields, expand.length === 0)),
      200,
      headers,
      fault,
      this.options.gzipJson,
    );
  }

  private nextUrl(current: URL, offset: number): string {
    const next = new URL(current.pathname + current.search, this.options.linkBase ?? this.url);
    next.searchParams.set("cursor", Buffer.from(JSON.stringify({ offset })).toString("base64url"));
    return next.toString();
  }

  private modelJson(repo: StoredRepo, commit: StoredCommit | null, fields: string[], withModelId: boolean): Record<string, unknown> {
    const meta = repo.meta;
    const values: Record<string, unknown> = {
      author: repo.owner,
      sha: commit?.sha,
      lastModified: repo.lastModified(commit),
      createdAt: meta.createdAt ?? "2024-01-01T00:00:00.000Z",
      private: meta.private ?? false,
      disabled: false,
      gated: meta.gated ?? false,
      downloads: meta.downloads ?? 0,
      likes: meta.likes ?? 0,
      trendingScore: 0,
      tags: meta.tags ?? [],
      pipeline_tag: meta.pipeline_tag,
      library_name: meta.library_name,
      cardData: meta.cardData,
      siblings: commit ? [...commit.files.keys()].map((rfilename) => ({ rfilename })) : [],
      spaces: [],
      usedStorage: commit ? [...commit.files.values()].reduce((sum, file) => sum + file.blob.size, 0) : 0,
    };
    const json: Record<string, unknown> = { _id: fakeObjectId(repo.id), id: repo.id };
    for (const field of fields) if (values[field] !== undefined) json[field] = values[field];
    if (withModelId) json.modelId = repo.id;
    return json;
  }

  private info(req: IncomingMessage, res: ServerResponse, repo: StoredRepo, revision: string, head: boolean, fault?: ActiveFault): void {
    const commit = head ? repo.headCommit() : this.commitAt(repo, revision);
    const fields = ["author", "sha", "lastModified", "private", "disabled", "gated", "downloads", "likes", "library_name", "tags", "pipeline_tag", "createdAt", "cardData", "siblings", "spaces", "usedStorage"];
    sendJson(res, req, this.modelJson(repo, commit, fields, true), 200, {}, fault);
  }

  private refs(req: IncomingMessage, res: ServerResponse, repo: StoredRepo, url: URL, fault?: ActiveFault): void {
    const body: Record<string, unknown> = {
      branches: [...repo.branches].map(([name, sha]) => ({ name, ref: `refs/heads/${name}`, targetCommit: sha })),
      converts: [],
      tags: [...repo.tags].map(([name, sha]) => ({ name, ref: `refs/tags/${name}`, targetCommit: sha })),
    };
    const includePrs = url.searchParams.get("include_prs");
    if (includePrs === "1" || includePrs === "true") {
      body.pullRequests = [...repo.pullRequests].map(([n, sha]) => ({ name: `refs/pr/${n}`, ref: `refs/pr/${n}`, targetCommit: sha }));
    }
    sendJson(res, req, body, 200, {}, fault);
  }

  private async tree(
    req: IncomingMessage,
    res: ServerResponse,
    repo: StoredRepo,
    revision: string,
    path: string,
    url: URL,
    token: string | null,
    fault?: ActiveFault,
  ): Promise<void> {
    const commit = this.commitAt(repo, revision);
    if (this.options.strictGating) this.checkGate(repo, token);
    const all = await repo.tree(commit);
    const recursive = ["true", "1"].includes(url.searchParams.get("recursive") ?? "");
    const expand = ["true", "1"].includes(url.searchParams.get("expand") ?? "");
    let entries = all;
    if (path !== "") {
      if (!all.some((entry) => entry.type === "directory" && entry.path === path)) throw new HttpError(404, "EntryNotFound", `${path} does not exist on "${revision}"`);
      entries = all.filter((entry) => entry.path.startsWith(`${path}/`));
    }
    if (!recursive) {
      const depth = path === "" ? 0 : path.split("/").length;
      entries = entries.filter((entry) => entry.path.split("/").length === depth + 1 || (path === "" && !isListedPath(entry.path)));
    }
    const offset = readCursor(url.searchParams.get("cursor"));
    const size = this.options.treePageSize;
    const headers: Record<string, string> = {};
    if (offset + size < entries.length) headers.Link = `<${this.nextUrl(url, offset + size)}>; rel="next"`;
    const page = entries.slice(offset, offset + size).map((entry) =>
      expand && entry.type === "file" ? { ...entry, lastCommit: { id: commit.sha, title: commit.title, date: commit.date } } : entry,
    );
    sendJson(res, req, page, 200, headers, fault, this.options.gzipJson);
  }

  private async resolve(
    req: IncomingMessage,
    res: ServerResponse,
    repo: StoredRepo,
    revision: string,
    path: string,
    token: string | null,
    fault?: ActiveFault,
  ): Promise<void> {
    const commit = this.commitAt(repo, revision);
    const file = commit.files.get(path);
    if (!file) throw new HttpError(404, "EntryNotFound", `${path} does not exist on "${revision}"`);
    if (this.options.strictGating || !UNGATED_FILES.has(path)) this.checkGate(repo, token);
    const info = await fileInfo(file);
    if (info.lfs) {
      this.cdnObjects.set(info.sha256, file.blob);
      const expires = Math.floor(Date.now() / 1000) + 3600;
      const location = `${this.options.cdnBase ?? this.cdnUrl}/repos/${info.sha256.slice(0, 2)}/${info.sha256.slice(2, 4)}/${info.sha256}?Expires=${expires}&Signature=${this.sign(info.sha256, expires)}`;
      res.writeHead(302, {
        Location: location,
        "X-Repo-Commit": commit.sha,
        ETag: `"${info.oid}"`,
        "X-Linked-Etag": `"${info.sha256}"`,
        "X-Linked-Size": String(info.size),
        "Content-Type": "text/plain; charset=utf-8",
      });
      res.end(req.method === "HEAD" ? undefined : `Found. Redirecting to ${location}`);
      return;
    }
    await sendBlob(req, res, file.blob, { "X-Repo-Commit": commit.sha, ETag: `"${info.oid}"`, "Content-Type": contentType(path) }, fault);
  }

  private sign(sha256: string, expires: number): string {
    return createHmac("sha256", this.cdnSecret).update(`${sha256}:${expires}`).digest("hex");
  }

  private async handleCdn(req: IncomingMessage, res: ServerResponse, fault?: ActiveFault): Promise<void> {
    const url = new URL(req.url ?? "/", this.cdnUrl);
    const match = /^\/repos\/[0-9a-f]{2}\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(url.pathname);
    const blob = match ? this.cdnObjects.get(match[1]) : undefined;
    if (!match || !blob || (req.method !== "GET" && req.method !== "HEAD")) return sendXmlError(res, 404, "NoSuchKey", "The specified key does not exist.");
    // Like S3 behind a presigned URL: a second credential in the Authorization header is refused.
    if (req.headers.authorization) {
      return sendXmlError(res, 400, "InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified");
    }
    const expires = Number(url.searchParams.get("Expires"));
    const signature = url.searchParams.get("Signature") ?? "";
    if (!Number.isInteger(expires) || expires < Date.now() / 1000 || signature !== this.sign(match[1], expires)) {
      return sendXmlError(res, 403, "AccessDenied", "Request has expired or the signature does not match");
    }
    await sendBlob(req, res, blob, { ETag: `"${match[1]}"`, "Content-Type": "application/octet-stream" }, fault);
  }
}

// --- Responses ---------------------------------------------------------------------------------

/** The record of each response's request, for a gate deep in the body writer to report. */
const requests = new WeakMap<ServerResponse, FakeRequest>();
const requestOf = (res: ServerResponse) => requests.get(res)!;

function bearer(header: string | undefined): string | null {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? "");
  return match ? match[1] : null;
}

/** The hub's (Mongo) object ids: 24 hex digits. */
function fakeObjectId(id: string): string {
  return createHmac("sha1", "fake-hub").update(id).digest("hex").slice(0, 24);
}

function isListedPath(path: string): boolean {
  return path.split("/").every((segment) => segment !== "" && segment !== "." && segment !== ".." && !segment.includes("\0"));
}

function readCursor(cursor: string | null): number {
  if (!cursor) return 0;
  try {
    const { offset } = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { offset: unknown };
    if (typeof offset === "number" && Number.isInteger(offset) && offset >= 0) return offset;
  } catch {
    // fall through
  }
  throw new HttpError(400, null, "Invalid cursor");
}

function compareBy(sort: string, a: StoredRepo, b: StoredRepo): number {
  switch (sort) {
    case "likes":
      return (a.meta.likes ?? 0) - (b.meta.likes ?? 0);
    case "createdAt":
      return (a.meta.createdAt ?? "").localeCompare(b.meta.createdAt ?? "");
    case "lastModified":
      return (a.lastModified(a.headCommit()) ?? "").localeCompare(b.lastModified(b.headCommit()) ?? "");
    case "id":
      return a.id.localeCompare(b.id);
    default:
      return (a.meta.downloads ?? 0) - (b.meta.downloads ?? 0);
  }
}

function contentType(path: string): string {
  return /\.(md|txt|json|ya?ml|py|gitattributes)$/i.test(path) ? "text/plain; charset=utf-8" : "application/octet-stream";
}

function redirect(res: ServerResponse, req: IncomingMessage, location: string, status = 307): void {
  res.writeHead(status, { Location: location, "Content-Type": "text/plain; charset=utf-8" });
  res.end(req.method === "HEAD" ? undefined : `Temporary Redirect. Redirecting to ${location}`);
}

function sendError(res: ServerResponse, req: IncomingMessage, status: number, code: string | null, message: string): void {
  // Messages quote revisions and paths, which may hold characters a header cannot carry.
  const headers: Record<string, string> = { "X-Error-Message": message.replace(/[^\x20-\x7e]/g, "?") };
  if (code) headers["X-Error-Code"] = code;
  sendJson(res, req, { error: message }, status, headers);
}

function sendXmlError(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  res.writeHead(status, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

function sendJson(res: ServerResponse, req: IncomingMessage, body: unknown, status: number, headers: Record<string, string>, fault?: ActiveFault, gzip = false): void {
  let bytes = Buffer.from(JSON.stringify(body), "utf8");
  if (gzip && /\bgzip\b/.test(req.headers["accept-encoding"] ?? "")) {
    bytes = gzipSync(bytes);
    headers = { ...headers, "Content-Encoding": "gzip" };
  }
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": declaredLength(bytes.length, fault), ...headers });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  void writeBody(res, [bytes], fault);
}

/** A blob with Range support (`bytes=a-b`, `bytes=a-`, `bytes=-n`); other range forms get the whole body. */
async function sendBlob(req: IncomingMessage, res: ServerResponse, blob: FakeBlob, headers: Record<string, string>, fault?: ActiveFault): Promise<void> {
  const size = blob.size;
  const range = parseRange(req.headers.range, size);
  const common = { ...headers, "Accept-Ranges": "bytes" };
  if (range === "unsatisfiable") {
    res.writeHead(416, { ...common, "Content-Range": `bytes */${size}`, "Content-Length": 0 });
    res.end();
    return;
  }
  const [start, end] = range ?? [0, size];
  if (range) res.writeHead(206, { ...common, "Content-Range": `bytes ${start}-${end - 1}/${size}`, "Content-Length": declaredLength(end - start, fault) });
  else res.writeHead(200, { ...common, "Content-Length": declaredLength(size, fault) });
  if (req.method === "HEAD") {
    res.end();
    return;
  }
  await writeBody(res, blob.chunks(start, end), fault);
}

/** The Content-Length a response declares: its true length, or what a shortBody fault sends. */
function declaredLength(length: number, fault?: ActiveFault): number {
  return fault?.shortBody != null ? Math.min(fault.shortBody, length) : length;
}

function parseRange(header: string | undefined, size: number): [number, number] | "unsatisfiable" | null {
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header ?? "");
  if (!match || (match[1] === "" && match[2] === "")) return null;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0) return "unsatisfiable";
    return [Math.max(0, size - suffix), size];
  }
  const start = Number(match[1]);
  if (start >= size) return "unsatisfiable";
  const end = match[2] === "" ? size - 1 : Number(match[2]);
  if (end < start) return null;
  return [start, Math.min(end, size - 1) + 1];
}

function waitOrClose(res: ServerResponse, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      res.off("close", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    res.on("close", done);
  });
}

function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

function flush(res: ServerResponse, chunk: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (chunk.length === 0) {
      res.flushHeaders();
      resolve();
    } else {
      res.write(chunk, () => resolve());
    }
  });
}

/** The chunks in pieces of at most `size` bytes. */
function* pieces(chunks: Iterable<Buffer>, size: number): Generator<Buffer> {
  for (const chunk of chunks) for (let at = 0; at < chunk.length; at += size) yield chunk.subarray(at, at + size);
}

/** Streams chunks with back-pressure, applying the body faults: corrupt a byte, stall, drip, cut short, drop the connection. */
async function writeBody(res: ServerResponse, chunks: Iterable<Buffer>, fault?: ActiveFault): Promise<void> {
  const corruptAt = fault?.corrupt === true ? 0 : typeof fault?.corrupt === "number" ? fault.corrupt : -1;
  let stalled = false;
  let sent = 0;
  const drip = fault?.drip;
  for (let chunk of drip ? pieces(chunks, Math.max(1, drip.bytes)) : chunks) {
    if (res.destroyed) return;
    if (fault?.shortBody != null && sent + chunk.length >= fault.shortBody) {
      await flush(res, chunk.subarray(0, fault.shortBody - sent));
      res.end();
      return;
    }
    if (corruptAt >= sent && corruptAt < sent + chunk.length) {
      chunk = Buffer.from(chunk);
      chunk[corruptAt - sent] ^= 0xff;
    }
    if (fault?.stallAfterBytes != null && !stalled && sent + chunk.length > fault.stallAfterBytes) {
      const head = chunk.subarray(0, fault.stallAfterBytes - sent);
      await flush(res, head);
      sent += head.length;
      chunk = chunk.subarray(head.length);
      stalled = true;
      if (fault.gate) await fault.gate.wait(requestOf(res), res);
      else await waitOrClose(res, fault.stallMs ?? 60_000);
      if (res.destroyed) return;
    }
    if (fault?.dropAfterBytes != null && sent + chunk.length >= fault.dropAfterBytes) {
      await flush(res, chunk.subarray(0, fault.dropAfterBytes - sent));
      res.socket?.destroy();
      return;
    }
    sent += chunk.length;
    if (drip) {
      await flush(res, chunk);
      await waitOrClose(res, drip.everyMs);
    } else if (!res.write(chunk)) await drainOrClose(res);
  }
  if (fault?.dropAfterBytes != null) {
    res.socket?.destroy();
    return;
  }
  res.end();
}

import { openSecret } from "../../src/common/secrets";
import type { DataSource } from "typeorm";
import { ensureDefaultHuggingFaceRegistry } from "../../src/registry/bootstrap";
import { RegistryService } from "../../src/registry/registry.service";
import { createMigratedDataSource } from "../support/database";

let ds: DataSource;
let close: () => Promise<void>;
beforeEach(async () => {
  ({ ds, close } = await createMigratedDataSource());
});
afterEach(() => close());

const hfRows = () =>
  ds.query(`SELECT r.name, r.type, r.url AS base_url, h.url, h.token FROM artifact_registries r JOIN huggingface_registries h ON h.id = r.id ORDER BY r.name`)
    // The token is sealed in its row: compared in clear.
    .then((rows: any[]): any[] => rows.map((row) => ({ ...row, token: openSecret(row.token, "huggingface_registries.token") })));

describe("the default Hugging Face registry", () => {
  it("is created from the configured endpoint and token when there is none", async () => {
    const id = await ensureDefaultHuggingFaceRegistry(ds, { huggingface: { endpoint: "https://hf.mirror.example.com", token: "hf_configured_token" } });
    expect(id).toEqual(expect.any(String));
    expect(await hfRows()).toEqual([
      { name: "huggingface", type: "HUGGINGFACE", base_url: "https://hf.mirror.example.com", url: "https://hf.mirror.example.com", token: "hf_configured_token" },
    ]);
  });

  it("is created without a token when none is configured", async () => {
    await ensureDefaultHuggingFaceRegistry(ds, { huggingface: { endpoint: "https://huggingface.co" } });
    expect((await hfRows())[0].token).toBeNull();
  });

  it("is created once however often the server starts, and later config changes do not overwrite an administrator's edits", async () => {
    await ensureDefaultHuggingFaceRegistry(ds, { huggingface: { endpoint: "https://huggingface.co" } });
    await Promise.all([
      ensureDefaultHuggingFaceRegistry(ds, { huggingface: { endpoint: "https://huggingface.co" } }),
      ensureDefaultHuggingFaceRegistry(ds, { huggingface: { endpoint: "https://other.example.com", token: "t" } }),
    ]);
    expect(await hfRows()).toEqual([
      { name: "huggingface", type: "HUGGINGFACE", base_url: "https://huggingface.co", url: "https://huggingface.co", token: null },
    ]);
  });

  it("is not brought back while another Hugging Face registry exists", async () => {
    const registries = new RegistryService(ds, { defaultPageSize: 100, maxPageSize: 500 });
    const first = await ensureDefaultHuggingFaceRegistry(ds, { huggingface: { endpoint: "https://huggingface.co" } });
    await registries.createHuggingFace({ name: "company-hub", url: "https://hub.company.example.com" });
    await registries.deleteHuggingFace(first!);
    expect(await ensureDefaultHuggingFaceRegistry(ds, { huggingface: { endpoint: "https://huggingface.co" } })).toBeNull();
    expect((await hfRows()).map((r: { name: string }) => r.name)).toEqual(["company-hub"]);
  });

  it("is not created when a Reservoir registry already holds the name", async () => {
    const registries = new RegistryService(ds, { defaultPageSize: 100, maxPageSize: 500 });
    await registries.createReservoir({ name: "huggingface", endpoint: "https://r.example.com/graphql", accessKey: "AK", secretKey: "sk", apiVersion: "v1" });
    expect(await ensureDefaultHuggingFaceRegistry(ds, { huggingface: { endpoint: "https://huggingface.co" } })).toBeNull();
    expect(await hfRows()).toEqual([]);
  });
});

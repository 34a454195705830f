import {
  DeleteArtifactsMutationDocument, ReservoirPageQueryDocument, RestoreArtifactsMutationDocument,
  ScanArtifactModelsFromHuggingFaceMutationDocument, UpdateHuggingFaceRegistryMutationDocument,
} from "../generated/graphql";
import { startFakeHub, type FakeHub } from "../support/fake-hub";
import { startTestKit, type TestKit } from "../support/testkit";

/*
 * The web UI's registry setting, targeted scan, and delete/restore, unchanged: an operator
 * points the default Hugging Face registry at a mirror, scans a model by name, then deletes and
 * restores it. (Its pages are in webui-pages.test.ts, imports in webui-imports.test.ts, and its
 * subscriptions run through a gateway in test/federation/gateway.test.ts.)
 */

let hub: FakeHub;
let kit: TestKit;

beforeAll(async () => {
  hub = await startFakeHub([{ id: "webui/admin-model", files: [{ path: "README.md", content: "# admin" }] }], { acceptedTokens: ["hf_mirror_token_1234"] });
  kit = await startTestKit();
});
afterAll(async () => {
  await kit?.close();
  await hub?.stop();
});

describe("the web UI's registry and artifact administration", () => {
  it("UpdateHuggingFaceRegistryMutation repoints the default registry and reads its token back masked", async () => {
    const page = await kit.as("superadmin").ok(ReservoirPageQueryDocument, {});
    const registryId = page.huggingfaceRegistries!.edges[0].node.id;
    const data = await kit.as("superadmin").ok(UpdateHuggingFaceRegistryMutationDocument, {
      input: { id: registryId, url: hub.url, token: "hf_mirror_token_1234" },
    });
    expect(data.updateHuggingfaceRegistry!.huggingfaceRegistry).toMatchObject({ id: registryId, url: hub.url });
    expect(data.updateHuggingfaceRegistry!.huggingfaceRegistry.token).not.toContain("mirror_token");
    expect(data.updateHuggingfaceRegistry!.huggingfaceRegistry.token).toMatch(/^\*{4}.{0,4}$/);
  });

  it("ScanArtifactModelsFromHuggingFaceMutation scans a named model through the repointed registry with its token", async () => {
    hub.clearRequests();
    const data = await kit.as("superadmin").ok(ScanArtifactModelsFromHuggingFaceMutationDocument, {
      input: { models: [{ modelId: "webui/admin-model", revision: "main" }] },
    });
    expect(data.scanArtifactModels!.artifactRevision.count).toBe(1);
    expect(data.scanArtifactModels!.artifactRevision.edges[0].node.artifact!.id).toEqual(expect.any(String));
    expect(hub.requests.some((r) => r.headers.authorization === "Bearer hf_mirror_token_1234")).toBe(true);
  });

  it("DeleteArtifactsMutation hides the artifact from users, and RestoreArtifactsMutation brings it back", async () => {
    const scanned = await kit.as("superadmin").ok(ScanArtifactModelsFromHuggingFaceMutationDocument, {
      input: { models: [{ modelId: "webui/admin-model" }] },
    });
    const artifactId = scanned.scanArtifactModels!.artifactRevision.edges[0].node.artifact!.id;
    const visibleToUser = async () => (await kit.as("user").ok(ReservoirPageQueryDocument, { filter: { name: { equals: "webui/admin-model" } } })).artifacts!.count;
    expect(await visibleToUser()).toBe(1);

    const deleted = await kit.as("superadmin").ok(DeleteArtifactsMutationDocument, { input: { artifactIds: [artifactId] } });
    expect(deleted.deleteArtifacts!.artifacts).toEqual([{ id: artifactId, availability: "DELETED" }]);
    expect(await visibleToUser()).toBe(0);

    const restored = await kit.as("superadmin").ok(RestoreArtifactsMutationDocument, { input: { artifactIds: [artifactId] } });
    expect(restored.restoreArtifacts!.artifacts).toEqual([{ id: artifactId, availability: "ALIVE" }]);
    expect(await visibleToUser()).toBe(1);
  });
});

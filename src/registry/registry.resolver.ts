import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import "../common/enums.graphql";
import { ArtifactType, Role } from "../common/enums";
import { PagingArgsType } from "../common/paging.args";
import { parseId } from "../common/relay";
import type { AppContext } from "../schema/context";
import {
  CreateHuggingFaceRegistryInput, CreateReservoirRegistryInput, DeleteHuggingFaceRegistryInput, DeleteReservoirRegistryInput,
  UpdateHuggingFaceRegistryInput, UpdateReservoirRegistryInput,
} from "./registry.inputs";
import { HF_ID_TYPES, RSV_ID_TYPES } from "./registry.service";
import {
  ArtifactRegistry, CreateHuggingFaceRegistryPayload, CreateReservoirRegistryPayload, DeleteHuggingFaceRegistryPayload,
  DeleteReservoirRegistryPayload, HuggingFaceRegistry, HuggingFaceRegistryConnection, ReservoirRegistry, ReservoirRegistryConnection,
  toArtifactRegistry, toHuggingFaceRegistry, toReservoirRegistry, UpdateHuggingFaceRegistryPayload, UpdateReservoirRegistryPayload,
} from "./registry.type";

/**
 * A Hugging Face registry's token (masked) is for admins: the user role reads null, without an
 * error, since the web UI's pages ask for it whoever is signed in.
 */
@Resolver(() => HuggingFaceRegistry)
export class HuggingFaceRegistryFieldsResolver {
  @FieldResolver(() => String, { nullable: true, description: "Write-only: \"****\" plus at most the last 4 characters; null for the user role." })
  token(@Root() registry: HuggingFaceRegistry, @Ctx() ctx: AppContext): string | null {
    return ctx.viewer?.role === Role.SUPERADMIN || ctx.viewer?.role === Role.ADMIN ? registry.token : null;
  }
}

/**
 * Reading registries (names, URLs, types) is open to every role; their secrets and a Reservoir
 * registry's access key only to admins; changing them is superadmin only.
 */
@Resolver()
export class RegistryResolver {
  @Authorized()
  @Query(() => HuggingFaceRegistry, { nullable: true })
  huggingfaceRegistry(@Arg("id", () => ID) id: string, @Ctx() ctx: AppContext): Promise<HuggingFaceRegistry | null> {
    return ctx.loaders.huggingfaceRegistryById.load(parseId(HF_ID_TYPES, id, "id"));
  }

  @Authorized()
  @Query(() => HuggingFaceRegistryConnection, { nullable: true })
  huggingfaceRegistries(@Args(() => PagingArgsType) paging: PagingArgsType, @Ctx() ctx: AppContext) {
    return ctx.services.registries.listHuggingFace(paging);
  }

  @Authorized()
  @Query(() => ReservoirRegistry, { nullable: true })
  reservoirRegistry(@Arg("id", () => ID) id: string, @Ctx() ctx: AppContext): Promise<ReservoirRegistry | null> {
    return ctx.loaders.reservoirRegistryById.load(parseId(RSV_ID_TYPES, id, "id"));
  }

  @Authorized()
  @Query(() => ReservoirRegistryConnection, { nullable: true })
  reservoirRegistries(@Args(() => PagingArgsType) paging: PagingArgsType, @Ctx() ctx: AppContext) {
    return ctx.services.registries.listReservoir(paging);
  }

  @Authorized()
  @Query(() => ArtifactRegistry, { nullable: true })
  async defaultArtifactRegistry(
    @Arg("artifactType", () => ArtifactType) artifactType: ArtifactType,
    @Ctx() ctx: AppContext,
  ): Promise<ArtifactRegistry | null> {
    const record = await ctx.services.registries.defaultRegistry(artifactType);
    return record ? toArtifactRegistry(record) : null;
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => CreateHuggingFaceRegistryPayload, { nullable: true })
  async createHuggingfaceRegistry(
    @Arg("input", () => CreateHuggingFaceRegistryInput) input: CreateHuggingFaceRegistryInput,
    @Ctx() ctx: AppContext,
  ): Promise<CreateHuggingFaceRegistryPayload> {
    return { huggingfaceRegistry: toHuggingFaceRegistry(await ctx.services.registries.createHuggingFace(input)) };
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => UpdateHuggingFaceRegistryPayload, { nullable: true })
  async updateHuggingfaceRegistry(
    @Arg("input", () => UpdateHuggingFaceRegistryInput) input: UpdateHuggingFaceRegistryInput,
    @Ctx() ctx: AppContext,
  ): Promise<UpdateHuggingFaceRegistryPayload> {
    return { huggingfaceRegistry: toHuggingFaceRegistry(await ctx.services.registries.updateHuggingFace(input)) };
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => DeleteHuggingFaceRegistryPayload, { nullable: true })
  async deleteHuggingfaceRegistry(
    @Arg("input", () => DeleteHuggingFaceRegistryInput) input: DeleteHuggingFaceRegistryInput,
    @Ctx() ctx: AppContext,
  ): Promise<DeleteHuggingFaceRegistryPayload> {
    return { id: await ctx.services.registries.deleteHuggingFace(input.id) };
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => CreateReservoirRegistryPayload, { nullable: true })
  async createReservoirRegistry(
    @Arg("input", () => CreateReservoirRegistryInput) input: CreateReservoirRegistryInput,
    @Ctx() ctx: AppContext,
  ): Promise<CreateReservoirRegistryPayload> {
    return { reservoir: toReservoirRegistry(await ctx.services.registries.createReservoir(input)) };
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => UpdateReservoirRegistryPayload, { nullable: true })
  async updateReservoirRegistry(
    @Arg("input", () => UpdateReservoirRegistryInput) input: UpdateReservoirRegistryInput,
    @Ctx() ctx: AppContext,
  ): Promise<UpdateReservoirRegistryPayload> {
    return { reservoir: toReservoirRegistry(await ctx.services.registries.updateReservoir(input)) };
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => DeleteReservoirRegistryPayload, { nullable: true })
  async deleteReservoirRegistry(
    @Arg("input", () => DeleteReservoirRegistryInput) input: DeleteReservoirRegistryInput,
    @Ctx() ctx: AppContext,
  ): Promise<DeleteReservoirRegistryPayload> {
    return { id: await ctx.services.registries.deleteReservoir(input.id) };
  }
}

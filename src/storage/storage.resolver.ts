import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from "type-graphql";
import { Role } from "../common/enums";
import { PagingArgsType } from "../common/paging.args";
import { resolvePaging } from "../common/paging";
import { parseId } from "../common/relay";
import type { AppContext } from "../schema/context";
import {
  CreateObjectStorageInput, CreateVFSStorageInput, DeleteObjectStorageInput, DeleteVFSStorageInput, RegisterStorageNamespaceInput,
  UnregisterStorageNamespaceInput, UpdateObjectStorageInput, UpdateVFSStorageInput,
} from "./storage.inputs";
import {
  CreateObjectStoragePayload, CreateVFSStoragePayload, DeleteObjectStoragePayload, DeleteVFSStoragePayload, ObjectStorage,
  ObjectStorageConnection, RegisterStorageNamespacePayload, StorageNamespaceConnection, toObjectStorage, toVFSStorage,
  UnregisterStorageNamespacePayload, UpdateObjectStoragePayload, UpdateVFSStoragePayload, VFSStorage, VFSStorageConnection,
} from "./storage.type";

/**
 * Reading storages is open to every role, but their access keys, secret keys (masked anyway),
 * endpoints and base paths only to admins (storage.type.ts); changing them is superadmin only.
 */
@Resolver(() => ObjectStorage)
export class ObjectStorageResolver {
  @Authorized()
  @Query(() => ObjectStorage, { nullable: true })
  objectStorage(@Arg("id", () => ID) id: string, @Ctx() ctx: AppContext): Promise<ObjectStorage | null> {
    return ctx.loaders.objectStorageById.load(parseId("ObjectStorage", id, "id"));
  }

  @Authorized()
  @Query(() => ObjectStorageConnection, { nullable: true })
  objectStorages(@Args(() => PagingArgsType) paging: PagingArgsType, @Ctx() ctx: AppContext) {
    return ctx.services.storages.listObjectStorages(paging);
  }

  @FieldResolver(() => StorageNamespaceConnection, { nullable: true })
  namespaces(@Root() storage: ObjectStorage, @Args(() => PagingArgsType) paging: PagingArgsType, @Ctx() ctx: AppContext) {
    return ctx.loaders.namespacesByObjectStorage(resolvePaging(paging, ctx.config.limits)).load(storage.uuid);
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => CreateObjectStoragePayload, { nullable: true })
  async createObjectStorage(
    @Arg("input", () => CreateObjectStorageInput) input: CreateObjectStorageInput,
    @Ctx() ctx: AppContext,
  ): Promise<CreateObjectStoragePayload> {
    return { objectStorage: toObjectStorage(await ctx.services.storages.createObjectStorage(input)) };
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => UpdateObjectStoragePayload, { nullable: true })
  async updateObjectStorage(
    @Arg("input", () => UpdateObjectStorageInput) input: UpdateObjectStorageInput,
    @Ctx() ctx: AppContext,
  ): Promise<UpdateObjectStoragePayload> {
    return { objectStorage: toObjectStorage(await ctx.services.storages.updateObjectStorage(input)) };
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => DeleteObjectStoragePayload, { nullable: true })
  async deleteObjectStorage(
    @Arg("input", () => DeleteObjectStorageInput) input: DeleteObjectStorageInput,
    @Ctx() ctx: AppContext,
  ): Promise<DeleteObjectStoragePayload> {
    return { id: await ctx.services.storages.deleteObjectStorage(input.id) };
  }
}

@Resolver(() => VFSStorage)
export class VFSStorageResolver {
  @Authorized()
  @Query(() => VFSStorage, { nullable: true })
  vfsStorage(@Arg("id", () => ID) id: string, @Ctx() ctx: AppContext): Promise<VFSStorage | null> {
    return ctx.loaders.vfsStorageById.load(parseId("VFSStorage", id, "id"));
  }

  @Authorized()
  @Query(() => VFSStorageConnection, { nullable: true })
  vfsStorages(@Args(() => PagingArgsType) paging: PagingArgsType, @Ctx() ctx: AppContext) {
    return ctx.services.storages.listVFSStorages(paging);
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => CreateVFSStoragePayload, { nullable: true })
  async createVFSStorage(
    @Arg("input", () => CreateVFSStorageInput) input: CreateVFSStorageInput,
    @Ctx() ctx: AppContext,
  ): Promise<CreateVFSStoragePayload> {
    return { vfsStorage: toVFSStorage(await ctx.services.storages.createVFSStorage(input)) };
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => UpdateVFSStoragePayload, { nullable: true })
  async updateVFSStorage(
    @Arg("input", () => UpdateVFSStorageInput) input: UpdateVFSStorageInput,
    @Ctx() ctx: AppContext,
  ): Promise<UpdateVFSStoragePayload> {
    return { vfsStorage: toVFSStorage(await ctx.services.storages.updateVFSStorage(input)) };
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => DeleteVFSStoragePayload, { nullable: true })
  async deleteVFSStorage(
    @Arg("input", () => DeleteVFSStorageInput) input: DeleteVFSStorageInput,
    @Ctx() ctx: AppContext,
  ): Promise<DeleteVFSStoragePayload> {
    return { id: await ctx.services.storages.deleteVFSStorage(input.id) };
  }
}

@Resolver()
export class StorageNamespaceResolver {
  @Authorized(Role.SUPERADMIN)
  @Mutation(() => RegisterStorageNamespacePayload, { nullable: true })
  async registerStorageNamespace(
    @Arg("input", () => RegisterStorageNamespaceInput) input: RegisterStorageNamespaceInput,
    @Ctx() ctx: AppContext,
  ): Promise<RegisterStorageNamespacePayload> {
    return { id: await ctx.services.storages.registerNamespace(input) };
  }

  @Authorized(Role.SUPERADMIN)
  @Mutation(() => UnregisterStorageNamespacePayload, { nullable: true })
  async unregisterStorageNamespace(
    @Arg("input", () => UnregisterStorageNamespaceInput) input: UnregisterStorageNamespaceInput,
    @Ctx() ctx: AppContext,
  ): Promise<UnregisterStorageNamespacePayload> {
    return { id: await ctx.services.storages.unregisterNamespace(input) };
  }
}

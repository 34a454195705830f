// Writes schema.graphql: the subgraph SDL exactly as `_service { sdl }` serves it.
import "reflect-metadata";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { execute, parse, type GraphQLSchema } from "graphql";
import type { PubSub } from "type-graphql";
import { createEventBus } from "../events/event-bus";
import { buildFederatedSchema } from "./build-schema";

export async function serviceSdl(schema: GraphQLSchema): Promise<string> {
  const result = await execute({ schema, document: parse("{ _service { sdl } }") });
  if (result.errors?.length) throw result.errors[0];
  return (result.data as { _service: { sdl: string } })._service.sdl;
}

export async function buildSdl(): Promise<string> {
  const schema = await buildFederatedSchema(createEventBus() as unknown as PubSub);
  return `${(await serviceSdl(schema)).trim()}\n`;
}

if (require.main === module) {
  const target = path.resolve(process.argv[2] ?? "schema.graphql");
  buildSdl()
    .then((sdl) => writeFile(target, sdl))
    .then(() => console.log(`wrote ${target}`))
    .catch((error) => {
      console.error(error);
      process.exit(1);
    });
}

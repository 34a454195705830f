import { createPubSub } from "@graphql-yoga/subscription";
import { buildSchema, parse, type ExecutionResult, type GraphQLObjectType } from "graphql";
import { Role } from "../../src/common/enums";
import { subscribeSharedPerEvent } from "../../src/events/event-scope";
import type { AppContext } from "../../src/schema/context";

/*
 * subscribeSharedPerEvent on a schema of its own: how many times an event is executed, with
 * which loaders, and as which viewer.
 */

type Tick = { n: number };
const pubsub = createPubSub<{ tick: [Tick] }>();
const schema = buildSchema(`
  type Query { ok: Boolean }
  type Subscription { tick: Tick }
  type Tick { n: Int, role: String, who: String, loaders: Int }
`);
let executions = 0;
const fieldsOf = (type: string) => (schema.getType(type) as GraphQLObjectType<Tick, AppContext>).getFields();
fieldsOf("Subscription").tick.subscribe = () => pubsub.subscribe("tick");
fieldsOf("Subscription").tick.resolve = (event: Tick) => {
  executions++;
  return event;
};
fieldsOf("Tick").role.resolve = (_event, _args, ctx) => ctx.viewer?.role;
fieldsOf("Tick").who.resolve = (_event, _args, ctx) => ctx.viewer?.sub;
fieldsOf("Tick").loaders.resolve = (_event, _args, ctx) => (ctx.loaders as unknown as { serial: number }).serial;

let loadersMade = 0;
function context(role: Role, sub: string): AppContext {
  return { viewer: { role, sub }, newLoaders: () => ({ serial: ++loadersMade }) } as unknown as AppContext;
}

async function subscribe(query: string, role: Role, sub: string): Promise<AsyncGenerator<ExecutionResult>> {
  const stream = await subscribeSharedPerEvent({ schema, document: parse(query), contextValue: context(role, sub) });
  if (!(Symbol.asyncIterator in stream)) throw new Error(`did not subscribe: ${JSON.stringify(stream)}`);
  return stream;
}

/** Starts each stream's next(), so all are listening before anything is published. */
function nextOfEach(streams: AsyncGenerator<ExecutionResult>[]): Promise<ExecutionResult[]> {
  return Promise.all(streams.map((s) => s.next().then((r) => r.value as ExecutionResult)));
}

beforeEach(() => {
  executions = 0;
});

describe("subscribeSharedPerEvent", () => {
  it("executes an event once for the subscribers that ask the same thing in the same role, and apart for each other role", async () => {
    const query = "subscription { tick { n role } }";
    const streams = [
      await subscribe(query, Role.USER, "ann"),
      await subscribe(query, Role.USER, "bob"),
      await subscribe(query, Role.USER, "cy"),
      await subscribe(query, Role.ADMIN, "dee"),
    ];
    try {
      const answers = nextOfEach(streams);
      pubsub.publish("tick", { n: 1 });
      expect(await answers).toEqual([
        { data: { tick: { n: 1, role: "user" } } },
        { data: { tick: { n: 1, role: "user" } } },
        { data: { tick: { n: 1, role: "user" } } },
        { data: { tick: { n: 1, role: "admin" } } },
      ]);
      expect(executions).toBe(2);
    } finally {
      await Promise.all(streams.map((s) => s.return(undefined)));
    }
  });

  it("gives every event loaders of its own, the same for all its subscribers", async () => {
    const streams = [await subscribe("subscription { tick { loaders } }", Role.USER, "ann"), await subscribe("subscription { tick { n loaders } }", Role.ADMIN, "dee")];
    try {
      const first = nextOfEach(streams);
      pubsub.publish("tick", { n: 1 });
      const [a1, b1] = await first;
      const second = nextOfEach(streams);
      pubsub.publish("tick", { n: 2 });
      const [a2, b2] = await second;
      const serial = (r: ExecutionResult) => (r.data as { tick: { loaders: number } }).tick.loaders;
      expect(serial(a1)).toBe(serial(b1));
      expect(serial(a2)).toBe(serial(b2));
      expect(serial(a2)).not.toBe(serial(a1));
    } finally {
      await Promise.all(streams.map((s) => s.return(undefined)));
    }
  });

  it("fails an answer that would depend on who the viewer is, rather than share it with the role", async () => {
    const stream = await subscribe("subscription { tick { n who } }", Role.USER, "ann");
    try {
      const answer = nextOfEach([stream]);
      pubsub.publish("tick", { n: 1 });
      const [result] = await answer;
      expect(result.data).toEqual({ tick: { n: 1, who: null } });
      expect(result.errors?.map((e) => e.message)).toEqual(["an answer to a subscription event is shared by role and must not depend on who the viewer is"]);
    } finally {
      await stream.return(undefined);
    }
  });
});

import { createSourceEventStream, execute, print, type ExecutionArgs, type ExecutionResult } from "graphql";
import type { Viewer } from "../auth/viewer";
import type { AppContext } from "../schema/context";
import type { Loaders } from "../schema/loaders";

/*
 * What one event costs the server should not grow with its subscribers. graphql-ws builds one
 * context per subscription, not per event, so loaders kept in it would serve the first event's
 * rows forever; fresh loaders for each subscriber's execution would read the same rows once per
 * subscriber, and executing the selection for each of a thousand subscribers costs more than
 * the read. Instead each event carries, for as long as it lives:
 *
 * - loaders of its own, shared by all its subscribers: its rows are read once, and never reused
 *   for another event (loaders hold rows, not answers: createLoaders takes no viewer);
 * - its answers, one per operation (query text, operation name, variables) and role: the
 *   subscribers that ask the same thing in the same role get the same execution's result.
 *
 * Which subscriptions an event reaches is still decided per subscriber (the subscribe-time
 * checks and filters), and answers are never shared between roles, so each subscriber sees what
 * its role may see. What answers may depend on is the role alone: the shared execution's viewer
 * has no `sub`, and reading it fails loudly rather than answer one user with another's data.
 */

/** Keyed by the event object, which the event bus hands to every subscription alike; forgotten with it. */
const loadersByEvent = new WeakMap<object, Loaders>();

/** The loaders every subscriber of `event` shares (fresh ones for an event that is not an object). */
export function loadersOfEvent(event: unknown, create: () => Loaders): Loaders {
  if (typeof event !== "object" || event === null) return create();
  let loaders = loadersByEvent.get(event);
  if (!loaders) {
    loaders = create();
    loadersByEvent.set(event, loaders);
  }
  return loaders;
}

const answersByEvent = new WeakMap<object, Map<string, Promise<ExecutionResult>>>();

/** The answer to `key` for `event`, run once whoever asks first. */
function answerOf(event: unknown, key: string, run: () => Promise<ExecutionResult>): Promise<ExecutionResult> {
  if (typeof event !== "object" || event === null) return run();
  let answers = answersByEvent.get(event);
  if (!answers) answersByEvent.set(event, (answers = new Map()));
  let answer = answers.get(key);
  if (!answer) answers.set(key, (answer = run()));
  return answer;
}

/** The viewer an answer shared by role runs as: its role, and no identity to leak. */
function roleOnly(viewer: Viewer | null): Viewer | null {
  if (!viewer) return null;
  const role = viewer.role;
  return Object.freeze({
    role,
    get sub(): string {
      throw new Error("an answer to a subscription event is shared by role and must not depend on who the viewer is");
    },
  });
}

/**
 * graphql's subscribe, except that each event's answer is executed once per operation and role,
 * with the event's shared loaders (see above), and handed to every subscriber that asked for it.
 */
export async function subscribeSharedPerEvent(args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!isAsyncIterable(stream)) return stream;
  const context = args.contextValue as AppContext;
  const viewer = roleOnly(context.viewer);
  const key = JSON.stringify([viewer?.role ?? null, args.operationName ?? null, args.variableValues ?? null, args.document.loc?.source.body ?? print(args.document)]);
  return mapEvents(stream, (event) => answerOf(event, key, async () => execute({
    ...args,
    rootValue: event,
    contextValue: { ...context, viewer, loaders: loadersOfEvent(event, context.newLoaders) },
  })));
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === "function";
}

/**
 * Maps a source stream as graphql's own (internal) mapAsyncIterator does: return() goes straight
 * to the source, so a subscriber that leaves is let go at once, not at the next event, as it
 * would be from an async generator waiting in `for await`.
 */
function mapEvents<T, R>(source: AsyncIterable<T>, map: (value: T) => R | Promise<R>): AsyncGenerator<R> {
  const iterator = source[Symbol.asyncIterator]();
  const close = async () => {
    try {
      await iterator.return?.();
    } catch {
      // The mapping's own error is the one to report.
    }
  };
  const mapped = async (result: IteratorResult<T>): Promise<IteratorResult<R>> => {
    if (result.done) return { done: true, value: undefined };
    try {
      return { done: false, value: await map(result.value) };
    } catch (error) {
      await close();
      throw error;
    }
  };
  const generator: AsyncGenerator<R> = {
    next: async () => mapped(await iterator.next()),
    return: async () => (iterator.return ? mapped(await iterator.return()) : { done: true, value: undefined }),
    throw: async (error: unknown) => {
      if (iterator.throw) return mapped(await iterator.throw(error));
      await close();
      throw error;
    },
    [Symbol.asyncIterator]: () => generator,
    [Symbol.asyncDispose]: async () => {
      await generator.return(undefined);
    },
  };
  return generator;
}

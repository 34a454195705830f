import { createSourceEventStream, execute, type ExecutionArgs, type ExecutionResult } from "graphql";
import type { AppContext } from "../schema/context";
import type { Loaders } from "../schema/loaders";

/*
 * What one event costs the server should not grow with its subscribers. graphql-ws builds one
 * context per subscription, not per event, so loaders kept in it would serve the first event's
 * rows forever; fresh loaders for each subscriber's execution would read the same rows once per
 * subscriber. Instead each event carries loaders of its own, made when its first subscriber
 * executes and shared by all the others: the event's rows are read once, and never reused for
 * another event.
 *
 * Sharing them between viewers is safe because loaders hold rows, not answers (createLoaders
 * takes no viewer): every subscriber still runs its own execution, whose resolvers check what
 * its viewer may see.
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

/**
 * graphql's subscribe, except that each event executes with the subscription's context carrying
 * the event's shared loaders (loadersOfEvent) instead of the subscription's own.
 */
export async function subscribeWithEventLoaders(args: ExecutionArgs): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!isAsyncIterable(stream)) return stream;
  const context = args.contextValue as AppContext;
  return mapEvents(stream, (event) => execute({ ...args, rootValue: event, contextValue: { ...context, loaders: loadersOfEvent(event, context.newLoaders) } }));
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

import { EventEmitter } from "node:events";
import type { WebSocket } from "ws";
import type { Credential } from "../../src/auth/viewer";
import { SocketCredentials } from "../../src/server/socket-credentials";
import { ManualClock } from "../support/clock";

/*
 * The credentials of graphql-ws sockets are looked up (a key pair's in the database) before the
 * socket is watched; a socket may close in between.
 */

const OPEN = 1;
const CLOSED = 3;

/** What SocketCredentials uses of a ws socket: its state, and its "close" event. */
function socketIn(readyState: number): WebSocket & EventEmitter {
  return Object.assign(new EventEmitter(), { readyState, OPEN }) as unknown as WebSocket & EventEmitter;
}

function setup() {
  const clock = new ManualClock();
  const credentials = new SocketCredentials(clock, { refusal: () => null, onRevoked: () => () => {} });
  const credential: Credential = { kind: "keypair", subject: "AK", issuedAt: null, expiresAt: Math.floor(clock.now() / 1000) + 3600 };
  return { clock, credentials, credential };
}

describe("the sockets a server watches", () => {
  it("forgets an open socket, and its expiry timer, when it closes", () => {
    const { clock, credentials, credential } = setup();
    const socket = socketIn(OPEN);
    credentials.watch(socket, credential);
    expect([credentials.watching(), clock.pending]).toEqual([1, 1]);
    socket.emit("close");
    expect([credentials.watching(), clock.pending]).toEqual([0, 0]);
  });

  it("does not watch a socket that closed while its credential was looked up", () => {
    const { clock, credentials, credential } = setup();
    credentials.watch(socketIn(CLOSED), credential);
    expect([credentials.watching(), clock.pending]).toEqual([0, 0]);
  });
});

import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";
import { countRoundTrips, ROUND_TRIPS_HEADER, TWICE_HEADER } from "./d1-counting";

/** Request and response header carrying a D1 Sessions bookmark, so a client reads its own writes. */
export const BOOKMARK_HEADER = "X-D1-Bookmark";

/** The bookmark format of the storage D1 runs on: fixed-width hex groups that compare as
 * strings. Anything else is ignored (the request then starts a fresh session) rather than
 * sent on to D1, so a junk header cannot turn into a database error. */
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

/** The Drizzle client every query function takes first. */
export type Db = DrizzleD1Database;

type DbEnv = { DB: D1Database; D1_COUNT?: unknown; ENVIRONMENT?: unknown };

/** The request's database: the Drizzle client, and what to tell the client about it afterwards. */
export type RequestDb = {
  db: Db;
  /** Sets `X-D1-Bookmark` (and `X-D1-Round-Trips` when counting) on the response. */
  annotate: (c: Context) => void;
};

/**
 * Opens one D1 session for the request. With the client's bookmark (`X-D1-Bookmark`), every
 * query sees at least the writes that bookmark covers; without one the first query may be
 * served by the nearest read replica ("first-unconstrained"). Writes always go to the
 * primary, whatever the session. `D1_COUNT=true` counts round trips; `D1_COUNT=twice` also
 * runs each D1 call twice for a request sending `X-D1-Twice: 1` (the benchmark's measure of
 * local D1's CPU, see counting.ts), honoured only with ENVIRONMENT=dev or test.
 */
export function openDb(env: DbEnv, headers: { header: (name: string) => string | undefined }): RequestDb {
  const bookmark = headers.header(BOOKMARK_HEADER);
  const start = bookmark && BOOKMARK.test(bookmark) ? bookmark : undefined;
  const counting = env.D1_COUNT === "true" || env.D1_COUNT === "twice";
  const twice =
    env.D1_COUNT === "twice" &&
    (env.ENVIRONMENT === "dev" || env.ENVIRONMENT === "test") &&
    headers.header(TWICE_HEADER) === "1";
  let opened: { session: D1DatabaseSession; counter?: ReturnType<typeof countRoundTrips>; db: Db } | undefined;
  // Opened on first use: routes that never query (/welcome, preflights, 404s) pay nothing.
  const open = () => {
    if (!opened) {
      const session = env.DB.withSession(start ?? "first-unconstrained");
      const counter = counting ? countRoundTrips(session, { twice }) : undefined;
      // Drizzle's D1 driver only calls prepare() and batch(), which a session has too; its
      // types ask for the whole D1Database (exec, dump, withSession) that it never uses.
      opened = { session, counter, db: drizzle((counter?.client ?? session) as D1Database) };
    }
    return opened.db;
  };
  const db = new Proxy({} as Db, {
    get(_, property) {
      const real = open();
      const value = Reflect.get(real, property, real);
      return typeof value === "function" ? value.bind(real) : value;
    },
  });
  return {
    db,
    annotate: (c) => {
      // Straight onto the finished response: c.header() would copy it first.
      const { headers } = c.res;
      const latest = opened ? opened.session.getBookmark() : start;
      if (latest) headers.set(BOOKMARK_HEADER, latest);
      if (counting) headers.set(ROUND_TRIPS_HEADER, String(opened?.counter?.count() ?? 0));
    },
  };
}

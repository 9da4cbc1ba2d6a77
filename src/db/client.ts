import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import type { Context } from "hono";

/** Request and response header carrying a D1 Sessions bookmark, so a client reads its own writes. */
export const BOOKMARK_HEADER = "X-D1-Bookmark";

/** The bookmark format of the storage D1 runs on: fixed-width hex groups that compare as
 * strings. Anything else is ignored (the request then starts a fresh session) rather than
 * sent on to D1, so a junk header cannot turn into a database error. */
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

/** The Drizzle client every query function takes first. */
export type Db = DrizzleD1Database;

type DbEnv = { DB: D1Database };

/** The request's database: the Drizzle client, and what to tell the client about it afterwards. */
export type RequestDb = {
  db: Db;
  /** Sets `X-D1-Bookmark` on the response. */
  annotate: (c: Context) => void;
};

/**
 * Opens one D1 session for the request. With the client's bookmark (`X-D1-Bookmark`), every
 * query sees at least the writes that bookmark covers; without one the first query may be
 * served by the nearest read replica ("first-unconstrained"). Writes always go to the
 * primary, whatever the session.
 */
export function openDb(env: DbEnv, headers: { header: (name: string) => string | undefined }): RequestDb {
  const bookmark = headers.header(BOOKMARK_HEADER);
  const start = bookmark && BOOKMARK.test(bookmark) ? bookmark : undefined;
  let opened: { session: D1DatabaseSession; db: Db } | undefined;
  // Opened on first use: routes that never query (/welcome, preflights, 404s) pay nothing.
  const open = () => {
    if (!opened) {
      const session = env.DB.withSession(start ?? "first-unconstrained");
      // Drizzle's D1 driver only calls prepare() and batch(), which a session has too; its
      // types ask for the whole D1Database (exec, dump, withSession) that it never uses.
      opened = { session, db: drizzle(session as unknown as D1Database) };
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
    },
  };
}

import { Column, getTableColumns, is, SQL, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { type DrizzleD1Database, drizzle } from "drizzle-orm/d1";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Context } from "hono";

/** Request and response header carrying a D1 Sessions bookmark, so a client reads its own writes. */
export const BOOKMARK_HEADER = "X-D1-Bookmark";

/** The bookmark format of the storage D1 runs on: fixed-width hex groups that compare as
 * strings. Anything else is ignored (the request then starts a fresh session) rather than
 * sent on to D1, so a junk header cannot turn into a database error. */
const BOOKMARK = /^[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{8}-[0-9a-f]{32}$/;

/** The Drizzle client every query function takes first. */
export type Db = DrizzleD1Database;

/** One statement of a `db.batch`. */
export type Statement = BatchItem<"sqlite">;

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
 *
 * The session is opened on first use, so routes that never query (/welcome, preflights,
 * 404s) pay nothing: Drizzle gets a two-method client (`prepare`, `batch`: all its D1
 * driver calls) whose methods open it, rather than a Proxy in front of Drizzle itself,
 * which cost a trap and a bind on every `db.` access.
 */
export function openDb(env: DbEnv, headers: { header: (name: string) => string | undefined }): RequestDb {
  const bookmark = headers.header(BOOKMARK_HEADER);
  const start = bookmark && BOOKMARK.test(bookmark) ? bookmark : undefined;
  let opened: D1DatabaseSession | undefined;
  const open = () => {
    opened ??= env.DB.withSession(start ?? "first-unconstrained");
    return opened;
  };
  const lazy = {
    prepare: (query: string) => open().prepare(query),
    batch: <T>(statements: D1PreparedStatement[]) => open().batch<T>(statements),
  };
  // Drizzle's types ask for the whole D1Database (exec, dump, withSession) it never uses.
  const db = drizzle(lazy as unknown as D1Database);
  return {
    db,
    annotate: (c) => {
      // Straight onto the finished response: c.header() would copy it first.
      const { headers } = c.res;
      const latest = opened ? opened.getBookmark() : start;
      if (latest) headers.set(BOOKMARK_HEADER, latest);
    },
  };
}

/** Every column of `T` by its property name, each a JS value (encoded as the column
 * stores it: a Date as milliseconds, a boolean as 0/1), null, a column of the select's
 * `from`, or SQL. A column added to the table and not here is a compile error, never a
 * shifted value. */
export type RowOf<T extends SQLiteTable> = {
  [K in keyof T["_"]["columns"]]: T["_"]["columns"][K]["_"]["data"] | null | SQL | Column;
};

/**
 * `INSERT INTO table SELECT <values> <tail>` with the values given by column name and
 * written in the table's column order (the order Drizzle lists the columns in), so a new
 * column cannot shift them. `tail` is the rest of the select: a `where` that makes the
 * insert conditional (`where exists (...)`), or a `from ... where ... limit 1` whose
 * columns the values name. Batchable.
 */
export function insertRow<T extends SQLiteTable>(db: Db, table: T, row: RowOf<T>, tail: SQL = sql``) {
  return db.insert(table).select(selectRow(table, row, tail));
}

/** `insertRow` for several rows in one statement (`select ... union all select ...`), each
 * with its own `tail`. At least one row. */
export function insertRows<T extends SQLiteTable>(db: Db, table: T, rows: readonly { row: RowOf<T>; tail?: SQL }[]) {
  return db.insert(table).select(
    sql.join(
      rows.map(({ row, tail }) => selectRow(table, row, tail)),
      sql` union all `,
    ),
  );
}

function selectRow<T extends SQLiteTable>(table: T, row: RowOf<T>, tail: SQL = sql``): SQL {
  // Every column, as Drizzle lists them after `insert into table (...)` (no table of ours
  // has a generated column, which it would leave out).
  const values = Object.entries(getTableColumns(table)).map(([key, column]) => {
    const value = (row as Record<string, unknown>)[key];
    if (value === undefined) throw new Error(`insertRow: no value for ${key}`);
    if (is(value, SQL) || is(value, Column)) return sql`${value}`;
    return value === null ? sql`${null}` : sql.param(value, column);
  });
  return sql`select ${sql.join(values, sql`, `)} ${tail}`;
}

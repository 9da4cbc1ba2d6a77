/** What Drizzle's D1 driver calls on its client: a `D1Database` and a `D1DatabaseSession` both have it. */
export type D1Client = Pick<D1DatabaseSession, "prepare" | "batch">;

/** Response header carrying the number of D1 round trips a request made (only when counting is on). */
export const ROUND_TRIPS_HEADER = "X-D1-Round-Trips";

/**
 * Wraps `client` so every call that reaches the database counts as one round trip:
 * `first`/`run`/`all`/`raw` on a statement, or one `batch` of any size. Used only when the
 * `D1_COUNT=true` var is set (benchmark, tests), to prove how many round trips a route makes.
 */
export function countRoundTrips(client: D1Client): { client: D1Client; count: () => number } {
  let count = 0;
  const unwrapped = new WeakMap<object, D1PreparedStatement>();

  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
    const counted = {
      bind: (...values: unknown[]) => wrap(statement.bind(...values)),
      first: (column?: string) => {
        count++;
        return column === undefined ? statement.first() : statement.first(column);
      },
      run: () => {
        count++;
        return statement.run();
      },
      all: () => {
        count++;
        return statement.all();
      },
      raw: (options?: { columnNames?: boolean }) => {
        count++;
        // The overloads differ only in the row type; the runtime takes either option.
        return statement.raw(options as { columnNames?: false });
      },
    } as unknown as D1PreparedStatement;
    unwrapped.set(counted, statement);
    return counted;
  };

  return {
    client: {
      prepare: (query) => wrap(client.prepare(query)),
      batch: (statements) => {
        count++;
        // The real batch reads its own statement objects, so hand it those.
        return client.batch(statements.map((statement) => unwrapped.get(statement) ?? statement));
      },
    },
    count: () => count,
  };
}

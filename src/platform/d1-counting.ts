/** What Drizzle's D1 driver calls on its client: a `D1Database` and a `D1DatabaseSession` both have it. */
export type D1Client = Pick<D1DatabaseSession, "prepare" | "batch">;

/** Response header carrying the number of D1 round trips a request made (only when counting is on). */
export const ROUND_TRIPS_HEADER = "X-D1-Round-Trips";

/** Request header `1` asking for every D1 call to run twice (only with `D1_COUNT=twice`). */
export const TWICE_HEADER = "X-D1-Twice";

/**
 * Wraps `client` so every call that reaches the database counts as one round trip:
 * `first`/`run`/`all`/`raw` on a statement, or one `batch` of any size. Used only when the
 * `D1_COUNT` var is `true` or `twice` (benchmark, tests), to prove how many round trips a
 * route makes.
 *
 * With `twice`, each call runs again right after it has answered, and the second answer (or
 * error) is dropped; the count is of first runs. `npm run bench` subtracts the CPU of requests
 * made without this from those made with it, to tell local D1's CPU (SQLite runs inside the
 * Worker's workerd process) from the Worker's own. A repeated write fails (a token already
 * consumed, an id already taken); the bench measures what such a repeat costs against a
 * first write on the reference worker's D1 and reports it beside the figures.
 */
export function countRoundTrips(
  client: D1Client,
  { twice = false }: { twice?: boolean } = {},
): { client: D1Client; count: () => number } {
  let count = 0;
  const unwrapped = new WeakMap<object, D1PreparedStatement>();
  /** Counts one round trip; with `twice`, runs `call` once more after it answers. */
  const trip = async <T>(call: () => Promise<T>): Promise<T> => {
    count++;
    const answer = await call();
    if (twice) await call().catch(() => undefined);
    return answer;
  };

  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
    const counted = {
      bind: (...values: unknown[]) => wrap(statement.bind(...values)),
      first: (column?: string) => trip(() => (column === undefined ? statement.first() : statement.first(column))),
      run: () => trip(() => statement.run()),
      all: () => trip(() => statement.all()),
      // The overloads differ only in the row type; the runtime takes either option.
      raw: (options?: { columnNames?: boolean }) => trip(() => statement.raw(options as { columnNames?: false })),
    } as unknown as D1PreparedStatement;
    unwrapped.set(counted, statement);
    return counted;
  };

  return {
    client: {
      prepare: (query) => wrap(client.prepare(query)),
      // The real batch reads its own statement objects, so hand it those.
      batch: (statements) => trip(() => client.batch(statements.map((s) => unwrapped.get(s) ?? s))),
    },
    count: () => count,
  };
}

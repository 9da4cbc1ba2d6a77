// The D1 bindings the bench worker hands the API app. Bench only; nothing in src/ knows.
// - `counting`: every call goes to the real D1, and each round trip (a statement run, or
//   one batch of any size) is counted for the request it belongs to.
// - `recording`: every call goes to a real D1 session, and its answer is kept by SQL text.
// - `fromMemory`: the same SQL gets a copy of the kept answer, whatever the bound values;
//   SQLite is never touched (the in-isolate CPU measure).

/** The answers of one request, by method and SQL text ("all:select ..."). */
export type Recording = Map<string, unknown>;

type Statement = {
  sql: string;
  bind(...values: unknown[]): Statement;
  all(): Promise<unknown>;
  raw(options?: { columnNames?: boolean }): Promise<unknown>;
  run(): Promise<unknown>;
  first(column?: string): Promise<unknown>;
};

/** What Drizzle's D1 driver and src/platform/db.ts call on a session. */
type Session = Pick<D1DatabaseSession, "prepare" | "batch" | "getBookmark">;

/**
 * `db` with every round trip (and, when the counter has `sessions`, every D1 session opened)
 * counted into `counter()`, the counter of the request running
 * (the bench worker keeps one per request in an AsyncLocalStorage, so one binding object
 * serves every request and the app's per-isolate caches, keyed by the env, stay warm).
 */
export function counting(
  db: D1Database,
  counter: () => { roundTrips: number; sessions?: number } | undefined,
): D1Database {
  const trip = <T>(answer: Promise<T>): Promise<T> => {
    const current = counter();
    if (current) current.roundTrips++;
    return answer;
  };
  const unwrapped = new WeakMap<object, D1PreparedStatement>();
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
    const counted = {
      bind: (...values: unknown[]) => wrap(statement.bind(...values)),
      first: (column?: string) => trip(column === undefined ? statement.first() : statement.first(column)),
      run: () => trip(statement.run()),
      all: () => trip(statement.all()),
      raw: (options?: { columnNames?: boolean }) => trip(statement.raw(options as { columnNames?: false })),
    } as unknown as D1PreparedStatement;
    unwrapped.set(counted, statement);
    return counted;
  };
  const client = (real: Pick<D1Database, "prepare" | "batch">) => ({
    prepare: (sql: string) => wrap(real.prepare(sql)),
    // The real batch reads its own statement objects, so it is handed those.
    batch: (statements: D1PreparedStatement[]) => trip(real.batch(statements.map((s) => unwrapped.get(s) ?? s))),
  });
  return {
    ...client(db),
    withSession: (start?: string) => {
      const current = counter();
      if (current?.sessions !== undefined) current.sessions++;
      const session = db.withSession(start);
      return { ...client(session), getBookmark: () => session.getBookmark() };
    },
  } as unknown as D1Database;
}

/** A D1 session (what Drizzle's driver calls: prepare, batch) whose answers go into `into`. */
export function recording(session: D1DatabaseSession, into: Recording): Session {
  const real = new WeakMap<Statement, D1PreparedStatement>();
  const keep = async <T>(key: string, answer: Promise<T>): Promise<T> => {
    const value = await answer;
    into.set(key, value);
    return value;
  };
  const wrap = (sql: string, statement: D1PreparedStatement): Statement => {
    const wrapped: Statement = {
      sql,
      bind: (...values) => wrap(sql, statement.bind(...values)),
      all: () => keep(`all:${sql}`, statement.all()),
      raw: (options) => keep(`raw:${sql}`, statement.raw(options as { columnNames?: false })),
      run: () => keep(`run:${sql}`, statement.run()),
      first: (column) => keep(`first:${sql}`, column === undefined ? statement.first() : statement.first(column)),
    };
    real.set(wrapped, statement);
    return wrapped;
  };
  return {
    prepare: (sql: string) => wrap(sql, session.prepare(sql)) as unknown as D1PreparedStatement,
    batch: async (statements: D1PreparedStatement[]) => {
      const list = statements as unknown as Statement[];
      const answers = await session.batch(list.map((s) => real.get(s) as D1PreparedStatement));
      for (const [i, s] of list.entries()) into.set(`all:${s.sql}`, answers[i]);
      return answers;
    },
    getBookmark: () => session.getBookmark(),
  } as Session;
}

/** A D1 session answering from `recorded`; each SQL text it has no answer for is added to
 * `misses`. `calls.count` grows by one per round trip (a statement run, or a batch). */
export function fromMemory(recorded: Recording, misses: Set<string>, calls: { count: number }): Session {
  const answer = async (key: string) => {
    calls.count++;
    if (!recorded.has(key)) misses.add(key);
    // A copy: D1 hands out new objects, and the app may keep or change what it gets.
    return structuredClone(recorded.get(key) ?? { results: [], success: true, meta: {} });
  };
  const statement = (sql: string): Statement => ({
    sql,
    bind: () => statement(sql),
    all: () => answer(`all:${sql}`),
    raw: () => answer(`raw:${sql}`),
    run: () => answer(`run:${sql}`),
    first: () => answer(`first:${sql}`),
  });
  return {
    prepare: (sql: string) => statement(sql) as unknown as D1PreparedStatement,
    batch: async (statements: D1PreparedStatement[]) => {
      calls.count -= statements.length - 1;
      return Promise.all((statements as unknown as Statement[]).map((s) => answer(`all:${s.sql}`)));
    },
    getBookmark: () => null,
  } as unknown as Session;
}

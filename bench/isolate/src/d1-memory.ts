// D1 for the in-isolate CPU measure: `recording` passes every call to a real D1 session and
// keeps its answer by SQL text; `fromMemory` answers the same SQL with a copy of that
// answer, whatever the bound values, and never touches SQLite. Bench only.

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

/** A D1 session (what Drizzle's driver calls: prepare, batch) whose answers go into `into`. */
export function recording(session: D1DatabaseSession, into: Recording) {
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
    prepare: (sql: string) => wrap(sql, session.prepare(sql)),
    batch: async (statements: Statement[]) => {
      const answers = await session.batch(statements.map((s) => real.get(s) as D1PreparedStatement));
      for (const [i, s] of statements.entries()) into.set(`all:${s.sql}`, answers[i]);
      return answers;
    },
    getBookmark: () => session.getBookmark(),
  };
}

/** A D1 session answering from `recorded`; each SQL text it has no answer for is added to
 * `misses`. `calls.count` grows by one per round trip (a statement run, or a batch). */
export function fromMemory(recorded: Recording, misses: Set<string>, calls: { count: number }) {
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
    prepare: statement,
    batch: async (statements: Statement[]) => {
      calls.count -= statements.length - 1;
      return Promise.all(statements.map((s) => answer(`all:${s.sql}`)));
    },
    getBookmark: () => null,
  };
}

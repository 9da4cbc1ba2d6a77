// What a setting declaration is, and how a list of them is read from the bindings: each
// setting once, every problem kept, so one bad setting never hides another.
import { ConfigError, type Parser } from "./settings-kinds";

/** One setting the worker reads from its bindings (see src/platform/settings.ts). */
export type Setting = {
  /** The binding's name; a family's holds `<ID>` (`SOCIAL_<ID>_CLIENT_ID`), see `each`. */
  name: string;
  /** - `var`: non-secret, its default written into wrangler.toml `[vars]`;
   * - `secret`: never in wrangler.toml or git; `wrangler secret put` in production,
   *   `.dev.vars` locally (listed in `.dev.vars.example`);
   * - `internal`: for tests and the benchmark only, never set in wrangler.toml. */
  kind: "var" | "secret" | "internal";
  /** Reads the binding and refuses what is out of bounds (src/platform/settings-kinds.ts). */
  parse: Parser<unknown>;
  /** The value used when the binding is absent (`[vars]` for a var). */
  default?: string;
  /** One or two sentences for the docs: what it does and which values it takes; `{bounds}`
   * stands for the parser's bounds, which are never written by hand. */
  doc: string;
  /** Secrets only: `npm run dev` writes a fresh random value into `.dev.vars` when it is empty. */
  generate?: "hex32";
  /** Families only: the setting whose ids (an `ids()` list) this one is read for. */
  each?: string;
  /** What the docs' default column says when an empty default stands for a value derived
   * from other settings (it would otherwise read "off"). */
  derived?: string;
};

/** One setting's result: its value, or what is wrong with it. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; problems: readonly string[] };

type ValueOf<S> = S extends { parse: Parser<infer T> } ? (S extends { each: string } ? Record<string, T> : T) : never;

/** Every setting of `L` by name: a family's value maps each of its ids to that id's value. */
export type Outcomes<L extends readonly Setting[]> = { [S in L[number] as S["name"]]: Outcome<ValueOf<S>> };

/** The value type of the setting `N` of `L`. */
export type ValueIn<L extends readonly Setting[], N extends L[number]["name"]> = ValueOf<
  Extract<L[number], { name: N }>
>;

/** The binding names `L` declares: a family's `<ID>` matches any id. */
export type BindingName<L extends readonly Setting[]> = L[number]["name"] extends infer N
  ? N extends `${infer A}<ID>${infer B}`
    ? `${A}${string}${B}`
    : N
  : never;

/** The binding a family member is read from: `SOCIAL_<ID>_CLIENT_ID` for `google` is
 * `SOCIAL_GOOGLE_CLIENT_ID`. */
export function bindingName(name: string, id: string): string {
  return name.replace("<ID>", id.toUpperCase());
}

/** Reads the setting's binding (a family's for `id`) with `parse`, the default standing in
 * for an absent binding. */
function readOne<T>(setting: Setting, env: Record<string, unknown>, parse: Parser<T>, id?: string): Outcome<T> {
  const name = id === undefined ? setting.name : bindingName(setting.name, id);
  const raw = env[name] === undefined ? setting.default : env[name];
  try {
    return { ok: true, value: parse(raw, name) };
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { ok: false, problems: err.problems };
  }
}

/** Reads every setting of `list` from `env`, each once: a family for each id its `each`
 * setting lists (none when that list is refused, whose own problem says why). */
export function readSettings<const L extends readonly Setting[]>(list: L, env: object): Outcomes<L> {
  const bindings = env as Record<string, unknown>;
  const outcomes: Record<string, Outcome<unknown>> = {};
  for (const setting of list) {
    if (setting.each === undefined) outcomes[setting.name] = readOne(setting, bindings, setting.parse);
  }
  for (const setting of list) {
    if (setting.each === undefined) continue;
    const owner = outcomes[setting.each];
    if (!owner) throw new Error(`${setting.name}: each names no setting ("${setting.each}")`);
    const values: Record<string, unknown> = {};
    const problems: string[] = [];
    for (const id of owner.ok ? (owner.value as string[]) : []) {
      const outcome = readOne(setting, bindings, setting.parse, id);
      if (outcome.ok) values[id] = outcome.value;
      else problems.push(...outcome.problems);
    }
    outcomes[setting.name] = problems.length > 0 ? { ok: false, problems } : { ok: true, value: values };
  }
  return outcomes as Outcomes<L>;
}

/** Reads the plain setting `name` of `list` again with another parser: for a rule that
 * relaxes a setting's bounds in some configurations. */
export function readWith<T>(list: readonly Setting[], name: string, env: object, parse: Parser<T>): Outcome<T> {
  const setting = list.find((candidate) => candidate.name === name);
  if (!setting || setting.each !== undefined) throw new Error(`${name} is not a plain setting`);
  return readOne(setting, env as Record<string, unknown>, parse);
}

/** The setting's doc for the generated docs: its bounds filled in, a family's ids named. */
export function describe(setting: Setting): string {
  const { bounds } = setting.parse;
  if (bounds !== undefined && !setting.doc.includes("{bounds}")) {
    throw new Error(`${setting.name}: its doc must show the parser's bounds with {bounds}`);
  }
  const doc = setting.doc.replace("{bounds}", bounds ?? "");
  return setting.each ? `${doc} (one for each id in \`${setting.each}\`)` : doc;
}

// The kinds of value a setting can hold. Each helper returns one parser that carries its
// bounds: the parser refuses what is out of bounds, and `bounds` is the same limits as prose
// for the generated docs (a setting's `doc` shows them where it says `{bounds}`).

/** Invalid configuration; `problems` lists every bad setting found, one sentence each. */
export class ConfigError extends Error {
  override name = "ConfigError";
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === "string" ? [problems] : problems;
    super(list.join("; "));
    this.problems = list;
  }
}

/** Reads one binding (`raw`: its value, or the setting's default when it is absent) for
 * the setting `name`; throws a `ConfigError` naming it when the value is refused. */
export type Parser<T> = { (raw: unknown, name: string): T; bounds?: string };

export function parser<T>(parse: (raw: unknown, name: string) => T, bounds?: string): Parser<T> {
  return Object.assign(parse, { bounds });
}

/** A var as text, trimmed; a number or boolean from `[vars]` as its string; absent as "". */
export function text(raw: unknown): string {
  if (raw === undefined) return "";
  return typeof raw === "string" ? raw.trim() : String(raw);
}

/** A string binding, trimmed; undefined when it is empty or not a string. */
export function optionalText(raw: unknown): string | undefined {
  const value = typeof raw === "string" ? raw.trim() : "";
  return value === "" ? undefined : value;
}

const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86400 } as const;
type Unit = keyof typeof UNIT_SECONDS;
/** `"5h"`, `"15m"`, `"30d"`, `"90s"` or `"3600"` (seconds). */
export type Duration = `${number}${Unit | ""}`;

function seconds(value: string): number {
  const match = /^(\d{1,8})([smhd]?)$/.exec(value);
  return match ? Number(match[1]) * UNIT_SECONDS[(match[2] || "s") as Unit] : -1;
}

/** `seconds` in the largest unit that divides it: 86400 is "1d", 60 is "1m", 0 is "0s". */
function shortest(count: number): string {
  const unit = (["d", "h", "m"] as const).find((name) => count > 0 && count % UNIT_SECONDS[name] === 0) ?? "s";
  return `${count / UNIT_SECONDS[unit]}${unit}`;
}

/** A duration (`90s`, `15m`, `5h`, `30d` or plain seconds) from `min` to `max`, as seconds. */
export function duration({ min = "1s", max }: { min?: Duration; max: Duration }): Parser<number> {
  const [low, high] = [seconds(min), seconds(max)];
  const spaced = (bound: string) => bound.replace(/^(\d+)([smhd]?)$/, (_, n, unit) => `${n} ${unit || "s"}`);
  return parser(
    (raw, name) => {
      const value = text(raw);
      const count = seconds(value);
      if (count < low || count > high) {
        throw new ConfigError(
          `${name} "${value}" must be a duration like 5h, 15m or 3600, between ${shortest(low)} and ${shortest(high)}`,
        );
      }
      return count;
    },
    `${spaced(min)} to ${spaced(max)}`,
  );
}

/** A whole number from `min` to `max`, written in at most as many digits as `max`. */
export function integer({ min, max }: { min: number; max: number }): Parser<number> {
  const digits = new RegExp(`^\\d{1,${String(max).length}}$`);
  return parser((raw, name) => {
    const value = text(raw);
    const count = digits.test(value) ? Number(value) : Number.NaN;
    if (!(count >= min && count <= max)) {
      throw new ConfigError(`${name} "${value}" must be a whole number from ${min} to ${max}`);
    }
    return count;
  }, `${min} to ${max}`);
}

/** `true` or `false`. */
export function bool(): Parser<boolean> {
  return parser((raw, name) => {
    const value = text(raw);
    if (value === "true" || value === "false") return value === "true";
    throw new ConfigError(`${name} "${value}" must be true or false`);
  });
}

/** Exactly one of `values` (case matters). No `bounds`: a doc says what each value does. */
export function oneOf<const V extends string>(values: readonly V[]): Parser<V> {
  return parser((raw, name) => {
    const value = text(raw);
    if ((values as readonly string[]).includes(value)) return value as V;
    throw new ConfigError(`${name} "${value}" must be one of ${values.join(", ")}`);
  });
}

/** Any text, trimmed (empty allowed). */
export function anyText(): Parser<string> {
  return parser((raw) => text(raw));
}

/** Optional text, trimmed: undefined when empty. */
export function optional(): Parser<string | undefined> {
  return parser((raw) => optionalText(raw));
}

/** The binding exactly as set (a mode such as `ENVIRONMENT`), "" when absent or not a string. */
export function word(): Parser<string> {
  return parser((raw) => (typeof raw === "string" ? raw : ""));
}

/** CR, LF and every other control character: none may reach a mail header. */
export const HEADER_UNSAFE = /\p{Cc}/u;

/** Plain text on one line, 1 to `max` characters (it goes into mail headers and URIs). */
export function line({ max }: { max: number }): Parser<string> {
  return parser((raw, name) => {
    const value = text(raw);
    if (value === "" || value.length > max || HEADER_UNSAFE.test(value)) {
      throw new ConfigError(`${name} must be 1 to ${max} characters of plain text on one line`);
    }
    return value;
  }, `1 to ${max} characters on one line`);
}

/** A secret of at least `minBytes` bytes (UTF-8), as set; missing or shorter is refused. */
export function secretKey({ minBytes }: { minBytes: number }): Parser<string> {
  return parser((raw, name) => {
    if (typeof raw !== "string" || raw.trim() === "") {
      throw new ConfigError(
        `${name} is not set: run \`wrangler secret put ${name}\` (locally: leave it empty in .dev.vars and \`npm run dev\` makes one)`,
      );
    }
    if (new TextEncoder().encode(raw).length < minBytes) {
      throw new ConfigError(
        `${name} is shorter than ${minBytes} bytes: use ${minBytes} random bytes, e.g. ${minBytes * 2} hex digits (locally: empty it in .dev.vars and \`npm run dev\` makes one)`,
      );
    }
    return raw;
  }, `at least ${minBytes} bytes`);
}

/** JSON text (a structured binding is taken as it is); absent stays undefined. */
export function json(): Parser<unknown> {
  return parser((raw, name) => {
    try {
      return typeof raw === "string" ? JSON.parse(raw) : raw;
    } catch {
      throw new ConfigError(`${name} is not valid JSON`);
    }
  });
}

/** A comma-separated list of ids (lowercase letters and digits, starting with a letter
 * unless `digitFirst`; at most 32), each naming one member of a family of settings such
 * as `SOCIAL_<ID>_CLIENT_ID`. */
export function ids({ digitFirst = false } = {}): Parser<string[]> {
  const pattern = digitFirst ? /^[a-z0-9]{1,32}$/ : /^[a-z][a-z0-9]{0,31}$/;
  const rule = digitFirst ? "lowercase letters and digits" : "lowercase letters and digits, starting with a letter";
  return parser((raw, name) => {
    const list = text(raw)
      .split(",")
      .map((id) => id.trim())
      .filter(Boolean);
    for (const [index, id] of list.entries()) {
      if (!pattern.test(id)) {
        throw new ConfigError(`${name} entry "${id}" must be ${rule}, at most 32`);
      }
      if (list.indexOf(id) !== index) throw new ConfigError(`${name} lists "${id}" twice`);
    }
    return list;
  });
}

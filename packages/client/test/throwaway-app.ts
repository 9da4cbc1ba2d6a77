import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

// An app in another repository, as a test can make one: the package packed by `npm pack`
// (which builds it), installed from the tarball into a new directory outside this
// repository (test/app/ copied there), typechecked and compiled with TypeScript, and built
// for browsers with Vite. Nothing in it resolves to this repository's source: its
// node_modules hold the tarball's files and what npm installs for them (hono).

const packageDir = fileURLToPath(new URL("../", import.meta.url));
const root = fileURLToPath(new URL("../../../", import.meta.url));
const tsc = join(root, "node_modules/typescript/bin/tsc");
const vite = join(root, "node_modules/vite/bin/vite.js");

export type ThrowawayApp = { dir: string; tarball: string; remove: () => void };

function run(command: string, args: string[], cwd: string): string {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, npm_config_update_notifier: "false" },
    });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${stdout ?? ""}${stderr ?? ""}`);
  }
}

/** Packs the package; the tarball's path and `npm pack --json`'s file list. */
export function pack(into: string): { tarball: string; files: string[] } {
  const [packed] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", into], packageDir)) as {
    filename: string;
    files: { path: string }[];
  }[];
  if (!packed) throw new Error("npm pack printed no package");
  return { tarball: join(into, packed.filename), files: packed.files.map((file) => file.path).sort() };
}

/** Makes the app: packs, installs the tarball, typechecks and compiles (out/), builds the
 * page with Vite (dist/). */
export function makeApp(): ThrowawayApp & { files: string[] } {
  const dir = mkdtempSync(join(tmpdir(), "edge-auth-client-app-"));
  try {
    const { tarball, files } = pack(dir);
    cpSync(join(packageDir, "test/app"), join(dir, "app"), { recursive: true });
    const app = join(dir, "app");
    writeFileSync(
      join(app, "package.json"),
      `${JSON.stringify({ name: "throwaway-app", private: true, type: "module", dependencies: { "@edge-auth/client": `file:${tarball}` } }, null, 2)}\n`,
    );
    run("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", "--loglevel=error"], app);
    run(process.execPath, [tsc, "-p", "tsconfig.json"], app);
    run(process.execPath, [vite, "build", "--logLevel", "warn"], app);
    return { dir: app, tarball, files, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** The installed package's manifest, as the app sees it. */
export function installedManifest(app: ThrowawayApp): { name: string; version: string } {
  return JSON.parse(readFileSync(join(app.dir, "node_modules/@edge-auth/client/package.json"), "utf8"));
}

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, type Running, spawnNpm, waitFor } from "./processes";

/** The MCP server example as started for a test, and where it answers. */
export type McpExample = {
  server: Running;
  /** Its resource identifier and MCP endpoint, `http://127.0.0.1:<port>/mcp`. */
  resource: string;
  /** Its RFC 9728 metadata, `http://127.0.0.1:<port>/.well-known/oauth-protected-resource/mcp`. */
  metadata: string;
  /** Removes its local state directory (after `stopAll`). */
  cleanUp(): void;
};

/** Starts examples/mcp-server the README's way (`npm run dev -w examples/mcp-server`) on
 * `port` (a free one unless given: pass one chosen earlier when the authorization server must
 * list the resource in OAUTH_RESOURCES before this starts), trusting `issuer`. Resolves once its
 * metadata answers; the process joins `started` first, so `stopAll(started)` stops it. */
export async function startMcpExample(
  started: Running[],
  { issuer, port, vars = {} }: { issuer: string; port?: number; vars?: Record<string, string> },
): Promise<McpExample> {
  const [where, inspector] = [port ?? (await freePort()), await freePort()];
  const resource = `http://127.0.0.1:${where}/mcp`;
  const metadata = `http://127.0.0.1:${where}/.well-known/oauth-protected-resource/mcp`;
  const dir = mkdtempSync(join(tmpdir(), "edge-auth-mcp-example-"));
  const settings = { ISSUER: issuer, RESOURCE: resource, ...vars };
  const server = spawnNpm("examples/mcp-server", [
    "run",
    "dev",
    "-w",
    "examples/mcp-server",
    "--",
    ...["--port", String(where), "--ip", "127.0.0.1", "--inspector-port", String(inspector)],
    ...["--persist-to", dir],
    ...Object.entries(settings).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
  ]);
  started.push(server);
  await waitFor(server, metadata);
  return { server, resource, metadata, cleanUp: () => rmSync(dir, { recursive: true, force: true }) };
}
